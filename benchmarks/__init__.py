"""Reproducible performance runs of tui-agent at the scale of a big shop: ``python -m benchmarks``."""
