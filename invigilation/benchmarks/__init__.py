"""Benchmarks of the frame pipeline: stage costs, worker throughput, end-to-end alert latency.

Run with `python -m invigilation.benchmarks --help`; results and how they were measured are in
RESULTS.md beside this file. They run against their own scratch PostgreSQL database and Redis
database, never the product's.
"""
