"""Benchmarks: each prints JSON and a table, and asserts nothing."""
