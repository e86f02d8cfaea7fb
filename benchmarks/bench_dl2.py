"""Speed and memory of sst1m-dl1-dl2 (mono and stereo) against bare scikit-learn predicts.

Run with ``python benchmarks/bench_dl2.py`` (about 30 min on 2 cores, most of it training the
production-size forests once; ``--work-dir DIR`` keeps the files and models and reuses them on
the next run; ``--quick``: 2·10⁴ events and toy-size forests only, a few minutes). Steps:

1. Small toy MC (diffuse gammas and protons, MC telescopes 1/2) from ``make_toy_file``, which
   writes the HillasReconstructor stereo geometry (stereo features) itself.
2. Large DL1 files are SYNTHESISED from it: every event table under ``/dl1/event``,
   ``/dl2/event`` and ``/simulation/event`` is repeated block by block with shifted event ids,
   the float image parameters of the copies get a 1 % multiplicative jitter (simulating 10^5
   triggered events would take hours). The mono input holds all events; the stereo input only
   the events where both telescopes triggered, as written by ``sst1m-dl1-stereo``.
3. Forests with the packaged default settings (150/100 trees, depth 30, min 10 samples per
   leaf):

   * "toy-size": trained on the small toy MC, a few hundred rows per telescope, so the trees
     stay small and predict ~10x faster than production forests: the DL2 step is dominated by
     reading and writing, which shows its fixed costs in absolute terms;
   * "production-size": trained on synthesised samples of ~10^5 rows per telescope (with a
     jitter of the true energy, see `synthesise`), so the trees grow to production leaf counts
     (thousands of leaves, depth 25-30). The bare predict rate of their 150-tree energy forest
     is printed next to the reference figure of the requirement (~53 000 rows/s per core).
4. ``sst1m-dl1-dl2 --mode mono`` and ``--mode stereo``: wall time, events/s per core
   (OMP_NUM_THREADS=1, n_jobs=1), peak traced memory (tracemalloc), and the bare ``predict`` /
   ``predict_proba`` of the same forests on the same feature matrices (built outside the
   timer). Target: DL2 step / sum of bare predicts <= 1.3 with production-size forests.
   Production-size cases are timed ``--repeats`` times (default 2), interleaved with the bare
   predicts; the fastest run of each is compared.
5. Cost per event and fixed cost (runs on n and n/4 events), memory flat in file size, and
   the production-size forests once more on a larger file (``--long-events``, 10^6 array
   events by default), where the fixed costs are spread over ten times more events.
6. The real command (a subprocess, as a user runs it) on n/4 and n events: wall and CPU time,
   maximum resident memory (``/usr/bin/time -v``, else psutil sampling) side by side with the
   in-process traced peak, and the start-up (the command on a 100-event file, and the bare
   import of stock ``ctapipe-apply-models``).

Training time and memory of the default forests: ``benchmarks/bench_training.py``.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import tables  # noqa: E402
from ctapipe.core import run_tool  # noqa: E402
from ctapipe.io import TableLoader  # noqa: E402

from ctapipe_sst1m.compat import models_of  # noqa: E402
from ctapipe_sst1m.reco.metadata import load_model, read_models_json  # noqa: E402
from ctapipe_sst1m.simulation import make_toy_file  # noqa: E402
from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool  # noqa: E402

BIN = Path(sys.executable).parent
EVENT_GROUPS = ("/dl1/event", "/dl2/event", "/simulation/event")


def stereo_dl1(tmp, particle, n_showers, seed):
    """Toy MC DL1 with the HillasReconstructor stereo features (written by the toy itself)."""
    return make_toy_file(tmp / f"{particle}.dl1.h5", particle, n_showers=n_showers, seed=seed)


def synthesise(small, big, n_events, seed=0, energy_jitter=0.0, coincident=False):
    """Write ``big``: the events of ``small`` repeated block by block up to ``n_events``.

    Every block gets shifted event ids; the float image parameters of the copies get a 1 %
    multiplicative jitter. ``energy_jitter`` (log-normal sigma) also varies the true energy of
    the copies: training samples need it, otherwise every copy of an event has the same target,
    a forest stops splitting at ~one leaf per original event and predicts unrealistically fast.
    ``coincident`` keeps only the events where every telescope triggered, the content of a
    stereo file written by ``sst1m-dl1-stereo``.
    """
    rng = np.random.default_rng(seed)
    shutil.copy(small, big)
    with tables.open_file(big, "a") as f:
        trigger = f.root.dl1.event.subarray.trigger.read()
        kept = trigger if not coincident else trigger[trigger["tels_with_trigger"].all(axis=1)]
        kept_ids = set(zip(kept["obs_id"].tolist(), kept["event_id"].tolist(), strict=True))
        shift = int(trigger["event_id"].max()) + 1
        n_blocks = int(np.ceil(n_events / len(kept)))
        nodes = [
            node
            for group in EVENT_GROUPS
            if group in f
            for node in f.walk_nodes(group, "Table")
            if "event_id" in node.colnames
        ]
        originals = {}
        for node in nodes:
            rows = node.read()
            keep = [ids in kept_ids for ids in zip(rows["obs_id"], rows["event_id"], strict=True)]
            originals[node._v_pathname] = rows[np.asarray(keep, dtype=bool)]
            node.remove_rows(0, node.nrows)
        for block in range(n_blocks):
            for node in nodes:
                rows = originals[node._v_pathname].copy()
                rows["event_id"] += block * shift
                if block > 0 and "/parameters/" in node._v_pathname:
                    for name in rows.dtype.names:
                        if rows.dtype[name].kind == "f" and rows[name].ndim == 1:
                            rows[name] *= rng.normal(1.0, 0.01, len(rows)).astype(rows.dtype[name])
                if block > 0 and energy_jitter and node._v_pathname.endswith("/subarray/shower"):
                    factor = rng.lognormal(0.0, energy_jitter, len(rows))
                    rows["true_energy"] *= factor.astype(rows.dtype["true_energy"])
                node.append(rows)
        n_total = f.root.dl1.event.subarray.trigger.nrows
    return n_total


def bare_predict_seconds(dl1, model_dir, mode):
    """Bare sklearn predicts of the mode's forests on the file's feature rows.

    Returns (total seconds, rows summed over the models, energy forest rows per second).
    """
    meta = read_models_json(model_dir)
    total = 0.0
    n_rows = 0
    energy_seconds, energy_rows = 0.0, 0
    with TableLoader(dl1, dl1_parameters=True, dl2=True, simulated=False) as loader:
        by_tel = loader.read_telescope_events_by_id()
    predictions = {}
    for kind in ("energy", "disp", "classifier"):
        entry = meta["modes"][mode][kind]
        reco = load_model(model_dir / entry["file"], expected_sha256=entry["sha256"])
        reco.n_jobs = 1  # one core, like the DL2 step (pickles may carry n_jobs=-1)
        for tel_id, table in by_tel.items():
            if len(table) == 0:
                continue
            for name, values in predictions.get(tel_id, {}).items():
                table[name] = values
            with_features = reco.feature_generator(table, subarray=loader.subarray)
            desc = loader.subarray.tel[tel_id]
            model = reco._models[desc]
            valid = reco.quality_query.get_table_mask(with_features)
            X = np.column_stack(
                [np.asarray(with_features[f][valid], dtype=np.float32) for f in reco.features]
            )
            X = X[np.all(np.isfinite(X), axis=1)]
            n_rows += len(X)
            start = time.perf_counter()
            if kind == "energy":
                model.predict(X)
            elif kind == "disp":
                model[0].predict(X)
                model[1].predict_proba(X)
            else:
                model.predict_proba(X)
            seconds = time.perf_counter() - start
            total += seconds
            if kind == "energy":
                energy_seconds += seconds
                energy_rows += len(X)
            # later models (two-stage classifier) use the earlier predictions as features
            for tab in reco.predict_table(desc, table).values():
                predictions.setdefault(tel_id, {}).update({c: tab[c] for c in tab.colnames})
    return total, n_rows, energy_rows / energy_seconds


def run_dl2(dl1, model_dir, out, mode, trace, chunk_size=None):
    """Run sst1m-dl1-dl2; returns (seconds, peak traced MB or None)."""
    if out.exists():
        out.unlink()
    # write back the previous runs' outputs now, not inside the timed run
    os.sync()
    argv = [f"--input={dl1}", f"--models={model_dir}", f"--output={out}", f"--mode={mode}"]
    argv += ["--n-jobs=1", "--log-level=WARN", "--no-progress"]
    argv.append(f"--provenance-log={out.parent / 'bench.provenance.log'}")
    if chunk_size:
        argv.append(f"--chunk-size={chunk_size}")
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    assert run_tool(DL1ToDL2Tool(), argv, cwd=out.parent) == 0
    seconds = time.perf_counter() - start
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return seconds, peak


def command_figures(argv):
    """Run a command as a subprocess: ``(wall s, CPU s, maximum resident MB)``.

    The resident memory is the kernel's high-water mark from ``/usr/bin/time -v``; without it
    psutil samples the process every 20 ms (may miss a short peak).
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.sync()
    if Path("/usr/bin/time").exists():
        start = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", *map(str, argv)], capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - start
        assert result.returncode == 0, result.stderr[-2000:]
        fields = dict(
            line.strip().rsplit(": ", 1) for line in result.stderr.splitlines() if ": " in line
        )
        cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
        return wall, cpu, int(fields["Maximum resident set size (kbytes)"]) / 1e3
    import psutil

    start = time.perf_counter()
    proc = psutil.Popen(list(map(str, argv)), env=env, stderr=subprocess.DEVNULL)
    peak, cpu = 0.0, 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss / 1e6)
            times = proc.cpu_times()
            cpu = times.user + times.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert proc.returncode == 0
    return time.perf_counter() - start, cpu, peak


def dl2_command(dl1, model_dir, out, mode):
    """The sst1m-dl1-dl2 command line of one benchmark case."""
    return [
        BIN / "sst1m-dl1-dl2",
        f"--input={dl1}",
        f"--models={model_dir}",
        f"--output={out}",
        f"--mode={mode}",
        "--n-jobs=1",
        "--no-progress",
        "--overwrite",
        "--log-level=WARN",
        f"--provenance-log={out.parent / 'bench.provenance.log'}",
    ]


def command_report(inputs, quarters, sizes, models, tmp, gamma):
    """Item 6: the real command on n/4 and n events, its resident memory and its start-up."""
    print("\nthe real command (subprocess), n/4 and n events side by side:")
    header = ("mode", "events", "wall s", "CPU s", "max RSS MB", "traced peak MB")
    print("{:7s} {:>8s} {:>7s} {:>7s} {:>11s} {:>15s}".format(*header))
    for mode, big in inputs.items():
        small, n_small = quarters[mode]
        for dl1, n in ((small, n_small), (big, sizes[mode])):
            out = tmp / f"command.{mode}.dl2.h5"
            wall, cpu, rss = command_figures(dl2_command(dl1, models, out, mode))
            _, peak = run_dl2(dl1, models, tmp / "traced.dl2.h5", mode, trace=True)
            print(f"{mode:7s} {n:8d} {wall:7.1f} {cpu:7.1f} {rss:11.0f} {peak:15.0f}")
    tiny = cached(tmp / "tiny.dl1.h5", lambda p: synthesise(gamma, p, 100))
    _, cpu_tiny, rss_tiny = command_figures(dl2_command(tiny, models, tmp / "tiny.dl2.h5", "mono"))
    _, cpu_import, _ = command_figures([sys.executable, "-c", "import ctapipe.tools.apply_models"])
    _, cpu_ours, _ = command_figures([sys.executable, "-c", "import ctapipe_sst1m.tools.dl1_dl2"])
    print(
        f"start-up: the command on 100 events {cpu_tiny:.1f} s CPU ({rss_tiny:.0f} MB); bare"
        f" imports: stock ctapipe.tools.apply_models {cpu_import:.1f} s,"
        f" ctapipe_sst1m.tools.dl1_dl2 {cpu_ours:.1f} s"
    )


def forest_size(model_dir, mode):
    """Mean leaves and depth per tree of the mode's energy forest (what predict costs)."""
    meta = read_models_json(model_dir)
    entry = meta["modes"][mode]["energy"]
    reco = load_model(model_dir / entry["file"], expected_sha256=entry["sha256"])
    forest = next(iter(models_of(reco).values()))
    leaves = np.mean([tree.get_n_leaves() for tree in forest.estimators_])
    depth = np.mean([tree.get_depth() for tree in forest.estimators_])
    return leaves, depth


def train(gamma, proton, output, modes=("mono", "stereo")):
    """sst1m-train-models with the packaged default forests (reused if already trained)."""
    if (output / "models.json").exists():
        print(f"reusing the models in {output}")
        return output
    start = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "sst1m-train-models"),
            "--gamma",
            str(gamma),
            "--proton",
            str(proton),
            "-o",
            str(output),
            *[f"--modes={mode}" for mode in modes],
            "--log-level=WARN",
        ],
        check=True,
    )
    print(f"trained {output.name} ({', '.join(modes)}) in {time.perf_counter() - start:.0f} s")
    return output


def report(label, inputs, models, n_events, tmp, repeats=1):
    """Print the DL2-vs-bare-predict lines of each (mode, input file) in ``inputs``.

    With ``repeats`` > 1 the DL2 step and the bare predicts are timed that many times,
    interleaved, and the fastest of each is used (the least disturbed by other work on a
    shared machine; repeated runs here differ by up to ±10 %, bare predicts included).
    """
    leaves, depth = forest_size(models, next(iter(inputs)))
    print(f"\n{label}: energy forest {leaves:.0f} leaves, depth {depth:.1f} per tree (mean)")
    header = ("mode", "DL2 s", "ev/s/core", "bare s", "ratio", "peak MB", "E-forest rows/s")
    print("{:7s} {:>7s} {:>10s} {:>7s} {:>6s} {:>8s} {:>16s}".format(*header))
    for mode, dl1 in inputs.items():
        runs = []
        for _ in range(max(repeats, 1)):
            seconds, _ = run_dl2(dl1, models, tmp / f"{mode}.dl2.h5", mode, trace=False)
            runs.append((seconds, *bare_predict_seconds(dl1, models, mode)))
        seconds = min(run[0] for run in runs)
        bare, n_rows, energy_rate = min(runs, key=lambda run: run[1])[1:]
        if len(runs) > 1:
            print("  runs (DL2 s, bare s): " + ", ".join(f"({r[0]:.1f}, {r[1]:.1f})" for r in runs))
        _, peak = run_dl2(dl1, models, tmp / f"{mode}.dl2.h5", mode, trace=True)
        print(
            f"{mode:7s} {seconds:7.1f} {n_events[mode] / seconds:10.0f} {bare:7.1f}"
            f" {seconds / bare:6.2f} {peak:8.0f} {energy_rate:16.0f}"
            f"   ({n_rows} feature rows summed over the models)"
        )
    print(
        "target: ratio <= 1.3 with production-size forests (reference: a 150-tree, depth-30"
        " regressor predicts ~53 000 rows/s per core)"
    )


def marginal(inputs, quarters, n_events, models, tmp):
    """Per-event cost of the DL2 step against the bare predicts, fixed costs removed."""
    for mode, big in inputs.items():
        small, n_small = quarters[mode]
        n_big = n_events[mode]
        dl2_big, _ = run_dl2(big, models, tmp / "m.dl2.h5", mode, trace=False)
        dl2_small, _ = run_dl2(small, models, tmp / "m.dl2.h5", mode, trace=False)
        bare_big = bare_predict_seconds(big, models, mode)[0]
        bare_small = bare_predict_seconds(small, models, mode)[0]
        per_event = (dl2_big - dl2_small) / (n_big - n_small)
        bare_per_event = (bare_big - bare_small) / (n_big - n_small)
        fixed = dl2_big - per_event * n_big
        print(
            f"{mode}: per array event {per_event * 1e6:.0f} us (bare predicts"
            f" {bare_per_event * 1e6:.0f} us, ratio {per_event / bare_per_event:.2f});"
            f" fixed cost {fixed:.1f} s (start-up, model loading, input copy)"
        )


def cached(path, make):
    """``path`` if it exists (a reused --work-dir), else ``make(path)``'s result."""
    if path.exists():
        return path
    make(path)
    return path


def n_array_events(path):
    with tables.open_file(path) as f:
        return f.root.dl1.event.subarray.trigger.nrows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2x10^4 events, toy-size forests only")
    parser.add_argument("--n-events", type=int, default=None, help="array events per input")
    parser.add_argument(
        "--training-rows",
        type=int,
        default=100_000,
        help="telescope rows per telescope in the production-size training samples",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep (and reuse) files and models here"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="timings of the production-size cases, interleaved; the fastest of each is used",
    )
    parser.add_argument(
        "--long-events",
        type=int,
        default=1_000_000,
        help="array events of the run-sized file for the production-size forests (0: skip)",
    )
    args = parser.parse_args()
    n_events = args.n_events or (20_000 if args.quick else 100_000)

    tmp = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_dl2_"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"working in {tmp}")
    start = time.perf_counter()
    gamma = cached(
        tmp / "gamma-diffuse.dl1.h5", lambda p: stereo_dl1(tmp, "gamma-diffuse", 40_000, 1)
    )
    proton = cached(tmp / "proton.dl1.h5", lambda p: stereo_dl1(tmp, "proton", 400_000, 1))
    print(f"toy MC: {time.perf_counter() - start:.0f} s")
    models = train(gamma, proton, tmp / "models_toy")

    inputs, quarters, sizes = {}, {}, {}
    for mode in ("mono", "stereo"):
        coincident = mode == "stereo"
        inputs[mode] = cached(
            tmp / f"{mode}.dl1.h5",
            lambda p, c=coincident: synthesise(gamma, p, n_events, coincident=c),
        )
        quarter = cached(
            tmp / f"{mode}.quarter.dl1.h5",
            lambda p, c=coincident: synthesise(gamma, p, n_events // 4, coincident=c),
        )
        sizes[mode] = n_array_events(inputs[mode])
        quarters[mode] = (quarter, n_array_events(quarter))
        with tables.open_file(inputs[mode]) as f:
            n_tel = f.root.dl1.event.telescope.trigger.nrows
        kind = "coincident events only" if coincident else "all events"
        print(f"{mode} input: {sizes[mode]} array events, {n_tel} telescope events ({kind})")

    report("toy-size forests", inputs, models, sizes, tmp)
    marginal(inputs, quarters, sizes, models, tmp)

    # memory flat in file size: same chunk size, files of n/4 and n events
    small, n_small = quarters["stereo"]
    peaks = [
        run_dl2(dl1, models, tmp / "chunked.dl2.h5", "stereo", trace=True, chunk_size=10_000)[1]
        for dl1 in (small, inputs["stereo"])
    ]
    print(
        f"peak traced memory with --chunk-size=10000 (stereo): {peaks[0]:.0f} MB for"
        f" {n_small} events, {peaks[1]:.0f} MB for {sizes['stereo']} events"
    )

    command_report(inputs, quarters, sizes, models, tmp, gamma)

    if not args.quick:
        # training samples with ~training_rows rows per telescope after the 25 % test split
        with tables.open_file(gamma) as f:
            trigger = f.root.dl1.event.subarray.trigger.col("tels_with_trigger")
        # rows per telescope and synthesised array event (the stereo sample is coincident only)
        per_event = {"mono": trigger.mean(), "stereo": 1.0}
        production = {}
        for mode in ("mono", "stereo"):
            n_train = int(args.training_rows / 0.75 / per_event[mode])
            coincident = mode == "stereo"
            big_gamma = cached(
                tmp / f"train_gamma_{mode}.dl1.h5",
                lambda p, n=n_train, c=coincident: synthesise(
                    gamma, p, n, seed=1, energy_jitter=0.2, coincident=c
                ),
            )
            big_proton = cached(
                tmp / f"train_proton_{mode}.dl1.h5",
                lambda p, n=n_train, c=coincident: synthesise(
                    proton, p, n, seed=2, energy_jitter=0.2, coincident=c
                ),
            )
            production[mode] = train(
                big_gamma, big_proton, tmp / f"models_production_{mode}", modes=(mode,)
            )
        for mode in ("mono", "stereo"):
            report(
                f"production-size forests ({mode})",
                {mode: inputs[mode]},
                production[mode],
                sizes,
                tmp,
                repeats=args.repeats,
            )
            marginal({mode: inputs[mode]}, quarters, sizes, production[mode], tmp)

        # a run-sized file: the fixed costs (start-up, model loading) spread over more events
        if args.long_events:
            for mode in ("mono", "stereo"):
                coincident = mode == "stereo"
                long_input = cached(
                    tmp / f"{mode}.long.dl1.h5",
                    lambda p, c=coincident: synthesise(gamma, p, args.long_events, coincident=c),
                )
                report(
                    f"production-size forests ({mode}), file of {args.long_events} events",
                    {mode: long_input},
                    production[mode],
                    {mode: n_array_events(long_input)},
                    tmp,
                    repeats=args.repeats,
                )

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"\nprocess max RSS: {rss:.0f} MB")
    if args.work_dir is None:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
