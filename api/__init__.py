"""The FastAPI service: JSON API under /v1, office pages, inbound webhooks."""
