"""Session fixture of the IRF tests: a small toy production run through the real commands.

``sst1m-simulate`` (in-process) for training gammas/protons and for the IRF samples
(point-like gammas at 0.4°, diffuse gammas, diffuse protons), the stereo geometry
(`stereo_geometry.add_stereo_geometry`, the vectorised HillasReconstructor), small
``sst1m-train-models`` forests (mono + stereo), then ``sst1m-dl1-dl2`` in mono and stereo mode
and stock ``ctapipe-apply-models`` (stereo models) on the diffuse gammas. Smaller scatter
radius and view cone than the production defaults raise the trigger fraction so that the
samples stay small.
"""

import sys
from pathlib import Path

import pytest
from ctapipe.core import run_tool

sys.path.insert(0, str(Path(__file__).parent))

from stereo_geometry import add_stereo_geometry  # noqa: E402

SMALL_FORESTS = """
EnergyRegressor:
  model_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 4}
DispReconstructor:
  norm_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 4}
  sign_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 4}
ParticleClassifier:
  model_config: {n_estimators: 15, max_depth: 10, min_samples_leaf: 5, n_jobs: 1, random_state: 4}
"""

GAMMA = {"max_scatter_range": 350.0, "viewcone": 3.0}
PROTON = {"max_scatter_range": 400.0, "viewcone": 4.0}

#: name -> (particle, thrown showers, seed, ShowerGenerator config)
SAMPLES = {
    "gamma_train": ("gamma-diffuse", 12_000, 11, GAMMA),
    "proton_train": ("proton", 30_000, 12, PROTON),
    "gamma_point": ("gamma", 12_000, 13, {"max_scatter_range": 350.0}),
    "gamma_diffuse": ("gamma-diffuse", 16_000, 14, GAMMA),
    "proton": ("proton", 30_000, 15, PROTON),
}


class Toy:
    """Paths of the toy production."""

    def __init__(self, root):
        self.root = root
        self.dl1 = {}
        self.dl2 = {}  # (sample, mode) -> DL2 file; mode in mono, stereo, stock
        self.models = root / "models"


def _dl2(tool_cls, argv, cwd):
    assert run_tool(tool_cls(), argv=argv, cwd=cwd, raises=True) == 0


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """The toy production (see module docstring)."""
    from ctapipe.tools.apply_models import ApplyModels

    from ctapipe_sst1m.simulation import make_toy_file
    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
    from ctapipe_sst1m.tools.train_models import TrainModelsTool

    root = tmp_path_factory.mktemp("irf_toy")
    toy = Toy(root)
    prov = f"--provenance-log={root / 'prov.log'}"
    for name, (particle, n, seed, generator) in SAMPLES.items():
        config = {"ShowerGenerator": generator, "SST1MToyEventSource": {"true_images": False}}
        raw = make_toy_file(root / f"{name}.raw.h5", particle, n, seed, config=config)
        toy.dl1[name] = add_stereo_geometry(raw, root / f"{name}.dl1.h5")
    (root / "small.yaml").write_text(SMALL_FORESTS)
    argv = [
        f"--gamma={toy.dl1['gamma_train']}",
        f"--proton={toy.dl1['proton_train']}",
        f"--output={toy.models}",
        f"--config={root / 'small.yaml'}",
        prov,
    ]
    assert run_tool(TrainModelsTool(), argv=argv, cwd=root, raises=True) == 0
    for name in ("gamma_point", "gamma_diffuse", "proton"):
        for mode in ("mono", "stereo"):
            out = root / f"{name}.{mode}.dl2.h5"
            _dl2(
                DL1ToDL2Tool,
                [
                    f"--input={toy.dl1[name]}",
                    f"--models={toy.models}",
                    f"--output={out}",
                    f"--mode={mode}",
                    prov,
                    "--no-progress",
                ],
                root,
            )
            toy.dl2[name, mode] = out
    stock = root / "gamma_diffuse.stock.dl2.h5"
    models = [
        f"--reconstructor={toy.models / 'stereo' / f}"
        for f in ("energy.pkl", "disp.pkl", "classifier.pkl")
    ]
    _dl2(
        ApplyModels,
        [f"--input={toy.dl1['gamma_diffuse']}", f"--output={stock}", *models, prov],
        root,
    )
    toy.dl2["gamma_diffuse", "stock"] = stock
    return toy
