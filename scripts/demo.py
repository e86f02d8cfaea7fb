"""The main job on the embedded default data (``make demo``).

Runs the chain as far as it exists, each step as the command a user would type, and prints a
short summary after each step. Products go into ``--output-dir`` (default ``demo_output``).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SST1M_SHARED_DIR", REPO.parent / "shared"))
CALIBRATION_TEL1 = SHARED / "reference/sst1mpipe-data/averaged_calib_param_v2_2023_2024_tel1.h5"
CALIBRATION_TEL2 = SHARED / "reference/sst1mpipe-data/averaged_calib_param_v2_2023_2024_tel2.h5"

# toy MC sample sizes: enough for forests that learn something, small enough for a few minutes
TOY = {
    "gamma_diffuse_train": ("gamma-diffuse", 120_000, 1),
    "proton_train": ("proton", 250_000, 1),
    "gamma_point_test": ("gamma", 40_000, 2),
    "proton_test": ("proton", 100_000, 2),
}
# the toy protons rarely trigger over the full 1200 m / 10 deg throw; a narrower throw keeps the
# demo short (the bookkeeping records it, so rates and IRFs stay consistent)
PROTON_CONFIG = {"ShowerGenerator": {"max_scatter_range": 600.0, "viewcone": 5.0}}


def run(command, log):
    """Run one command, echo it, stream its output to a log file; stop the demo on failure."""
    exe = shutil.which(command[0], path=str(BIN)) or command[0]
    if command[0].startswith(("sst1m-", "ctapipe-")):
        command = [*command, "--provenance-log", Path(log).with_suffix(".provenance.log")]
    print(f"\n$ {' '.join(map(str, command))}", flush=True)
    start = time.perf_counter()
    with open(log, "w") as log_file:
        proc = subprocess.run(
            [exe, *map(str, command[1:])], stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    print(proc.stdout, end="")
    if proc.returncode != 0:
        print(f"demo: '{command[0]}' failed (exit {proc.returncode}); see {log}", file=sys.stderr)
        sys.exit(proc.returncode)
    print(f"  ({time.perf_counter() - start:.1f} s)")
    return proc.stdout


def step_instrument(out):
    run(
        ["sst1m-info", "--output-dir", out / "instrument", "--overwrite"], out / "logs" / "info.log"
    )


#: the example files carry no TARGET header; the demo says where the telescope pointed (Crab)
DEMO_POINTING = ["--SST1MEventSource.pointing_ra=83.633", "--SST1MEventSource.pointing_dec=22.0145"]
REAL_FILES = {
    # name in demo_output: (file in the protozfits wheel, calibration of that telescope)
    "SST1M2_20180822": ("example_SST1M_20180822.fits.fz", CALIBRATION_TEL2),
    "SST1M1_20171031": ("example_100evts.fits.fz", CALIBRATION_TEL1),
}


def step_real_data(out):
    """The real DigiCam samples shipped with protozfits (2018 tel 22, 2017 tel 21), raw → DL1."""
    from importlib.resources import files

    resources = Path(str(files("protozfits") / "tests/resources"))
    (out / "real_data").mkdir(parents=True, exist_ok=True)
    for name, (raw, calibration_file) in REAL_FILES.items():
        if calibration_file.is_file():
            calibration = f"--DigiCamR0Corrections.calibration_file={calibration_file}"
        else:
            calibration = "--DigiCamR0Corrections.use_nominal_calibration=True"
            print(f"calibration: nominal ({calibration_file} not found)")
        dl1 = out / "real_data" / f"{name}.dl1.h5"
        run(
            ["sst1m-r0-dl1", "-i", resources / raw, "-o", dl1, calibration, *DEMO_POINTING]
            + ["--overwrite"],
            out / "logs" / f"r0_dl1_{name}.log",
        )


def step_toy_mc(out):
    """A small toy production: DL1 with stereo geometry, straight from the toy simulator."""
    mc = out / "toy_mc"
    mc.mkdir(parents=True, exist_ok=True)
    proton_cfg = mc / "proton_throw.json"
    proton_cfg.write_text(json.dumps(PROTON_CONFIG))
    for name, (particle, n_showers, seed) in TOY.items():
        dl1 = mc / f"{name}.dl1.h5"
        cmd = [
            "sst1m-simulate",
            "--particle",
            particle,
            "--n-showers",
            n_showers,
            "--seed",
            seed,
            "-o",
            dl1,
            "--overwrite",
        ]
        if particle == "proton":
            cmd += ["-c", proton_cfg]
        run(cmd, out / "logs" / f"simulate_{name}.log")
    _print_triggered(mc)


def _print_triggered(mc):
    import tables

    print("triggered events (telescope images / stereo events) per sample:")
    for name, (_, n_showers, _) in TOY.items():
        with tables.open_file(mc / f"{name}.dl1.h5") as h5:
            trig = h5.root.dl1.event.subarray.trigger.col("tels_with_trigger")
        n_stereo = int((trig.sum(axis=1) >= 2).sum())
        print(
            f"  {name:22s} {n_showers:8d} showers -> {len(trig):6d} events, "
            f"{int(trig.sum()):6d} images, {n_stereo:5d} stereo"
        )


def step_training(out):
    """Random forests (energy, disp, gamma/hadron) for mono and stereo, with the report."""
    mc, models = out / "toy_mc", out / "models"
    run(
        [
            "sst1m-train-models",
            "--gamma",
            mc / "gamma_diffuse_train.dl1.h5",
            "--proton",
            mc / "proton_train.dl1.h5",
            "-o",
            models,
            "--overwrite",
        ],
        out / "logs" / "train.log",
    )
    print(f"report: {models / 'report'}/*.png")


def step_dl2(out):
    """Apply the models to the independent test samples (mono and stereo)."""
    mc, dl2 = out / "toy_mc", out / "dl2"
    dl2.mkdir(parents=True, exist_ok=True)
    for name in ("gamma_point_test", "proton_test"):
        run(
            [
                "sst1m-dl1-dl2",
                "-i",
                mc / f"{name}.dl1.h5",
                "-m",
                out / "models",
                "-o",
                dl2 / f"{name}.dl2.h5",
                "--overwrite",
            ],
            out / "logs" / f"dl2_{name}.log",
        )
    _print_performance(out / "models" / "performance.json")


def _at(perf, key, energy_tev):
    bins = perf["energy_bins_tev"]
    for i in range(len(bins) - 1):
        if bins[i] <= energy_tev < bins[i + 1]:
            value = perf[key][i]
            return "   -  " if value is None else f"{value:6.2f}"
    return "   -  "


def _print_performance(path):
    perf = json.loads(Path(path).read_text())
    print(
        "performance on the held-out toy MC (energy resolution / bias, 68 % angular "
        "resolution [deg], AUC):"
    )
    energies = (1.0, 3.0, 10.0)
    header = "  ".join(f"{e:>4.0f} TeV: res   bias   psf" for e in energies)
    print(f"  {'':10s} {header}   AUC")
    for mode, entries in perf.items():
        for label, entry in entries.items():
            cells = "  ".join(
                f"{_at(entry, 'energy_resolution', e)} {_at(entry, 'energy_bias', e)} "
                f"{_at(entry, 'angular_resolution_68_deg', e)}"
                for e in energies
            )
            name = label if mode == "mono" else "stereo"
            print(f"  {name:10s} {cells}   {entry['auc']:.3f}")


def step_real_dl2(out):
    """The real 2017 tel-21 DL1 (with its tracking pointing) through the toy-MC mono models
    (the 2018 sample is NSB only: one image survives cleaning)."""
    dl1 = out / "real_data" / "SST1M1_20171031.dl1.h5"
    run(
        [
            "sst1m-dl1-dl2",
            "-i",
            dl1,
            "-m",
            out / "models",
            "--mode",
            "mono",
            "-o",
            dl1.with_name("SST1M1_20171031.dl2.h5"),
            "--overwrite",
        ],
        out / "logs" / "real_dl1_dl2.log",
    )


def step_irfs(out):
    """Cuts, a point-like IRF file for the toy node and the performance plots (stereo)."""
    dl2, irf = out / "dl2", out / "irf"
    irf.mkdir(parents=True, exist_ok=True)
    gamma, proton = dl2 / "gamma_point_test.dl2.h5", dl2 / "proton_test.dl2.h5"
    cuts = irf / "cuts.fits"
    events = ["--gamma", gamma, "--proton", proton]
    run(
        ["sst1m-optimize-cuts", *events, "-o", cuts, "--method", "efficiency"]
        + ["--min-events", 30, "--overwrite"],
        out / "logs" / "optimize_cuts.log",
    )
    run(
        [
            "sst1m-make-irfs",
            *events,
            "--cuts",
            cuts,
            "--point-like",
            "--output-dir",
            irf / "bank",
            "--overwrite",
        ],
        out / "logs" / "make_irfs.log",
    )
    run(["sst1m-irf-bank", irf / "bank"], out / "logs" / "irf_bank.log")
    run(
        [
            "sst1m-performance",
            *events,
            "--cuts",
            cuts,
            "--min-events",
            5,
            "--output-dir",
            irf / "performance",
            "--overwrite",
        ],
        out / "logs" / "performance.log",
    )


def step_night(out):
    """A short toy observation night of both telescopes, matched into stereo events."""
    night = out / "night"
    night.mkdir(parents=True, exist_ok=True)
    run(
        [
            "sst1m-simulate-night",
            "--date",
            "2024-03-05",
            "--target",
            "Crab",
            "--n-runs",
            4,
            "--runs-per-wobble",
            1,
            "--seed",
            1,
            "--output-dir",
            night / "dl1",
            "--overwrite",
            "--ObservingConditions.cloud_runs=[3]",
            # back-to-back runs near the Crab's culmination (28°), where the demo's 20° models
            # apply; the default spreads the runs until 45°
            "--NightSchedule.spread_runs=False",
        ],
        out / "logs" / "simulate_night.log",
    )
    run(
        [
            "sst1m-dl1-stereo",
            "--tel1",
            night / "dl1" / "SST1M1_*.dl1.h5",
            "--tel2",
            night / "dl1" / "SST1M2_*.dl1.h5",
            "-o",
            night / "stereo.dl1.h5",
            "--method",
            "auto",
            "--overwrite",
        ],
        out / "logs" / "night_stereo.log",
    )


def step_dl3(out):
    """The toy night's stereo DL2 (demo models), DL3 with the demo's IRF bank, and its index."""
    night = out / "night"
    dl2, dl3 = night / "stereo.dl2.h5", night / "dl3"
    dl3.mkdir(parents=True, exist_ok=True)
    run(
        ["sst1m-dl1-dl2", "-i", night / "stereo.dl1.h5", "-m", out / "models", "-o", dl2]
        + ["--mode", "stereo", "--overwrite"],
        out / "logs" / "night_dl1_dl2.log",
    )
    run(
        ["sst1m-dl2-dl3", "-i", dl2, "--irfs", out / "irf" / "bank", "--output-dir", dl3]
        + ["--target", "Crab", "--overwrite"],
        out / "logs" / "night_dl2_dl3.log",
    )
    run(["sst1m-create-index", "-i", dl3, "-o", dl3], out / "logs" / "night_index.log")
    from astropy.table import Table

    obs = Table.read(dl3 / "obs-index.fits.gz")
    print("DL3 observations of the toy night (gammapy: DataStore.from_dir):")
    for row in obs:
        print(
            f"  OBS_ID {row['OBS_ID']}  zenith {row['ZEN_PNT']:5.1f} deg  livetime"
            f" {row['LIVETIME']:6.1f} s  DEADC {row['DEADC']:.5f}  events {row['EVENT_COUNT']}"
        )


def step_high_level(out):
    """θ², sky map, spectrum and light curve of the toy night from its DL3 index."""
    index, hl = out / "night" / "dl3", out / "high_level"
    hl.mkdir(parents=True, exist_ok=True)
    run(
        ["sst1m-high-level", "-i", index, "--target", "Crab", "--output-dir", hl]
        + ["--model", "logparabola", "--n-off", "3", "--overwrite"],
        out / "logs" / "high_level.log",
    )
    summary = json.loads((hl / "summary.json").read_text())
    t = summary.get("theta2", {})
    print(
        f"theta2: N_on {t.get('n_on')}  N_off {t.get('n_off')}  alpha {t.get('alpha', 0):.3f}"
        f"  excess {t.get('excess', 0):.1f}  Li&Ma {t.get('significance', 0):.1f} sigma"
        f"  ({t.get('livetime_h', 0) * 60:.1f} min)"
    )
    fit = summary.get("spectrum", {})
    if fit.get("detection"):
        det = fit["detection"]
        print(f"spectrum: TS {det['ts']:.1f} ({det['significance']:.1f} sigma)")
    print(f"products in {hl}/ (PNGs, FITS, summary.json)")


STEPS = [
    ("instrument summary", step_instrument),
    ("real DigiCam data: R0 -> DL1", step_real_data),
    ("toy Monte Carlo production", step_toy_mc),
    ("random-forest training", step_training),
    ("DL1 -> DL2 on test samples", step_dl2),
    ("real DigiCam data: DL1 -> DL2 (mono)", step_real_dl2),
    ("cuts, IRFs and performance", step_irfs),
    ("toy observation night: DL1 of both telescopes -> stereo", step_night),
    ("toy observation night: stereo DL2 -> DL3 and index", step_dl3),
    ("toy observation night: high-level analysis", step_high_level),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=Path("demo_output"))
    args = parser.parse_args(argv)
    out = args.output_dir
    (out / "logs").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for title, step in STEPS:
        print(f"\n=== {title} ===", flush=True)
        step(out)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s; products in {out}/")


if __name__ == "__main__":
    main()
