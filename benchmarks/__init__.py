"""Benchmarks of the try-on render loop: ``tryon bench`` (see ``benchmarks/README.md``).

Benchmarks are not tests: nothing here is collected by pytest and nothing asserts a wall-clock time.
The harness measures throughput, latency, per-stage times, CPU and memory on recorded video, beside a
straightforward baseline (:mod:`benchmarks.baseline`) measured in the same run, and writes one JSON
document (``benchmarks/schema.json``) and a chart.
"""
