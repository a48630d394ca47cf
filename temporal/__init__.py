"""Temporal server setup: the dev server's command line and the custom search attributes."""
