"""Deterministic orchestration, one module per flow. Activities do the I/O."""
