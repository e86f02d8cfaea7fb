"""The shared end-to-end products: toy MC at three zenith nodes, models, an IRF bank, a toy night.

Everything is made by the real commands (their Tool classes run in-process, which saves the
start-up of a process per step), in this order:

1. ``sst1m-simulate`` (telescope ids 21/22, i.e. data ids) at 30° zenith: diffuse gammas and
   protons for training; ``sst1m-train-models`` trains small mono + stereo forests on them
   (one model node, ``models/``).
2. Per IRF node (20°, 30°, 40° zenith, azimuth 0°): diffuse gammas and protons,
   ``sst1m-dl1-dl2`` in mono and stereo mode, ``sst1m-make-irfs`` for ``tel_021``, ``tel_022``
   and ``stereo``, full-enclosure and point-like, global gammaness cut `GAMMANESS_CUT` and θ cut
   `THETA_CUT` → ``irf_bank/`` (the layout of ``ctapipe_sst1m.irf.bank``).
3. ``sst1m-simulate-night``: a Crab night (SWAT era, log-parabola, source flux scaled by
   `SOURCE_FLUX_SCALE`), `N_RUNS` runs of `RUN_DURATION_S` s alternating two wobbles, runs spread
   over the night by a long gap so that the zenith grows from the Crab's culmination (28°) to
   about 40°; ``sst1m-dl1-stereo`` → ``night/stereo.dl1.h5``; ``sst1m-dl1-dl2`` → stereo DL2
   ``night/stereo.dl2.h5`` and mono DL2 per telescope and run ``night/dl2/SST1M{1,2}_*.dl2.h5``.

The models (at 30°) serve every node: the model selector's zenith tolerance is widened to
`MODEL_DELTA_COS_ZENITH` so that the 20° and 40° MC go through the same models as the data,
which is what the IRFs of a chain must describe.

Use it through the session fixture ``chain`` (tests/conftest.py): built once per test run even
with pytest-xdist (`shared_products.build_once`). Sizes are small (a few thousand triggered
events per sample): enough for the IRF, DL3 and high-level tests, not for physics.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from ctapipe.core import run_tool

__all__ = ["Chain", "build_chain", "build_night", "injected_spectrum", "ZENITH_NODES", "TEL_SETUPS"]

ZENITH_NODES = (20.0, 30.0, 40.0)
TRAINING_ZENITH = 30.0
TEL_SETUPS = ("tel_021", "tel_022", "stereo")
GAMMANESS_CUT = 0.6
THETA_CUT = "0.25 deg"
MODEL_DELTA_COS_ZENITH = 0.2

N_RUNS = 8
RUN_DURATION_S = 40.0
RUN_GAP = "900 s"
SOURCE_FLUX_SCALE = 40.0
NIGHT_SEED = 7
NIGHT_DATE = "2024-03-05"

#: particle -> (thrown showers, ShowerGenerator settings); a small scatter radius and view cone
#: raise the trigger fraction (the IRFs are normalised to what was thrown)
TRAINING = {"gamma-diffuse": 14_000, "proton": 36_000}
IRF_SAMPLE = {"gamma-diffuse": 10_000, "proton": 30_000}
GENERATOR = {
    "gamma-diffuse": {"max_scatter_range": 350.0, "viewcone": 3.0},
    "proton": {"max_scatter_range": 400.0, "viewcone": 4.0},
}

SMALL_FORESTS = """
EnergyRegressor:
  model_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 3}
DispReconstructor:
  norm_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 3}
  sign_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 3}
ParticleClassifier:
  model_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 3}
"""


@dataclass(frozen=True)
class Chain:
    """Paths of the shared products (all under ``root``)."""

    root: Path

    @property
    def models(self):
        """Model directory (one node, 30°) of ``sst1m-train-models``."""
        return self.root / "models"

    @property
    def irf_bank(self):
        """IRF bank: ``<tel_setup>/<node>/`` with full-enclosure and point-like files."""
        return self.root / "irf_bank"

    def mc_dl2(self, zenith, particle, mode):
        """MC DL2 of an IRF node: particle 'gamma-diffuse' or 'proton', mode 'mono'/'stereo'."""
        return self.root / "mc" / f"zen{zenith:02.0f}" / f"{particle}.{mode}.dl2.h5"

    @property
    def night(self):
        """The toy night's directory: DL1 runs ``SST1M{1,2}_YYYYMMDD_RRRR.dl1.h5``, truth."""
        return self.root / "night" / "dl1"

    @property
    def truth(self):
        """The night's truth.json, parsed."""
        return json.loads((self.night / "truth.json").read_text())

    @property
    def stereo_dl1(self):
        return self.root / "night" / "stereo.dl1.h5"

    @property
    def stereo_dl2(self):
        """Stereo DL2 of the whole night (every run in one file)."""
        return self.root / "night" / "stereo.dl2.h5"

    def mono_dl2(self, tel_id):
        """Mono DL2 files of one telescope (21 or 22), one per run, sorted by run."""
        prefix = {21: "SST1M1", 22: "SST1M2"}[tel_id]
        return sorted((self.root / "night" / "dl2").glob(f"{prefix}_*.dl2.h5"))

    @property
    def config(self):
        """Config file passed to every ``sst1m-dl1-dl2`` call of the chain."""
        return self.root / "dl2.yaml"


def _run(tool, argv, root):
    argv = [str(a) for a in argv] + [f"--provenance-log={root / 'provenance.log'}"]
    assert run_tool(tool, argv=argv, cwd=root, raises=True) == 0, argv


def _simulate(root, out, particle, n, seed, zenith):
    from ctapipe_sst1m.tools.simulate import SimulateTool

    generator = [f"--ShowerGenerator.{k}={v}" for k, v in GENERATOR[particle].items()]
    argv = [
        f"--particle={particle}",
        f"--n-showers={n}",
        f"--seed={seed}",
        f"--zenith={zenith} deg",
        "--telescopes=21",
        "--telescopes=22",
        f"--output={out}",
        "--SST1MToyEventSource.true_images=False",
        *generator,
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(SimulateTool(), argv, root)
    return out


def _dl2(root, chain, dl1, out, mode):
    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool

    argv = ["-i", dl1, "-m", chain.models, "-o", out, f"--mode={mode}", "-c", chain.config]
    _run(DL1ToDL2Tool(), [*argv, "--no-progress"], root)


def build_chain(root):
    """Make every product of the module docstring under ``root``."""
    from ctapipe_sst1m.tools.make_irfs import MakeIrfsTool
    from ctapipe_sst1m.tools.train_models import TrainModelsTool

    root = Path(root)
    chain = Chain(root)
    root.mkdir(parents=True, exist_ok=True)
    chain.config.write_text(f"NodeSelector:\n  max_delta_cos_zenith: {MODEL_DELTA_COS_ZENITH}\n")

    train = {
        p: _simulate(root, root / "train" / f"{p}.dl1.h5", p, n, 100 + i, TRAINING_ZENITH)
        for i, (p, n) in enumerate(TRAINING.items())
    }
    (root / "forests.yaml").write_text(SMALL_FORESTS)
    argv = ["--gamma", train["gamma-diffuse"], "--proton", train["proton"], "-o", chain.models]
    _run(TrainModelsTool(), [*argv, "-c", root / "forests.yaml"], root)

    for k, zenith in enumerate(ZENITH_NODES):
        for i, (particle, n) in enumerate(IRF_SAMPLE.items()):
            dl1 = root / "mc" / f"zen{zenith:02.0f}" / f"{particle}.dl1.h5"
            _simulate(root, dl1, particle, n, 200 + 10 * k + i, zenith)
            for mode in ("mono", "stereo"):
                _dl2(root, chain, dl1, chain.mc_dl2(zenith, particle, mode), mode)
        for setup in TEL_SETUPS:
            mode = "stereo" if setup == "stereo" else "mono"
            for point_like in (False, True):
                argv = [
                    "--gamma",
                    chain.mc_dl2(zenith, "gamma-diffuse", mode),
                    "--proton",
                    chain.mc_dl2(zenith, "proton", mode),
                    f"--global-gammaness={GAMMANESS_CUT}",
                    f"--global-theta={THETA_CUT}",
                    f"--tel-setup={setup}",
                    "-o",
                    chain.irf_bank,
                    *(["--point-like"] if point_like else []),
                ]
                _run(MakeIrfsTool(), argv, root)

    build_night(root, chain)
    return chain


def build_night(root, chain, seed=NIGHT_SEED, night_root=None):
    """The chain's toy night with ``seed`` under ``night_root`` (default ``root/night``):
    ``dl1/`` runs and truth, ``stereo.dl1.h5``, ``stereo.dl2.h5`` and mono ``dl2/`` per run and
    telescope. Returns ``night_root``. The benchmark of the seed-averaged bias uses it with new
    seeds."""
    from ctapipe_sst1m.simulation.night import run_night
    from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

    night_root = Path(night_root) if night_root is not None else root / "night"
    dl1_dir = night_root / "dl1"
    dl1_dir.parent.mkdir(parents=True, exist_ok=True)
    run_night(
        dl1_dir,
        date=NIGHT_DATE,
        target="Crab",
        seed=seed,
        n_runs=N_RUNS,
        run_duration=RUN_DURATION_S,
        config={
            "NightSimulator": {"source_flux_scale": SOURCE_FLUX_SCALE},
            "NightSchedule": {"run_gap": RUN_GAP, "wobble_gap": RUN_GAP, "spread_runs": False},
        },
        extra_args=("--runs-per-wobble=1",),
    )
    stereo_dl1, stereo_dl2 = night_root / "stereo.dl1.h5", night_root / "stereo.dl2.h5"
    argv = ["--tel1", f"{dl1_dir}/SST1M1_*.dl1.h5", "--tel2", f"{dl1_dir}/SST1M2_*.dl1.h5"]
    _run(DL1StereoTool(), [*argv, "-o", stereo_dl1], root)
    _dl2(root, chain, stereo_dl1, stereo_dl2, "stereo")
    (night_root / "dl2").mkdir(parents=True, exist_ok=True)
    for dl1 in sorted(dl1_dir.glob("SST1M*.dl1.h5")):
        out = night_root / "dl2" / dl1.name.replace(".dl1.h5", ".dl2.h5")
        _dl2(root, chain, dl1, out, "mono")
    return night_root


def injected_spectrum(truth):
    """The night's source spectrum (a gammapy log-parabola) from its parsed ``truth.json``."""
    import astropy.units as u
    from gammapy.modeling.models import LogParabolaSpectralModel

    spec = truth["source_spectrum"]
    return LogParabolaSpectralModel.from_log10(
        amplitude=spec["amplitude_TeV-1_cm-2_s-1"] * spec["flux_scale"] * u.Unit("TeV-1 cm-2 s-1"),
        reference=spec["reference_energy_TeV"] * u.TeV,
        alpha=spec["index"],
        beta=spec["curvature"],
    )
