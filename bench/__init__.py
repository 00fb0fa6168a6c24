"""Benchmarks of the crawler and the archive (run from a checkout: python bench/run.py)."""
