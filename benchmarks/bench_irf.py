"""Speed and memory of sst1m-make-irfs against stock ctapipe-compute-irf on the same DL2.

Run with ``python benchmarks/bench_irf.py`` (about 10 min on one core for the default 10⁶ gamma
+ 10⁶ proton events; ``--events N`` to change the size, ``--work-dir DIR`` to keep and reuse
the synthetic files). Steps:

1. A tiny toy run (``sst1m-simulate``, 300 showers) provides the instrument, the simulation
   configuration tables and templates of the trigger and shower tables.
2. Large **synthetic** stereo DL2 files are written with ctapipe's writers (simulating and
   reconstructing 10⁶ triggered toy events would take many hours): diffuse gammas (6° view
   cone) and protons (10°) with a power-law spectrum, reconstructed energy and direction
   smeared around the truth, gammaness from two beta distributions, the three ctapipe DL2
   subarray tables (``RandomForestRegressor``, ``disp``, ``RandomForestClassifier``) and the
   simulation tables (``/configuration/simulation/run`` and the thrown-shower histogram)
   consistent with the number of thrown showers.
3. One cuts file (``sst1m-optimize-cuts --method global``), then, each in its own process:
   stock ``ctapipe-compute-irf -c irf_stock.yaml`` and ``sst1m-make-irfs`` with the same cuts
   and binning. Wall time and peak resident memory (``/usr/bin/time``) are printed side by side
   with their ratio; ``sst1m-make-irfs`` also on a quarter of the files, to show that its peak
   memory does not grow with the input (the DL2 is read in chunks). The command-line wall time
   includes the start-up (imports, ~5-20 s depending on the machine's load), so both tools are
   also timed once more with the imports done before the clock starts.

Measured on the shared 2-core development machine (load average 7-12 from other jobs, so
wall times vary by up to 2x between runs), 10⁶ + 10⁶ events, three runs of the command line:
sst1m-make-irfs 63 / 70 / 57 s, stock 119 / 62 / 117 s (ratios 1.9, 0.9, 2.1); without
start-up 47 s against 87 s (1.8x), and 15.6 s against 33.8 s (2.2x) when both ran in one warm
process. Peak RSS 577 MB against 1246-1261 MB; sst1m-make-irfs 517 MB on a quarter of the
input (ratio 1.12: flat above the ~450 MB of imported libraries).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
import tables  # noqa: E402
from astropy.table import QTable  # noqa: E402
from ctapipe.io import write_table  # noqa: E402

from ctapipe_sst1m.core.config import packaged_config_path  # noqa: E402
from ctapipe_sst1m.simulation import make_toy_file  # noqa: E402

BIN = Path(sys.executable).parent
CHUNK = 200_000
PREFIXES = {
    "energy": "RandomForestRegressor",
    "geometry": "disp",
    "particle_type": "RandomForestClassifier",
}


def _template(work):
    path = work / "template.h5"
    if not path.exists():
        make_toy_file(path, "gamma-diffuse", 300, seed=1)
    return path


def _copy_rows(h5, template, path, n, fill):
    """A table at ``path`` with the template node's columns and attributes, ``n`` rows."""
    src = template.get_node(path)
    where, name = path.rsplit("/", 1)
    dst = h5.create_table(
        where,
        name,
        description=src.description,
        createparents=True,
        filters=src.filters,
        expectedrows=n,
    )
    for key in src.attrs._f_list("user"):
        dst.attrs[key] = src.attrs[key]
    proto = src.read(0, 1)
    for start in range(0, n, CHUNK):
        rows = np.repeat(proto, min(CHUNK, n - start))
        fill(rows, start)
        dst.append(rows)


def synthesise(path, particle, n, seed, template_path, pointing_alt=70.0):
    """Write a synthetic stereo MC DL2 file of ``n`` events (see module docstring)."""
    rng = np.random.default_rng(seed)
    shutil.copy(template_path, path)
    viewcone = 6.0 if particle == "gamma" else 10.0
    e_min, e_max, index = (0.2, 300.0, -2.0) if particle == "gamma" else (0.4, 300.0, -2.0)
    thrown = 20 * n
    with tables.open_file(template_path) as tpl, tables.open_file(path, "a") as h5:
        for group in ("/dl1/event", "/simulation/event"):
            h5.remove_node(group, recursive=True)
        truth = {}

        def draw(start, size):
            u01 = rng.random(size)
            g = index + 1
            energy = (e_min**g + u01 * (e_max**g - e_min**g)) ** (1 / g)
            r = np.rad2deg(np.arccos(1 - rng.random(size) * (1 - np.cos(np.deg2rad(viewcone)))))
            phi = rng.uniform(0, 2 * np.pi, size)
            alt = pointing_alt + r * np.cos(phi)
            az = (r * np.sin(phi) / np.cos(np.deg2rad(alt))) % 360
            truth[start] = (energy, alt, az)
            return energy, alt, az

        def trigger(rows, start):
            rows["event_id"] = np.arange(start, start + len(rows)) + 1
            rows["tels_with_trigger"] = True

        def shower(rows, start):
            energy, alt, az = draw(start, len(rows))
            rows["event_id"] = np.arange(start, start + len(rows)) + 1
            rows["true_energy"], rows["true_alt"], rows["true_az"] = energy, alt, az
            rows["true_shower_primary_id"] = 0 if particle == "gamma" else 101

        _copy_rows(h5, tpl, "/dl1/event/subarray/trigger", n, trigger)
        _copy_rows(h5, tpl, "/simulation/event/subarray/shower", n, shower)
        run = h5.get_node("/configuration/simulation/run")
        run.modify_column(0, 1, colname="n_showers", column=[thrown])
        run.modify_column(0, 1, colname="shower_reuse", column=[1])
        run.modify_column(0, 1, colname="max_viewcone_radius", column=[viewcone])
        run.modify_column(0, 1, colname="energy_range_min", column=[e_min])
        dist = h5.get_node("/simulation/service/shower_distribution")
        dist.modify_column(0, 1, colname="n_entries", column=[thrown])
        block = h5.get_node("/configuration/observation/observation_block")
        block.modify_column(0, 1, colname="subarray_pointing_lat", column=[pointing_alt])
    for start in range(0, n, CHUNK):
        energy, alt, az = truth[start]
        size = len(energy)
        ids = np.arange(start, start + size) + 1
        both = np.ones((size, 2), dtype=bool)
        spread = 0.12 if particle == "gamma" else 0.5
        columns = {
            "energy": {
                "RandomForestRegressor_energy": energy * np.exp(rng.normal(0, 0.2, size)) * u.TeV
            },
            "geometry": {
                "disp_alt": (alt + rng.normal(0, spread, size)) * u.deg,
                "disp_az": (az + rng.normal(0, spread, size)) * u.deg,
            },
            "particle_type": {
                "RandomForestClassifier_prediction": rng.beta(5, 1.5, size)
                if particle == "gamma"
                else rng.beta(1.5, 5, size)
            },
        }
        for kind, prefix in PREFIXES.items():
            table = QTable(
                {
                    "obs_id": np.ones(size, dtype=np.int64),
                    "event_id": ids,
                    **columns[kind],
                    f"{prefix}_is_valid": np.ones(size, bool),
                    f"{prefix}_telescopes": both,
                }
            )
            write_table(table, path, f"/dl2/event/subarray/{kind}/{prefix}", append=True)
    return path


def timed(cmd, cwd):
    """(wall seconds, peak RSS MB) of a command run in its own process."""
    t0 = time.perf_counter()
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *map(str, cmd)], cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        print(out.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    return wall, int(out.stderr.strip().splitlines()[-1]) / 1024


INPROCESS = """
import sys, time
from ctapipe.core import run_tool
from ctapipe.tools.compute_irf import IrfTool
from ctapipe_sst1m.tools.make_irfs import MakeIrfsTool
tool = {"stock": IrfTool, "sst1m": MakeIrfsTool}[sys.argv[1]]()
t0 = time.perf_counter()
assert run_tool(tool, sys.argv[2:], raises=True) == 0
print(time.perf_counter() - t0)
"""


def inprocess(kind, argv, cwd):
    """Seconds of the tool's own run (imports done before the clock starts)."""
    out = subprocess.run(
        [sys.executable, "-c", INPROCESS, kind, *map(str, argv)],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_irf_"))
    work.mkdir(parents=True, exist_ok=True)
    template = _template(work)
    files = {}
    for n, tag in ((args.events, "full"), (args.events // 4, "quarter")):
        for particle, seed in (("gamma", 1), ("proton", 2)):
            path = work / f"{particle}_{tag}.dl2.h5"
            if not path.exists():
                t0 = time.perf_counter()
                synthesise(path, particle, n, seed, template)
                print(f"synthesised {path.name} ({n} events) in {time.perf_counter() - t0:.0f} s")
            files[particle, tag] = path
    prov = f"--provenance-log={work / 'prov.log'}"
    py = sys.executable
    cuts = work / "cuts.fits"
    subprocess.run(
        [
            py,
            "-m",
            "ctapipe_sst1m.tools.optimize_cuts",
            f"--gamma={files['gamma', 'quarter']}",
            f"--output={cuts}",
            "--method=global",
            "--global-gammaness=0.6",
            "--overwrite",
            prov,
        ],
        check=True,
        cwd=work,
    )
    results = {}
    for tag in ("full", "quarter"):
        g, p = files["gamma", tag], files["proton", tag]
        ours = [
            py,
            "-m",
            "ctapipe_sst1m.tools.make_irfs",
            f"--gamma={g}",
            f"--proton={p}",
            f"--cuts={cuts}",
            f"--output-dir={work / ('bank_' + tag)}",
            "--overwrite",
            prov,
        ]
        results["sst1m-make-irfs", tag] = timed(ours, work)
        if tag == "full":
            stock = [
                BIN / "ctapipe-compute-irf",
                f"--config={packaged_config_path('irf_stock.yaml')}",
                f"--gamma-file={g}",
                f"--proton-file={p}",
                f"--cuts={cuts}",
                f"--output={work / 'stock.fits.gz'}",
                "--overwrite",
                prov,
            ]
            results["ctapipe-compute-irf", tag] = timed(stock, work)
            run_only = {
                "stock": inprocess("stock", stock[1:], work),
                "sst1m": inprocess("sst1m", ours[3:], work),
            }
    n = args.events
    print(f"\nIRFs from {n} gamma + {n} proton events (one core):")
    print(f"{'command':24s} {'events':>9s} {'wall [s]':>9s} {'peak RSS [MB]':>14s}")
    for (name, tag), (wall, rss) in results.items():
        events = n if tag == "full" else n // 4
        print(f"{name:24s} {events:9d} {wall:9.1f} {rss:14.0f}")
    ours, stock = results["sst1m-make-irfs", "full"], results["ctapipe-compute-irf", "full"]
    quarter = results["sst1m-make-irfs", "quarter"]
    print(
        f"\nspeed: stock / sst1m-make-irfs wall time = {stock[0] / ours[0]:.2f}"
        f" (>= 1 means at least as fast as stock)"
    )
    t_stock, t_ours = run_only["stock"], run_only["sst1m"]
    print(
        f"speed without start-up (imports done before the clock): stock {t_stock:.1f} s,"
        f" sst1m-make-irfs {t_ours:.1f} s, ratio {t_stock / t_ours:.2f}"
    )
    print(
        f"memory: stock / sst1m-make-irfs peak RSS = {stock[1] / ours[1]:.2f}; sst1m-make-irfs"
        f" peak RSS at n / at n/4 = {ours[1] / quarter[1]:.2f} (1 = flat in input size)"
    )


if __name__ == "__main__":
    main()
