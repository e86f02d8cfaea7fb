"""Shared fixtures of the tool tests: toy MC, models trained once per session, stereo data."""

import subprocess
import sys
from pathlib import Path

import pytest
from toy_dl1 import make_stereo_dl1

BIN = Path(sys.executable).parent

SMALL = """
EnergyRegressor:
  model_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
DispReconstructor:
  norm_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
  sign_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
ParticleClassifier:
  model_config: {n_estimators: 20, max_depth: 12, min_samples_leaf: 5, n_jobs: 1, random_state: 42}
"""


def _simulate(tmp, particle, n, seed, *extra):
    """The real command: its DL1 goes to sst1m-train-models and sst1m-dl1-dl2 as it is."""
    dl1 = tmp / f"{particle}_{seed}.dl1.h5"
    subprocess.run(
        [
            str(BIN / "sst1m-simulate"),
            "--particle",
            particle,
            "--n-showers",
            str(n),
            "--seed",
            str(seed),
            "-o",
            str(dl1),
            "-q",
            "--provenance-log",
            str(tmp / "simulate.provenance.log"),
            *extra,
        ],
        check=True,
    )
    return dl1


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """Toy MC (MC telescopes 1/2) and small mono+stereo models trained once per session.

    The models are trained on ``sst1m-simulate`` output as it is (no ctapipe-process pass).
    """
    tmp = tmp_path_factory.mktemp("toy_dl2")
    files = {
        "gamma": _simulate(tmp, "gamma-diffuse", 40000, 1),
        "proton": _simulate(tmp, "proton", 100000, 1),
        "gamma_test": _simulate(tmp, "gamma-diffuse", 30000, 2),
        # no stereo geometry written: a mono-only DL1
        "mono_only": _simulate(tmp, "gamma-diffuse", 3000, 3, "--DataWriter.write_dl2=False"),
    }
    (tmp / "small.yaml").write_text(SMALL)
    models = tmp / "models"
    subprocess.run(
        [
            str(BIN / "sst1m-train-models"),
            "--gamma",
            str(files["gamma"]),
            "--proton",
            str(files["proton"]),
            "-o",
            str(models),
            "-c",
            str(tmp / "small.yaml"),
            "--provenance-log",
            str(tmp / "train.provenance.log"),
        ],
        check=True,
    )
    return tmp, files, models


@pytest.fixture(scope="session")
def stereo_data(tmp_path_factory):
    """Data-like stereo DL1 file (telescopes 21/22) made by sst1m-dl1-stereo from toy MC."""
    from ctapipe_sst1m.simulation import make_toy_file

    tmp = tmp_path_factory.mktemp("stereo_data")
    toy = make_toy_file(tmp / "toy_21_22.h5", "gamma", n_showers=8000, seed=7, telescopes=(21, 22))
    return make_stereo_dl1(toy, tmp)
