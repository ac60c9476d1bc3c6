"""Benchmarks: BNs removed vs other tools, latency vs the no-BN floor, tool speed.

Run everything with ``.venv/bin/python -m benchmarks.run [--quick] [--models ...]``.
"""
