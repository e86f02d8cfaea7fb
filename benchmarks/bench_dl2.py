"""Speed and memory of sst1m-dl1-dl2 (mono and stereo) against bare scikit-learn predicts.

Run with ``python benchmarks/bench_dl2.py`` (``--quick``: 2·10⁴ events and no production-size
forests). Steps:

1. Small toy MC (gamma-diffuse and protons, MC telescopes 1/2) -> ``ctapipe-process`` with
   HillasReconstructor (stereo features) -> ``sst1m-train-models`` with the default SST-1M
   forest settings. The toy training sample is small, so these "toy-size" forests are shallow
   and predict several times faster than production forests.
2. A large DL1 file is SYNTHESISED from the small gamma file: every event table under
   ``/dl1/event``, ``/dl2/event`` and ``/simulation/event`` is repeated block by block with
   shifted event ids, and the float image parameters get a 1 % multiplicative jitter, until
   the file holds ``--n-events`` array events (simulating 10^5 triggered events would take
   hours). Nothing about the forests depends on this: they see realistic feature rows.
3. ``sst1m-dl1-dl2 --mode mono`` and ``--mode stereo`` on that file: wall time, events/s per
   core (OMP_NUM_THREADS=1, n_jobs=1), peak traced memory (tracemalloc).
4. The bare ``predict`` / ``predict_proba`` of the same forests on the same feature matrices
   (built outside the timer); the ratio DL2 step / sum of bare predicts (target <= 1.3).
5. Production-size forests: the default settings trained on synthesised samples of 10^5 gamma
   and 10^5 proton array events (so the trees grow to the leaf counts of a real production,
   thousands of leaves, depth 25-30), then step 3-4 again in stereo mode.

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

from ctapipe_sst1m.reco.metadata import load_model, read_models_json  # noqa: E402
from ctapipe_sst1m.simulation import make_toy_file  # noqa: E402
from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool  # noqa: E402

BIN = Path(sys.executable).parent
EVENT_GROUPS = ("/dl1/event", "/dl2/event", "/simulation/event")


def stereo_dl1(tmp, particle, n_showers, seed):
    """Toy MC DL1 with ctapipe-process HillasReconstructor stereo features."""
    mono = make_toy_file(tmp / f"{particle}.mono.h5", particle, n_showers=n_showers, seed=seed)
    out = tmp / f"{particle}.dl1.h5"
    subprocess.run(
        [
            str(BIN / "ctapipe-process"),
            f"--input={mono}",
            f"--output={out}",
            "--write-parameters",
            "--DataWriter.write_dl2=True",
            "--ShowerProcessor.reconstructor_types=HillasReconstructor",
            "--no-progress",
            "-q",
        ],
        check=True,
    )
    return out


def synthesise(small, big, n_events, seed=0, energy_jitter=0.0):
    """Copy ``small`` and append shifted, jittered copies of its events up to ``n_events``.

    ``energy_jitter`` (log-normal sigma) also varies the true energy of the copies: training
    samples need it, otherwise every copy of an event has the same target, a forest stops
    splitting at ~one leaf per original event and predicts unrealistically fast.
    """
    rng = np.random.default_rng(seed)
    shutil.copy(small, big)
    with tables.open_file(big, "a") as f:
        n_small = f.root.dl1.event.subarray.trigger.nrows
        shift = int(f.root.dl1.event.subarray.trigger.col("event_id").max()) + 1
        n_blocks = int(np.ceil(n_events / n_small))
        nodes = [
            node
            for group in EVENT_GROUPS
            if group in f
            for node in f.walk_nodes(group, "Table")
            if "event_id" in node.colnames
        ]
        originals = {node._v_pathname: node.read() for node in nodes}
        for block in range(1, n_blocks):
            for node in nodes:
                rows = originals[node._v_pathname].copy()
                rows["event_id"] += block * shift
                if "/parameters/" in node._v_pathname:
                    for name in rows.dtype.names:
                        if rows.dtype[name].kind == "f" and rows[name].ndim == 1:
                            rows[name] *= rng.normal(1.0, 0.01, len(rows)).astype(rows.dtype[name])
                if energy_jitter and node._v_pathname.endswith("/subarray/shower"):
                    factor = rng.lognormal(0.0, energy_jitter, len(rows))
                    rows["true_energy"] *= factor.astype(rows.dtype["true_energy"])
                node.append(rows)
        n_total = f.root.dl1.event.subarray.trigger.nrows
    return n_total


def bare_predict_seconds(dl1, model_dir, mode):
    """Seconds of the bare sklearn predicts of the mode's forests on the file's feature rows."""
    meta = read_models_json(model_dir)
    total = 0.0
    n_rows = 0
    with TableLoader(dl1, dl1_parameters=True, dl2=True, simulated=False) as loader:
        by_tel = loader.read_telescope_events_by_id()
    predictions = {}
    for kind in ("energy", "disp", "classifier"):
        entry = meta["modes"][mode][kind]
        reco = load_model(model_dir / entry["file"], expected_sha256=entry["sha256"])
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
            total += time.perf_counter() - start
            # later models (two-stage classifier) use the earlier predictions as features
            for tab in reco.predict_table(desc, table).values():
                predictions.setdefault(tel_id, {}).update({c: tab[c] for c in tab.colnames})
    return total, n_rows


def run_dl2(dl1, model_dir, out, mode, trace, chunk_size=None):
    """Run sst1m-dl1-dl2; returns (seconds, peak traced MB or None)."""
    if out.exists():
        out.unlink()
    argv = [f"--input={dl1}", f"--models={model_dir}", f"--output={out}", f"--mode={mode}"]
    argv += ["--n-jobs=1", "--log-level=WARN", "--no-progress"]
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


def forest_size(model_dir, mode):
    """Mean leaves and depth per tree of the mode's energy forest (what predict costs)."""
    meta = read_models_json(model_dir)
    entry = meta["modes"][mode]["energy"]
    reco = load_model(model_dir / entry["file"], expected_sha256=entry["sha256"])
    forest = next(iter(reco._models.values()))
    leaves = np.mean([tree.get_n_leaves() for tree in forest.estimators_])
    depth = np.mean([tree.get_depth() for tree in forest.estimators_])
    return leaves, depth


def train(gamma, proton, output, modes=("mono", "stereo")):
    """sst1m-train-models with the packaged default forests."""
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
    return output


def report(label, big, models, modes, n_total, tmp):
    """Print the DL2-vs-bare-predict lines of ``modes``."""
    leaves, depth = forest_size(models, modes[0])
    print(f"\n{label}: energy forest {leaves:.0f} leaves, depth {depth:.1f} per tree (mean)")
    header = ("mode", "DL2 s", "ev/s/core", "bare s", "ratio", "peak MB")
    print("{:7s} {:>7s} {:>10s} {:>7s} {:>6s} {:>8s}".format(*header))
    for mode in modes:
        seconds, _ = run_dl2(big, models, tmp / f"{mode}.dl2.h5", mode, trace=False)
        bare, n_rows = bare_predict_seconds(big, models, mode)
        _, peak = run_dl2(big, models, tmp / f"{mode}.dl2.h5", mode, trace=True)
        print(
            f"{mode:7s} {seconds:7.1f} {n_total / seconds:10.0f} {bare:7.1f}"
            f" {seconds / bare:6.2f} {peak:8.0f}   (bare predicts: {n_rows} rows"
            " summed over models; target ratio <= 1.3)"
        )


def marginal(big, small, n_big, n_small, models, modes, tmp):
    """Per-event cost of the DL2 step against the bare predicts, fixed costs removed."""
    for mode in modes:
        dl2_big, _ = run_dl2(big, models, tmp / "m.dl2.h5", mode, trace=False)
        dl2_small, _ = run_dl2(small, models, tmp / "m.dl2.h5", mode, trace=False)
        bare_big, _ = bare_predict_seconds(big, models, mode)
        bare_small, _ = bare_predict_seconds(small, models, mode)
        per_event = (dl2_big - dl2_small) / (n_big - n_small)
        bare_per_event = (bare_big - bare_small) / (n_big - n_small)
        fixed = dl2_big - per_event * n_big
        print(
            f"{mode}: per array event {per_event * 1e6:.0f} us (bare predicts"
            f" {bare_per_event * 1e6:.0f} us, ratio {per_event / bare_per_event:.2f});"
            f" fixed cost {fixed:.1f} s (start-up, model loading, input copy)"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2x10^4 events, no production-size forests"
    )
    parser.add_argument("--n-events", type=int, default=None, help="array events in the file")
    args = parser.parse_args()
    n_events = args.n_events or (20_000 if args.quick else 100_000)

    tmp = Path(tempfile.mkdtemp(prefix="bench_dl2_"))
    print(f"working in {tmp}")
    start = time.perf_counter()
    gamma = stereo_dl1(tmp, "gamma-diffuse", 20_000 if args.quick else 40_000, 1)
    proton = stereo_dl1(tmp, "proton", 50_000 if args.quick else 100_000, 1)
    models = train(gamma, proton, tmp / "models")
    setup_seconds = time.perf_counter() - start
    print(f"toy MC + ctapipe-process + training (default forests): {setup_seconds:.0f} s")
    big = tmp / "big.dl1.h5"
    n_total = synthesise(gamma, big, n_events)
    with tables.open_file(big) as f:
        n_tel_events = f.root.dl1.event.telescope.trigger.nrows
    print(f"synthesised DL1: {n_total} array events, {n_tel_events} telescope events")
    report("toy-size forests", big, models, ("mono", "stereo"), n_total, tmp)

    # fixed costs (start-up, model loading, copying the input's small tables) against the cost
    # per event: the same runs on a file of n/4 events
    small = tmp / "quarter.dl1.h5"
    n_small = synthesise(gamma, small, n_events // 4)
    marginal(big, small, n_total, n_small, models, ("mono", "stereo"), tmp)

    # memory flat in file size: same chunk size, files of n/4 and n events
    peaks = [
        run_dl2(dl1, models, tmp / "chunked.dl2.h5", "stereo", trace=True, chunk_size=10_000)[1]
        for dl1 in (small, big)
    ]
    print(
        f"peak traced memory with --chunk-size=10000 (stereo): {peaks[0]:.0f} MB for"
        f" {n_small} events, {peaks[1]:.0f} MB for {n_total} events"
    )

    if not args.quick:
        start = time.perf_counter()
        big_gamma = tmp / "train_gamma.dl1.h5"
        big_proton = tmp / "train_proton.dl1.h5"
        synthesise(gamma, big_gamma, 100_000, seed=1, energy_jitter=0.2)
        synthesise(proton, big_proton, 100_000, seed=2, energy_jitter=0.2)
        production = train(big_gamma, big_proton, tmp / "models_production", modes=("stereo",))
        print(
            f"\nproduction-size forests trained on 10^5 + 10^5 synthesised events in"
            f" {time.perf_counter() - start:.0f} s"
        )
        report("production-size forests", big, production, ("stereo",), n_total, tmp)
        marginal(big, small, n_total, n_small, production, ("stereo",), tmp)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"\nprocess max RSS: {rss:.0f} MB")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
