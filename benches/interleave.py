#!/usr/bin/env python3
"""Times shell commands in turn, N rounds, and prints each one's median wall and CPU time.

Usage: benches/interleave.py N 'command 1' 'command 2' ...

The commands run one after the other within each round, so a machine whose speed drifts
(shared hosts, frequency scaling) slows them alike; the ratio column is each median over the
first command's. Output goes to /dev/null.
"""
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    commands = sys.argv[2:]
    walls = {c: [] for c in commands}
    cpus = {c: [] for c in commands}
    for _ in range(rounds):
        for c in commands:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[c].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[c].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    base = statistics.median(walls[commands[0]])
    for c in commands:
        m = statistics.median(walls[c])
        print(
            f"{m * 1000:7.1f} ms wall (min {min(walls[c]) * 1000:6.1f})"
            f"  cpu {statistics.median(cpus[c]) * 1000:6.1f} ms  x{m / base:4.2f}  {c}"
        )


if __name__ == "__main__":
    main()
