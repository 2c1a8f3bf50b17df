"""Benchmarks: run with ``make bench`` or ``python -m bench <name>``. Not tests: they print
figures and their ratio to a baseline measured in the same run, and assert nothing on time."""
