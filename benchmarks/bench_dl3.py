"""Speed of sst1m-dl2-dl3: 10⁶ stereo DL2 events → DL3, and the IRF interpolation per observation.

Run with ``python benchmarks/bench_dl3.py`` (``--events N``, ``--runs R``, ``--work-dir DIR``
to keep the inputs). Steps:

1. A **synthetic** stereo DL2 file in the layout of ``sst1m-dl1-dl2`` on observed data
   (subarray description, observation blocks with the wobble RA/Dec, start and duration, the
   subarray trigger table with TAI times, the three DL2 subarray tables and the RA/Dec table,
   ``/dl2/sst1m_models``, the tracking ``/dl0/monitoring/telescope/pointing``), written with
   ctapipe's ``write_table``:
   ``N`` events spread over ``R`` runs of one wobble of the Crab (reconstructing 10⁶ toy-night
   events would take hours). Gammaness is uniform, so about 40 % pass the 0.6 cut.
2. An IRF bank of three zenith nodes (20°, 30°, 40°) with the binning of ``sst1m-make-irfs``
   (the synthetic bank of the DL3 tests, ``tests/dl3/synthetic_bank.py``).
3. ``DL2ToDL3Tool`` in-process (imports and the IERS table loaded before the clock starts),
   once with ``--interpolation linear`` (granularity wobble: one observation of all events)
   and once with ``--granularity run`` (R observations: the per-observation cost), and the
   interpolation alone (``IrfGrid``): building the estimators once, then per observation.

Requirement: 10⁶ events in ≤ 10 s on one core, interpolation ≤ 0.5 s per observation.
Printed: wall times, events/s, and measured/required ratios side by side.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
from astropy.coordinates import AltAz, SkyCoord  # noqa: E402
from astropy.table import QTable, Table  # noqa: E402
from astropy.time import Time  # noqa: E402
from ctapipe.core import run_tool  # noqa: E402
from ctapipe.io import write_table  # noqa: E402

from ctapipe_sst1m.instrument.subarray import sst1m_subarray  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "dl3"))

REQUIRED_EVENTS_S = 10.0  # for 10^6 events
REQUIRED_INTERP_S = 0.5
RUN_S = 40.0
CRAB = SkyCoord(83.6331 * u.deg, 22.0145 * u.deg)


def write_dl2(path, n_events, n_runs, seed=1):
    """The synthetic stereo DL2 file of the module docstring."""
    rng = np.random.default_rng(seed)
    subarray = sst1m_subarray()
    subarray.to_hdf(path, overwrite=True)
    location = subarray.reference_location
    wobble = SkyCoord(CRAB.ra, CRAB.dec + 0.4 * u.deg)
    start0 = Time("2024-03-05T20:00:00", scale="utc")
    per_run = np.full(n_runs, n_events // n_runs)
    per_run[: n_events % n_runs] += 1
    obs_ids = 202403050000 + np.arange(1, n_runs + 1)
    blocks, times, ids = [], [], []
    for k, (obs_id, n) in enumerate(zip(obs_ids, per_run, strict=True)):
        start = start0 + k * RUN_S * u.s
        blocks.append((obs_id, start))
        dt = np.sort(rng.uniform(0, RUN_S, n))
        times.append(start.tai + dt * u.s)
        ids.append(np.full(n, obs_id))
    obs = np.concatenate(ids)
    time = Time(np.concatenate([t.jd1 for t in times]), np.concatenate([t.jd2 for t in times]),
                format="jd", scale="tai")  # fmt: skip
    event_id = np.concatenate([np.arange(1, n + 1) for n in per_run])
    block = QTable()
    block["obs_id"] = obs_ids
    block["sb_id"] = obs_ids.astype(np.uint64)
    block["producer_id"] = "SST-1M"
    block["state"] = -1
    block["subarray_pointing_lat"] = np.full(n_runs, wobble.dec.deg) * u.deg
    block["subarray_pointing_lon"] = np.full(n_runs, wobble.ra.deg) * u.deg
    block["subarray_pointing_frame"] = 1
    block["scheduled_duration"] = np.full(n_runs, np.nan) * u.min
    block["scheduled_start_time"] = Time([s for _, s in blocks]).tai
    block["actual_start_time"] = Time([s for _, s in blocks]).tai
    block["actual_duration"] = np.full(n_runs, RUN_S / 60) * u.min
    write_table(block, path, "/configuration/observation/observation_block")
    # tracking: one row per second per telescope
    t_pnt = start0 + np.arange(-1, n_runs * RUN_S + 2) * u.s
    altaz = wobble.transform_to(AltAz(obstime=t_pnt, location=location))
    for tel_id in (21, 22):
        pnt = Table({"time": t_pnt.tai, "azimuth": altaz.az.to(u.rad),
                     "altitude": altaz.alt.to(u.rad)})  # fmt: skip
        write_table(pnt, path, f"/dl0/monitoring/telescope/pointing/tel_{tel_id:03d}")
    trigger = Table()
    trigger["obs_id"], trigger["event_id"], trigger["time"] = obs, event_id, time
    trigger["tels_with_trigger"] = np.ones((len(obs), 2), dtype=bool)
    trigger["event_type"] = np.full(len(obs), 32)
    write_table(trigger, path, "/dl1/event/subarray/trigger")
    # reconstructed directions around the pointing (events' own pointing ~ the wobble)
    pnt_alt = np.interp(time.mjd, t_pnt.tai.mjd, altaz.alt.deg)
    pnt_az = np.interp(time.mjd, t_pnt.tai.mjd, altaz.az.deg)
    both = np.ones((len(obs), 2), dtype=bool)
    tables_ = {
        "energy/RandomForestRegressor": {
            "RandomForestRegressor_energy": 10 ** rng.uniform(-0.5, 2, len(obs)) * u.TeV,
            "RandomForestRegressor_is_valid": np.ones(len(obs), bool),
            "RandomForestRegressor_telescopes": both,
        },
        "geometry/disp": {
            "disp_alt": (pnt_alt + rng.normal(0, 1, len(obs))) * u.deg,
            "disp_az": (pnt_az + rng.normal(0, 1.5, len(obs))) * u.deg,
            "disp_is_valid": np.ones(len(obs), bool),
            "disp_telescopes": both,
        },
        "particle_type/RandomForestClassifier": {
            "RandomForestClassifier_prediction": rng.uniform(0, 1, len(obs)),
            "RandomForestClassifier_is_valid": np.ones(len(obs), bool),
            "RandomForestClassifier_telescopes": both,
        },
    }
    for name, columns in tables_.items():
        table = Table({"obs_id": obs, "event_id": event_id, **columns})
        write_table(table, path, f"/dl2/event/subarray/{name}")
    # RA/Dec as sst1m-dl1-dl2 writes them for observed data (/dl2/event/subarray/sky/<prefix>)
    from ctapipe_sst1m.reco.sky import horizontal_to_icrs

    geo = tables_["geometry/disp"]
    ra, dec = horizontal_to_icrs(geo["disp_alt"], geo["disp_az"], time, location)
    sky = Table({"obs_id": obs, "event_id": event_id, "disp_ra": ra, "disp_dec": dec})
    write_table(sky, path, "/dl2/event/subarray/sky/disp")
    models = Table({"kind": ["energy", "disp", "classifier"],
                    "prefix": ["RandomForestRegressor", "disp", "RandomForestClassifier"],
                    "sha256": ["0" * 64] * 3})  # fmt: skip
    models.meta["mode"] = "stereo"
    models.meta["node"] = json.dumps({"zenith_deg": 30.0, "azimuth_deg": 0.0, "nsb": None})
    write_table(models, path, "/dl2/sst1m_models")
    return path


def _tool(argv):
    from ctapipe_sst1m.tools.dl2_dl3 import DL2ToDL3Tool

    start = time.perf_counter()
    assert run_tool(DL2ToDL3Tool(), argv=[str(a) for a in argv], raises=True) == 0
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_dl3_"))
    work.mkdir(parents=True, exist_ok=True)
    from synthetic_bank import make_bank

    from ctapipe_sst1m.dl3.irf_interpolation import IrfGrid, select_nodes
    from ctapipe_sst1m.reco.sky import horizontal_to_icrs

    dl2 = work / "synthetic.stereo.dl2.h5"
    if not dl2.exists():
        t0 = time.perf_counter()
        write_dl2(dl2, args.events, args.runs)
        took = time.perf_counter() - t0
        print(f"synthetic DL2: {args.events} events, {args.runs} runs ({took:.0f} s)")
    bank = work / "bank"
    if not bank.exists():
        make_bank(bank)
    # warm-up outside the clock: imports, IERS table
    site = sst1m_subarray().reference_location
    horizontal_to_icrs([60] * u.deg, [180] * u.deg, Time("2024-03-05T20:00:00"), site)
    prov = f"--provenance-log={work / 'prov.log'}"
    common = ["-i", dl2, "--irfs", bank, "--target", "Crab", prov, "--overwrite"]
    out = work / "dl3_wobble"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    t_wobble = _tool([*common, "--output-dir", out, "--ObservationGrouper.max_gap=5 s"])
    out_run = work / "dl3_run"
    shutil.rmtree(out_run, ignore_errors=True)
    out_run.mkdir()
    t_run = _tool([*common, "--output-dir", out_run, "--granularity", "run"])
    nodes = select_nodes(bank, "stereo")
    t0 = time.perf_counter()
    grid = IrfGrid(nodes)
    grid(np.cos(np.deg2rad(25.0)), 0.0, "linear")
    t_first = time.perf_counter() - t0
    targets = np.cos(np.deg2rad(np.linspace(21, 39, 10)))
    t0 = time.perf_counter()
    for target in targets:
        grid(target, 0.0, "linear")
    t_interp = (time.perf_counter() - t0) / len(targets)
    scale = 1e6 / args.events
    print(f"\n{'case':42s} {'measured':>10s} {'required':>10s} {'ratio':>6s}")
    rows = [
        (f"DL2->DL3, {args.events} events, 1 observation", t_wobble, REQUIRED_EVENTS_S / scale),
        (f"DL2->DL3, {args.events} events, {args.runs} observations", t_run,
         REQUIRED_EVENTS_S / scale),
        ("interpolation per observation (linear)", t_interp, REQUIRED_INTERP_S),
        ("interpolation, first call (reads nodes)", t_first, float("nan")),
    ]  # fmt: skip
    for name, measured, required in rows:
        print(f"{name:42s} {measured:9.2f}s {required:9.2f}s {measured / required:6.2f}")
    print(f"events/s (1 observation): {args.events / t_wobble:,.0f}")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
