"""Benchmarks for timestep's durable layer: ``python -m bench`` (see ``bench/RESULTS.md``)."""
