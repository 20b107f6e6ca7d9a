#!/usr/bin/env python3
"""Runs a command and prints its exit status, wall time and peak resident memory (the largest
RSS of the process tree's biggest member, as getrusage reports it for waited-for children):
how docs/performance.md measures host memory on the GPU machine."""
import resource
import subprocess
import sys
import time

start = time.time()
result = subprocess.run(sys.argv[1:])
peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1048576
print(f"exit {result.returncode}, wall {time.time() - start:.1f} s, peak RSS {peak_gib:.2f} GiB", flush=True)
sys.exit(result.returncode)
