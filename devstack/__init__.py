"""`make dev`: the whole platform on one machine, embedded services included."""
