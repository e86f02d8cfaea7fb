"""Run every benchmark of the project (``make bench``) and print their figures.

Each ``benchmarks/bench_*.py`` is a standalone script that prints its own figures; this runner
executes them one after the other in fresh interpreters (one core each: the thread-count
variables are set to 1) and reports which ones failed. Pass names to run a subset::

    python benchmarks/run_all.py stereo dl2 training
"""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    selected = set(argv if argv is not None else sys.argv[1:])
    scripts = sorted(HERE.glob("bench_*.py"))
    if selected:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in selected]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    failed = []
    for script in scripts:
        print(f"\n===== {script.name} =====", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], env=env)
        print(
            f"----- {script.name}: exit {result.returncode}, "
            f"{time.perf_counter() - start:.0f} s wall",
            flush=True,
        )
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed benchmarks: {', '.join(failed)}")
        return 1
    print(f"\n{len(scripts)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
