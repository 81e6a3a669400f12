"""Benchmarks: ``python -m bench [--only NAME] [--json]`` writes bench/RESULTS.md."""
