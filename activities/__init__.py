"""Side effects, one module per outside system or concern. Workflows call these; nothing else does."""
