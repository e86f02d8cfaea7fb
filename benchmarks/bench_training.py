"""Training cost of the default SST-1M forest and memory of the streamed training sample.

Run with ``python benchmarks/bench_training.py`` (``--quick`` for a smaller run). Steps:

1. Toy MC gammas (diffuse, MC telescopes 1/2, mono DL1) from ``make_toy_file``.
2. Two larger DL1 files are SYNTHESISED from it by repeating every event table under
   ``/dl1/event`` and ``/simulation/event`` with shifted event ids: ``--n-events`` array events
   (1x) and four times as many (4x). Simulating them would take hours; the sample reader only
   sees more rows.
3. The sample-reading stage of ``sst1m-train-models`` (`read_training_table`: streamed chunks,
   energy floor, quality cuts, hash split, bottom-k reservoirs) on the 1x and the 4x file with
   the same ``n_training_events``, each in a fresh spawned process: peak traced memory
   (tracemalloc, numpy buffers) and peak resident memory (VmHWM), next to the former
   read-everything-then-stack behaviour (all chunks kept and stacked) and to the bare reading
   (``loader only``: ctapipe ``TableLoader`` chunks, column reduction and cuts, rows dropped),
   whose own buffers are the floor of any reader.
4. One forest with the default hyper-parameters of the packaged ``train_mono.yaml`` energy
   regressor (150 trees, depth 30, ``n_jobs`` set to 1) fitted through ctapipe's
   ``EnergyRegressor.fit`` on ``--n-rows`` training rows (10^5; the sampled rows resampled with
   a 1 % jitter), in a spawned process: wall time on one core, peak resident memory.
"""

import argparse
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from astropy.table import vstack  # noqa: E402

# the same synthesised files as the DL2 benchmark: toy events repeated with shifted ids
from bench_dl2 import synthesise  # noqa: E402  (benchmarks/ is the script directory)
from ctapipe.io import TableLoader  # noqa: E402
from ctapipe.reco import EnergyRegressor  # noqa: E402
from traitlets.config import Config  # noqa: E402

from ctapipe_sst1m.reco.training import (  # noqa: E402
    TrainingSample,
    iter_training_chunks,
    read_training_table,
    required_columns,
)
from ctapipe_sst1m.simulation import make_toy_file  # noqa: E402
from ctapipe_sst1m.tools.train_models import default_training_config  # noqa: E402


def default_config():
    """The packaged mono training configuration with one-core forests."""
    cfg = yaml.safe_load(default_training_config("mono").read_text())
    for section, key in (
        ("EnergyRegressor", "model_config"),
        ("DispReconstructor", "norm_config"),
        ("DispReconstructor", "sign_config"),
        ("ParticleClassifier", "model_config"),
    ):
        cfg[section][key]["n_jobs"] = 1
    return Config(cfg)


def _vmhwm_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e3
    return float("nan")


def read_sample_in_child(path, n_training, n_test, chunk_size, method, queue):
    """Child process: peak memory of reading the training sample of telescope 1."""
    config = default_config()
    config.merge(
        Config({"TrainingSample": {"n_training_events": n_training, "max_test_events": n_test}})
    )
    with TableLoader(path) as loader:
        regressor = EnergyRegressor(loader.subarray, config=config)
        sample = TrainingSample(config=config)
        tel_type = loader.subarray.tel[1]
        floor = sample.gamma_min_true_energy

        def columns(names):
            return required_columns([regressor], names)

        before = _vmhwm_mb()
        tracemalloc.start()
        start = time.perf_counter()
        if method == "loader only":
            chunks = iter_training_chunks(
                loader, tel_type, columns, chunk_size, floor, quality=[regressor]
            )
            for _ in chunks:  # read, reduce and cut, keep nothing
                pass
            train = test = ()
        elif method == "stack everything":
            chunks = iter_training_chunks(
                loader, tel_type, columns, chunk_size, floor, quality=[regressor]
            )
            table = vstack(list(chunks), metadata_conflicts="silent")
            train, test = sample.sample([table], n_training)
            del table
        else:
            train, test = read_training_table(
                loader,
                tel_type,
                columns,
                chunk_size,
                floor,
                sample,
                n_training,
                quality=[regressor],
            )
        seconds = time.perf_counter() - start
        traced = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    queue.put((seconds, traced, before, _vmhwm_mb(), len(train), len(test)))


def fit_forest_in_child(table, queue):
    """Child process: time and peak RSS of one default energy forest fit on ``table``."""
    config = default_config()
    regressor = EnergyRegressor(_subarray(), config=config)
    sample = TrainingSample(config=Config({"TrainingSample": {"n_training_events": len(table)}}))
    key = _subarray().tel[1]
    before = _vmhwm_mb()
    start = time.perf_counter()
    n_rows = sample.fit_energy(regressor, key, table)
    seconds = time.perf_counter() - start
    queue.put((seconds, before, _vmhwm_mb(), n_rows))


def _subarray():
    from ctapipe_sst1m.instrument import sst1m_subarray

    return sst1m_subarray((1, 2))


def in_child(target, *args):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def forest_rows(path, n_rows, seed=0):
    """``n_rows`` training rows of telescope 1 (sampled rows, resampled with 1 % jitter)."""
    config = default_config()
    with TableLoader(path) as loader:
        regressor = EnergyRegressor(loader.subarray, config=config)
        sample = TrainingSample(config=Config({"TrainingSample": {"n_training_events": n_rows}}))
        train, _ = read_training_table(
            loader,
            loader.subarray.tel[1],
            lambda names: required_columns([regressor], names),
            20_000,
            sample.gamma_min_true_energy,
            sample,
            n_rows,
            quality=[regressor],
        )
    rng = np.random.default_rng(seed)
    n_draw = int(1.2 * n_rows)
    table = train[rng.integers(0, len(train), n_draw)]
    for name in table.colnames:
        if table[name].dtype == np.float32 and not name.startswith(("true_", "telescope_")):
            table[name] *= rng.normal(1.0, 0.01, n_draw).astype(np.float32)
    table = table[regressor.quality_query.get_table_mask(table)][:n_rows]
    table["event_id"] = np.arange(len(table))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller files and forest")
    parser.add_argument("--n-events", type=int, default=None, help="array events of the 1x file")
    parser.add_argument("--n-rows", type=int, default=None, help="rows of the forest fit")
    parser.add_argument(
        "--n-training", type=int, default=None, help="n_training_events of the reading stage"
    )
    args = parser.parse_args()
    n_events = args.n_events or (10_000 if args.quick else 25_000)
    n_rows = args.n_rows or (20_000 if args.quick else 100_000)
    n_training = args.n_training or (2_000 if args.quick else 5_000)
    n_test = n_training // 2
    chunk_size = n_events // 5

    tmp = Path(tempfile.mkdtemp(prefix="bench_training_"))
    print(f"working in {tmp}")
    try:
        start = time.perf_counter()
        small = make_toy_file(tmp / "gamma.h5", "gamma-diffuse", n_showers=40_000, seed=1)
        print(f"toy MC gammas: {time.perf_counter() - start:.0f} s")
        files = {}
        for scale in (1, 4):
            files[scale] = tmp / f"gamma_{scale}x.h5"
            n = synthesise(small, files[scale], scale * n_events)
            size = files[scale].stat().st_size / 1e6
            print(f"{scale}x file: {n} array events, {size:.0f} MB")

        print(
            f"\nreading the training sample of telescope 1 (n_training_events={n_training},"
            f" max_test_events={n_test}, chunks of {chunk_size} array events):"
        )
        header = ("input", "method", "s", "traced MB", "RSS MB", "+RSS MB", "train", "test")
        print("{:6s} {:18s} {:>6s} {:>10s} {:>8s} {:>8s} {:>7s} {:>7s}".format(*header))
        for scale, path in files.items():
            for label in ("loader only", "streamed reservoir", "stack everything"):
                seconds, traced, before, after, n_train, n_held = in_child(
                    read_sample_in_child, path, n_training, n_test, chunk_size, label
                )
                print(
                    f"{scale}x{'':4s} {label:18s} {seconds:6.1f} {traced:10.1f} {after:8.0f}"
                    f" {after - before:8.0f} {n_train:7d} {n_held:7d}"
                )

        table = forest_rows(files[4], n_rows)
        seconds, before, after, fitted = in_child(fit_forest_in_child, table)
        cfg = default_config()["EnergyRegressor"]["model_config"]
        print(
            f"\none default energy forest ({cfg['n_estimators']} trees, max_depth"
            f" {cfg['max_depth']}, min_samples_leaf {cfg['min_samples_leaf']},"
            f" {len(default_config()['EnergyRegressor']['features'])} features, float32) on"
            f" {fitted} rows: {seconds:.0f} s on one core, peak RSS {after:.0f} MB"
            f" ({before:.0f} MB before the fit, +{after - before:.0f} MB)"
        )
        print(
            "sst1m-train-models fits 4 such forests per mode and telescope (energy, disp norm,"
            " disp sign, classifier; two more for the two-stage classifier)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
