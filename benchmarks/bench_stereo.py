"""Speed and memory of the stereo event matchers and the vectorised stereo geometry.

Run with ``python benchmarks/bench_stereo.py`` (add ``--quick`` for a smaller run). Prints
seconds and the peak memory allocated during each step (tracemalloc, which numpy reports to).

Targets (issue 6): WhiteRabbitClosest and SWATEventIDs on 10^6 x 10^6 events < 2 s and
< 500 MB; SlidingWindow scanning 1000 offsets on 10^5 x 10^5 events < 5 s; vectorised
two-telescope geometry >= 100x faster than ctapipe's HillasReconstructor. The last step runs
the whole ``sst1m-dl1-stereo`` command on two per-telescope DL1 files of ~10^4 events with
images (toy MC split in two and repeated in time) and times the stereo-file writer alone.
"""

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from astropy.table import Table  # noqa: E402

from ctapipe_sst1m.io.clock import tai_ns_to_time  # noqa: E402
from ctapipe_sst1m.stereo import (  # noqa: E402
    SlidingWindow,
    SWATEventIDs,
    WhiteRabbitClosest,
)

T0_NS = 1_700_000_000 * 1_000_000_000


def synthetic_tables(n_events, rate_hz=300.0, offset_ns=0, jitter_ns=100, seed=1):
    """Two tables of ``n_events`` each, 95 % common showers, telescope 2 shifted and jittered."""
    rng = np.random.default_rng(seed)
    n_showers = int(n_events / 0.95) + 1
    t_true = T0_NS + np.cumsum(rng.exponential(1e9 / rate_hz, n_showers).astype(np.int64) + 1)
    keep_1 = np.sort(rng.choice(n_showers, n_events, replace=False))
    keep_2 = np.sort(rng.choice(n_showers, n_events, replace=False))
    t2 = t_true[keep_2] + offset_ns + rng.normal(0, jitter_ns, n_events).astype(np.int64)
    table1 = Table({"time": tai_ns_to_time(t_true[keep_1]), "event_id": keep_1})
    table2 = Table({"time": tai_ns_to_time(t2), "event_id": keep_2})
    return table1, table2


def measure(label, function, target_s=None, target_mb=None):
    """Time one call and report the peak traced memory."""
    tracemalloc.start()
    start = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    goal = ""
    if target_s is not None:
        ok = elapsed < target_s and (target_mb is None or peak / 1e6 < target_mb)
        goal = f"  target < {target_s} s" + (f", < {target_mb} MB" if target_mb else "")
        goal += "  OK" if ok else "  MISSED"
    print(f"{label:<58s} {elapsed:8.3f} s  peak {peak / 1e6:8.1f} MB{goal}")
    return result


def bench_matchers(n_big, n_small):
    """Matchers on synthetic streams."""
    table1, table2 = synthetic_tables(n_big)
    i1, _ = measure(
        f"WhiteRabbitClosest {n_big:.0e} x {n_big:.0e}",
        lambda: WhiteRabbitClosest()(table1, table2),
        2.0,
        500,
    )
    print(f"    pairs: {len(i1)}")
    i1, _ = measure(
        f"SWATEventIDs {n_big:.0e} x {n_big:.0e}",
        lambda: SWATEventIDs()(table1, table2),
        2.0,
        500,
    )
    print(f"    pairs: {len(i1)}")
    table1, table2 = synthetic_tables(n_small, offset_ns=2_345_678, jitter_ns=1000)
    matcher = SlidingWindow()
    i1, _ = measure(
        f"SlidingWindow {len(matcher.scan_offsets())} offsets, {n_small:.0e} x {n_small:.0e}",
        lambda: matcher(table1, table2),
        5.0,
    )
    print(f"    pairs: {len(i1)}, offset found {matcher.diagnostics.offset_ns} ns (true 2345678)")


def bench_geometry(n_events, n_reference=200):
    """Vectorised two-telescope geometry vs ctapipe's HillasReconstructor, per event."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "stereo"))
    from test_geometry import TEL_IDS, ctapipe_reference, random_tables

    from ctapipe_sst1m.instrument import sst1m_subarray
    from ctapipe_sst1m.stereo.geometry import TableHillasReconstructor

    subarray = sst1m_subarray(tel_ids=TEL_IDS)
    tables, alt, az = random_tables(n_reference, seed=3)
    start = time.perf_counter()
    ctapipe_reference(subarray, tables, alt, az)
    per_event_ctapipe = (time.perf_counter() - start) / n_reference
    print(
        f"{'ctapipe HillasReconstructor (event loop)':<58s} {per_event_ctapipe * 1e3:8.3f} ms/event"
    )

    tables, alt, az = random_tables(n_events, seed=4)
    reco = TableHillasReconstructor()
    reco(subarray, TEL_IDS, *[t[:10] for t in tables])  # warm-up (camera radius, imports)
    start = time.perf_counter()
    reco(subarray, TEL_IDS, *tables, array_altitude=alt, array_azimuth=az)
    per_event = (time.perf_counter() - start) / n_events
    speedup = per_event_ctapipe / per_event
    verdict = "OK" if speedup >= 100 else "MISSED"
    print(
        f"{f'TableHillasReconstructor ({n_events} events)':<58s} {per_event * 1e6:8.3f} us/event"
        f"  speed-up x{speedup:.0f}  target >= 100  {verdict}"
    )


def _inflate(path, tel_id, factor):
    """Repeat the events of a per-telescope DL1 file ``factor`` times, later in time."""
    import tables

    from ctapipe_sst1m.io.datamodel import (
        DL1_TEL_IMAGES_GROUP,
        DL1_TEL_PARAMETERS_GROUP,
        DL1_TEL_TRIGGER_TABLE,
        tel_path,
    )

    with tables.open_file(path, "a") as h5:
        trigger = h5.get_node(DL1_TEL_TRIGGER_TABLE)
        seconds = trigger.col("time")[:, 0]
        span = int(seconds.max() - seconds.min()) + 2
        id_step = int(trigger.col("event_id").max()) + 1
        groups = (DL1_TEL_PARAMETERS_GROUP, DL1_TEL_IMAGES_GROUP)
        nodes = [h5.get_node(tel_path(g, tel_id)) for g in groups if tel_path(g, tel_id) in h5]
        for node in [trigger, *nodes]:
            data = node.read()
            parts = []
            for k in range(1, factor):
                part = data.copy()
                part["event_id"] += k * id_step
                if "time" in part.dtype.names:
                    part["time"][:, 0] += k * span
                parts.append(part)
            node.append(np.concatenate(parts))


def bench_tool(n_showers, factor):
    """sst1m-dl1-stereo end to end, and the stereo-file writer alone, on toy DL1 files."""
    import sys
    import tempfile
    from pathlib import Path

    from ctapipe.core import run_tool

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))
    from toy_dl1 import split_telescope

    from ctapipe_sst1m.simulation import make_toy_file
    from ctapipe_sst1m.stereo.matching import WhiteRabbitClosest
    from ctapipe_sst1m.stereo.pairing import match_run, read_runs, select_partners
    from ctapipe_sst1m.stereo.stereo_file import write_stereo_file
    from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        toy = make_toy_file(
            tmp / "toy.h5", n_showers=n_showers, seed=1, telescopes=(21, 22), write_images=True
        )
        f1, f2 = tmp / "tel21.h5", tmp / "tel22.h5"
        split_telescope(toy, f1, 21, drop=0.1, seed=1)
        split_telescope(toy, f2, 22, drop=0.1, seed=2, jitter_ns=30)
        _inflate(f1, 21, factor)
        _inflate(f2, 22, factor)
        out = tmp / "stereo.h5"
        argv = [
            f"--tel1={f1}",
            f"--tel2={f2}",
            f"--output={out}",
            "--method=WhiteRabbitClosest",
            "--no-plot",
            f"--provenance-log={tmp / 'p.log'}",
            "--log-level=ERROR",
        ]
        start = time.perf_counter()
        assert run_tool(DL1StereoTool(), argv=argv, cwd=tmp, raises=True) == 0
        elapsed = time.perf_counter() - start

        runs = [read_runs([str(f1)], "--tel1"), read_runs([str(f2)], "--tel2")]
        partners = select_partners(runs[0][0], runs[1], 0.2)
        events, diag = match_run(0, runs[0][0], runs[1], partners, WhiteRabbitClosest(), (21, 22))
        n = len(events.time_ns)
        print(f"{f'sst1m-dl1-stereo ({n} stereo events, no PNG)':<58s} {elapsed:8.3f} s")
        best = np.inf
        for repeat in range(2):
            target = tmp / f"writer{repeat}.h5"
            start = time.perf_counter()
            write_stereo_file(target, runs, (21, 22), [events], [diag])
            best = min(best, time.perf_counter() - start)
        label = "write_stereo_file (best of 2)"
        print(f"{label:<58s} {best:8.3f} s  {best / n * 1e6:8.1f} us/event")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller matcher inputs")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    bench_matchers(1_000_000 // scale, 100_000 // scale)
    bench_geometry(100_000 // scale, 200 // scale)
    bench_tool(6000, 200 // scale)


if __name__ == "__main__":
    main()
