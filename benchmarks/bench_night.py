"""Benchmark of ``sst1m-simulate-night``: a one-hour, two-wobble night of both telescopes.

Runs the command in a child process (``python -m ctapipe_sst1m.tools.simulate_night``, one
core) with the default background reduction and prints wall and CPU time, the peak memory, the
events written and the figures per run; a short night of the same runs is timed too, so that
the peak memory of the long night can be compared (it must not grow with the number of runs:
runs are generated and written one at a time).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_night.py [n_runs]`` (default 80 runs of 40 s,
about one hour with the gaps between runs).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 600.0


def simulate(directory, n_runs):
    """Run the command in a child process; returns (wall s, CPU s, peak RSS MiB, truth)."""
    out = Path(directory) / f"night_{n_runs}"
    command = [
        sys.executable,
        "-m",
        "ctapipe_sst1m.tools.simulate_night",
        "--date=2024-03-05",
        "--target=Crab",
        f"--n-runs={n_runs}",
        "--run-duration=40",
        "--n-wobbles=2",
        "--seed=1",
        f"--output-dir={out}",
        f"--provenance-log={out}.provenance.log",
        "--log-level=WARN",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    truth = json.loads((out / "truth.json").read_text())
    return wall, cpu, after.ru_maxrss / 1024, truth


def summarise(truth):
    runs = truth["runs"]
    events = {t: sum(r["telescopes"][t]["n_events"] for r in runs) for t in ("21", "22")}
    gammas = {t: sum(r["telescopes"][t]["n_gamma_events"] for r in runs) for t in ("21", "22")}
    duration = sum(r["duration_s"] for r in runs)
    span = (runs[-1]["start_ns"] - runs[0]["start_ns"]) / 1e9 + runs[-1]["duration_s"]
    zenith = (
        runs[0]["telescopes"]["21"]["pointing_zenith_deg"][0],
        runs[-1]["telescopes"]["21"]["pointing_zenith_deg"][1],
    )
    coincidences = sum(r["n_coincidences"] for r in runs)
    return events, gammas, duration, span, zenith, coincidences


def main():
    n_runs = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    with tempfile.TemporaryDirectory() as directory:
        short = max(2, n_runs // 8)
        wall_s, cpu_s, rss_s, _ = simulate(directory, short)
        wall, cpu, rss, truth = simulate(directory, n_runs)
    events, gammas, duration, span, zenith, coincidences = summarise(truth)
    reduction = truth["background"]["reduction_factor"]
    print(
        f"sst1m-simulate-night benchmark: {n_runs} runs of 40 s, 2 wobbles, reduction {reduction}"
    )
    print(
        f"  night span {span / 60:.1f} min, {duration / 60:.1f} min of data, zenith "
        f"{zenith[0]:.1f} -> {zenith[1]:.1f} deg"
    )
    print(
        f"  events written: tel 21 {events['21']}, tel 22 {events['22']} "
        f"({events['21'] / duration:.2f} / {events['22'] / duration:.2f} Hz), "
        f"gammas {gammas['21']} / {gammas['22']}, coincident showers {coincidences}"
    )
    print(
        f"  {n_runs:>3} runs: wall {wall:7.1f} s, CPU {cpu:7.1f} s "
        f"({cpu / n_runs:.2f} s/run), peak RSS {rss:6.0f} MiB"
    )
    print(
        f"  {short:>3} runs: wall {wall_s:7.1f} s, CPU {cpu_s:7.1f} s "
        f"({cpu_s / short:.2f} s/run), peak RSS {rss_s:6.0f} MiB"
    )
    print(
        f"  target: <= {TARGET_S:.0f} s CPU for the night -> "
        f"{'OK' if cpu <= TARGET_S else 'TOO SLOW'}; memory growth "
        f"{rss - rss_s:+.0f} MiB for {n_runs - short} more runs"
    )


if __name__ == "__main__":
    main()
