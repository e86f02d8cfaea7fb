"""Seed-averaged bias of the closure chain: is the fitted Crab spectrum unbiased on average?

The closure test (``tests/test_closure.py``) checks one toy night; issue #18 also asks that over a
few seeds the fitted spectrum shows no bias larger than 1σ on average. This script runs that:

1. the shared chain products of the test suite (``tests/helpers/chain.py``: toy MC at 20°, 30°,
   40°, forests, IRF bank) are built once into ``--chain DIR`` (reused when it exists);
2. for every seed, a new toy night (``build_night``: 8 × 40 s, Crab log-parabola × 40) goes
   through ``sst1m-dl1-stereo`` → ``sst1m-dl1-dl2`` → ``sst1m-dl2-dl3`` (stereo) →
   ``sst1m-high-level`` (θ² and spectrum, the closure test's settings);
3. per seed the pulls (fit − injected) / error of the amplitude at 1 TeV and of α are printed,
   then their mean with its error (std / √n) and the verdict |mean| < 1.

Run: ``python benchmarks/bench_closure.py [--seeds 11 12 13 14 15] [--chain DIR]``. A seed takes
about 1.5 min on one core, the chain about 8 min the first time.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))

from chain import Chain, build_chain, build_night, injected_spectrum  # noqa: E402

HL_CONFIG = """
SpectrumAnalysis:
  reference_energy: 1 TeV
  true_bins_per_decade: 10
  n_flux_points: 5
  safe_mask_methods: [aeff-max]
"""


def _tool(tool, argv, cwd):
    from ctapipe.core import run_tool

    argv = [str(a) for a in argv] + [f"--provenance-log={cwd / 'provenance.log'}"]
    if run_tool(tool, argv=argv, cwd=cwd, raises=True) != 0:
        raise SystemExit(f"{tool.name} failed: {argv}")


def analyse(chain, night_root):
    """DL3 and high-level products of one night; returns its summary.json."""
    from ctapipe_sst1m.tools.dl2_dl3 import DL2ToDL3Tool
    from ctapipe_sst1m.tools.high_level import HighLevelTool

    dl3, hl = night_root / "dl3", night_root / "hl"
    argv = ["-i", night_root / "stereo.dl2.h5", "--irfs", chain.irf_bank, "--output-dir", dl3,
            "--target", "Crab", "--tel-setup=stereo", "--overwrite"]  # fmt: skip
    _tool(DL2ToDL3Tool(), argv, night_root)
    config = night_root / "hl.yaml"
    config.write_text(HL_CONFIG)
    argv = ["-i", dl3, "--target", "Crab", "--output-dir", hl, "--model", "logparabola",
            "--energy-range", "1", "20", "--n-off", "3", "--analyses", "theta2,spectrum",
            "-c", config, "--overwrite"]  # fmt: skip
    _tool(HighLevelTool(), argv, night_root)
    return json.loads((hl / "summary.json").read_text())


def pulls(summary, truth):
    """(amplitude pull, α pull) of the fit against the injected log-parabola."""
    import astropy.units as u

    injected = injected_spectrum(truth)
    pars = summary["spectrum"]["parameters"]
    amp = injected(1 * u.TeV).to_value("TeV-1 cm-2 s-1")
    return (
        (pars["amplitude"]["value"] - amp) / pars["amplitude"]["error"],
        (pars["alpha"]["value"] - injected.alpha.value) / pars["alpha"]["error"],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15])
    parser.add_argument("--chain", type=Path, help="chain products directory (built if missing)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.chain or Path(tmp) / "chain").absolute()
        chain = Chain(root) if (root / "irf_bank").is_dir() else build_chain(root)
        rows = []
        for seed in args.seeds:
            night = build_night(root, chain, seed=seed, night_root=root / f"bias_seed{seed}")
            truth = json.loads((night / "dl1" / "truth.json").read_text())
            p_amp, p_alpha = pulls(analyse(chain, night), truth)
            rows.append((p_amp, p_alpha))
            print(f"seed {seed}: pulls amplitude {p_amp:+.2f}, alpha {p_alpha:+.2f}", flush=True)
    rows = np.array(rows)
    n = len(rows)
    for k, name in enumerate(("amplitude", "alpha")):
        mean, err = rows[:, k].mean(), rows[:, k].std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        verdict = "ok" if abs(mean) < 1 else "BIASED"
        print(f"{name}: mean pull {mean:+.2f} ± {err:.2f} over {n} seeds ({verdict}: |mean| < 1)")


if __name__ == "__main__":
    main()
