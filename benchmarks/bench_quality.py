"""Data quality and the night summary on a 100-run toy night: time and memory vs runs.

Simulates (once, into ``$BENCH_QUALITY_DIR`` or a temporary directory) a toy Crab night of
100 runs of 10 s of both telescopes, then times ``sst1m-data-quality`` and
``sst1m-night-summary`` (in fresh interpreters, one core) on the first 20 runs and on all 100
and prints wall time and peak resident memory (``ru_maxrss`` of the child). Targets (issue
#20): the summary of 100 runs in ≤ 1 min, memory flat in the number of runs.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_RUNS = 100
SUBSET = 20


def _child(argv):
    """(wall seconds, CPU seconds, peak RSS MiB) of ``python -m argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", *argv], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit status {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _night(root):
    night = root / "night100"
    if (night / "truth.json").exists():
        return night
    from ctapipe_sst1m.simulation.night import run_night

    start = time.perf_counter()
    run_night(night, date="2023-11-10", target="Crab", seed=11, n_runs=N_RUNS, run_duration=10.0)
    print(f"simulated {N_RUNS} runs in {time.perf_counter() - start:.0f} s")
    return night


def main():
    root = Path(os.environ.get("BENCH_QUALITY_DIR") or tempfile.mkdtemp(prefix="bench_quality_"))
    root.mkdir(parents=True, exist_ok=True)
    night = _night(root)
    files = sorted(night.glob("SST1M*.dl1.h5"))
    subset = root / f"night{SUBSET}"
    subset.mkdir(exist_ok=True)
    for path in files:
        if (
            int(path.name.split("_")[2].split(".")[0]) <= SUBSET
            and not (subset / path.name).exists()
        ):
            (subset / path.name).symlink_to(path)
    prov = f"--provenance-log={root / 'prov.log'}"
    print(f"{'runs':>5} {'command':22} {'wall [s]':>9} {'CPU [s]':>8} {'peak RSS [MiB]':>15}")
    for n, directory in ((SUBSET, subset), (N_RUNS, night)):
        inputs = sorted(directory.glob("SST1M*.dl1.h5"))
        dq = [
            "ctapipe_sst1m.tools.data_quality", "-i", *map(str, inputs),
            f"--output={root / f'dq{n}.ecsv'}", "--overwrite", prov,
        ]  # fmt: skip
        wall, cpu, rss = _child(dq)
        print(f"{n:5d} {'sst1m-data-quality':22} {wall:9.1f} {cpu:8.1f} {rss:15.0f}")
        summary = [
            "ctapipe_sst1m.tools.night_summary", str(directory),
            f"--output={root / f'summary{n}'}", "--overwrite", prov,
        ]  # fmt: skip
        wall, cpu, rss = _child(summary)
        print(f"{n:5d} {'sst1m-night-summary':22} {wall:9.1f} {cpu:8.1f} {rss:15.0f}")
    print(f"outputs in {root}")


if __name__ == "__main__":
    main()
