"""Benchmarks of the gateway, run on demand with `python -m bench` (never by the test suite)."""
