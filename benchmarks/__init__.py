"""Speed and memory harness: ``python -m benchmarks`` prints a table and writes JSON."""
