"""Speed and scale of the night orchestrator (``sst1m-nightly``'s engine).

Figures printed:

1. **plan build time** for a 500-run night (500 raw files per telescope in the reference
   layout, with DigiCam-like ``Events`` headers carrying ``TARGET``): file discovery, header
   reading, target grouping and the task graph (target ≤ 1 s);
2. **scheduling overhead per task**: a night-shaped graph of tasks whose command is
   ``/bin/true`` on 2 workers; (wall time × workers) / tasks, minus the cost of starting the
   command itself, measured serially (target ≤ 50 ms);
3. **parallel efficiency** with 2 workers for a night of ``--runs`` (default 20) runs per
   telescope whose tasks burn ``--task-seconds`` of CPU each: T(1 worker) / (2 × T(2 workers))
   (target ≥ 80 %; needs two free cores, the figure drops on a shared machine);
4. **orchestrator memory** vs number of runs: peak traced Python memory of planning and running
   the graph (``/bin/true`` tasks) for 25, 100 and 400 runs per telescope, and the resident
   memory growth of the process.

Usage: ``python benchmarks/bench_nightly.py [--quick] [--runs N] [--task-seconds S]``.
"""

import argparse
import contextlib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import psutil
from astropy.io import fits
from traitlets.config import Config

from ctapipe_sst1m.orchestration import ClusterFactory, Task, run_workflow
from ctapipe_sst1m.orchestration.night_plan import NightPlanner

DATE = "2024-03-05"
BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def write_raw_night(root, n_runs):
    """``n_runs`` raw files per telescope with an Events header (no events), two targets."""
    columns = [
        fits.Column(name=n, format="1J")
        for n in ("hiGain_waveforms_samples", "telescopeID", "local_time_sec")
    ]
    template = fits.BinTableHDU.from_columns(columns, name="Events")
    template.header["PBFHEAD"] = "DataModel.CameraEvent"
    for cam in (1, 2):
        directory = root / f"cs{cam}/data/raw/2024/03/05/SST1M{cam}"
        directory.mkdir(parents=True)
        for run in range(1, n_runs + 1):
            target = "Crab" if run <= n_runs // 2 else "Mrk421"
            template.header["TARGET"] = f"{target},W{run % 2 + 1},83.63,22.41"
            hdus = fits.HDUList([fits.PrimaryHDU(np.zeros(4, np.int16)), template])
            hdus.writeto(directory / f"SST1M{cam}_20240305_{run:04d}.fits.fz")


def planner(tmp):
    (tmp / "models").mkdir(exist_ok=True)
    (tmp / "irfs").mkdir(exist_ok=True)
    traits = {"mono_models": str(tmp / "models"), "stereo_models": str(tmp / "models")}
    traits["irf_bank"] = str(tmp / "irfs")
    return NightPlanner(config=Config({"NightPlanner": traits}))


def bench_plan(tmp, n_runs):
    raw = tmp / f"raw{n_runs}"
    write_raw_night(raw, n_runs)
    nightly = planner(tmp)
    nightly.plan(DATE, tmp / "ana_warm", raw)  # imports and catalogue once
    times, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        plan = nightly.plan(DATE, tmp / "ana", raw)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(
        f"plan of a {n_runs}-run night (2 x {n_runs} raw files): {len(plan.tasks)} tasks in "
        f"{min(cpu):.2f} s CPU, {min(times):.2f} s wall (best of 3; wall "
        f"{', '.join(f'{t:.2f}' for t in times)} s, load average {psutil.getloadavg()[0]:.1f})"
        f"  [target <= 1 s]"
    )


def shaped_tasks(out, n_runs, command):
    """A night-shaped graph: per run 2 DL1 -> 1 stereo -> 3 DL2; per setup 1 DL3 -> 1 index."""
    tasks, dl2 = [], {"cs1": [], "cs2": [], "stereo": []}
    for run in range(n_runs):
        dl1 = []
        for setup in ("cs1", "cs2"):
            key = f"r0_dl1/{setup}/{run}"
            tasks.append(_task(out, key, "r0_dl1", command))
            dl1.append(key)
        tasks.append(_task(out, f"stereo/{run}", "stereo", command, depends_on=dl1))
        for setup, dep in (("cs1", dl1[0]), ("cs2", dl1[1]), ("stereo", f"stereo/{run}")):
            key = f"dl2/{setup}/{run}"
            tasks.append(_task(out, key, "dl2", command, depends_on=[dep]))
            dl2[setup].append(key)
    for setup, keys in dl2.items():
        tasks.append(_task(out, f"dl3/{setup}", "dl3", command, after=keys))
        tasks.append(_task(out, f"index/{setup}", "index", command, depends_on=[f"dl3/{setup}"]))
    return tasks


def _task(out, key, stage, command, depends_on=(), after=()):
    return Task(
        key=key,
        stage=stage,
        command=command,
        inputs=(),
        outputs=(),
        log=out / f"{key.replace('/', '_')}.log",
        depends_on=tuple(depends_on),
        after=tuple(after),
        overwrite_argument=None,
    )


def run(tasks, manifest, factory):
    start = time.perf_counter()
    summary = run_workflow(tasks, manifest, client_factory=factory)
    assert summary.exit_code == 0, summary.format()
    return time.perf_counter() - start


@contextlib.contextmanager
def shared(factory):
    with factory() as client:
        yield lambda: contextlib.nullcontext(client)


def bench_overhead(tmp, n_runs):
    import subprocess

    tasks = shaped_tasks(tmp / "overhead", n_runs, ("/bin/true",))
    start = time.perf_counter()
    for _ in range(50):
        subprocess.run(["/bin/true"], check=True)
    spawn = (time.perf_counter() - start) / 50
    with shared(ClusterFactory(n_workers=2)) as factory:
        wall = run(tasks, tmp / "overhead" / "manifest.json", factory)
    per_task = wall * 2 / len(tasks)
    print(
        f"scheduling overhead: {len(tasks)} tasks of /bin/true on 2 workers in {wall:.2f} s "
        f"-> {1e3 * (per_task - spawn):.1f} ms per task beyond the {1e3 * spawn:.1f} ms start of "
        f"the command (manifest journal and rewrite included)  [target <= 50 ms]"
    )


def bench_efficiency(tmp, n_runs, seconds):
    command = (sys.executable, "-c", BURN.format(s=seconds))
    walls = {}
    for workers in (1, 2):
        tasks = shaped_tasks(tmp / f"eff{workers}", n_runs, command)
        with shared(ClusterFactory(n_workers=workers)) as factory:
            walls[workers] = run(tasks, tmp / f"eff{workers}" / "manifest.json", factory)
    efficiency = walls[1] / (2 * walls[2])
    n_tasks = len(shaped_tasks(tmp, n_runs, command))
    print(
        f"parallel efficiency: {n_runs} runs per telescope ({n_tasks} tasks of {seconds} s CPU): "
        f"1 worker {walls[1]:.1f} s, 2 workers {walls[2]:.1f} s -> {100 * efficiency:.0f} %  "
        f"[target >= 80 %; load average {psutil.getloadavg()[0]:.1f} on "
        f"{psutil.cpu_count()} cores]"
    )


def bench_memory(tmp, sizes):
    process = psutil.Process()
    with shared(ClusterFactory(n_workers=2)) as factory:
        for n_runs in sizes:
            out = tmp / f"mem{n_runs}"
            rss0 = process.memory_info().rss
            tracemalloc.start()
            tasks = shaped_tasks(out, n_runs, ("/bin/true",))
            run(tasks, out / "manifest.json", factory)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rss = process.memory_info().rss - rss0
            print(
                f"orchestrator memory, {n_runs:4d} runs per telescope ({len(tasks):5d} tasks): "
                f"traced peak {peak / 2**20:6.1f} MiB ({peak / len(tasks) / 1024:.1f} KiB per "
                f"task), resident growth {rss / 2**20:6.1f} MiB"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller nights")
    parser.add_argument("--runs", type=int, default=20, help="runs per telescope (efficiency)")
    parser.add_argument("--task-seconds", type=float, default=1.0, help="CPU seconds per task")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bench_plan(tmp, 100 if args.quick else 500)
        bench_overhead(tmp, 10 if args.quick else 40)
        bench_efficiency(tmp, 5 if args.quick else args.runs, args.task_seconds)
        bench_memory(tmp, (10, 40) if args.quick else (25, 100, 400))


if __name__ == "__main__":
    main()
