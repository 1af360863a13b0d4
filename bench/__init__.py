"""Benchmarks: `python -m bench.scale` (live read at scale) and `bench/plan_offline.py`."""
