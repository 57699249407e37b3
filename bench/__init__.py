"""Benchmarks of orgtop, run from the repository root with ``python -m bench.NAME``."""
