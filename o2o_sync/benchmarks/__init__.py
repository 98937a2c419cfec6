"""Benchmarks of o2o_sync on a real bench (see `sync_benchmark`)."""
