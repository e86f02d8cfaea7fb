"""Overhead of ``sst1m-mc-production`` over running the same commands by hand.

A one-node toy production (the test production of ``tests/helpers/toy_production.py``:
stereo models, full-enclosure and point-like IRFs, performance) is made twice from the same
plan, in fresh directories:

* **by hand**: every task's command of `ctapipe_sst1m.production.plan_production`, one after the
  other in dependency order, as a user would type them (``subprocess.run``);
* **workflow**: ``sst1m-mc-production --workers 1`` (planning, ``production.yaml``, the Dask
  LocalCluster, the manifest, logs, the summary).

Both run one command at a time on one worker, so the difference of the wall times is the cost
of the workflow. The target of issue #22 is at most 5 %. Usage::

    python benchmarks/bench_production.py [--work-dir DIR] [--nodes 20 40]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))

from toy_production import command, environment, production_yaml  # noqa: E402

from ctapipe_sst1m.orchestration import check_graph  # noqa: E402
from ctapipe_sst1m.production import load_production, plan_production  # noqa: E402
from ctapipe_sst1m.production.layout import write_stage_config  # noqa: E402


def by_hand(config, output):
    """Run the plan's commands one after the other; return the wall time in seconds."""
    env = environment()
    start = time.perf_counter()
    plan = plan_production(load_production(config), output)
    for path, content in plan.configs.items():
        write_stage_config(path, content)
    for task in check_graph(plan.tasks):
        for path in task.outputs:
            path.parent.mkdir(parents=True, exist_ok=True)
        task.log.parent.mkdir(parents=True, exist_ok=True)
        with open(task.log, "w") as log:
            subprocess.run(task.command, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start, len(plan.tasks)


def workflow(config, output):
    start = time.perf_counter()
    subprocess.run(
        command(config, output, "--workers=1"),
        env=environment(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--nodes", type=int, nargs="+", default=[20])
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        tmp = Path(tmp)
        config = production_yaml(tmp / "production.yaml", nodes=tuple(args.nodes))
        hand, n_tasks = by_hand(config, tmp / "hand")
        flow = workflow(config, tmp / "workflow")
    overhead = (flow - hand) / hand
    print(f"toy production, {len(args.nodes)} node(s), {n_tasks} tasks, one command at a time")
    print(f"{'by hand (same commands)':<28}{'sst1m-mc-production':<24}{'overhead':>10}")
    print(f"{hand:<28.1f}{flow:<24.1f}{100 * overhead:>9.1f} %")
    print(f"target: overhead <= 5 %: {'met' if overhead <= 0.05 else 'NOT met'}")


if __name__ == "__main__":
    main()
