"""Shared fixtures: paths to the reference data beside the checkout and to real DigiCam files."""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from shared_products import build_once
from traitlets.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI clones the project with ../shared beside it; SST1M_SHARED_DIR overrides for other layouts
SHARED_DIR = Path(os.environ.get("SST1M_SHARED_DIR", REPO_ROOT.parent / "shared"))
REFERENCE_DIR = SHARED_DIR / "reference" / "sst1mpipe-data"


@pytest.fixture(scope="session", autouse=True)
def _run_outside_the_checkout(tmp_path_factory):
    """Run every test from a scratch directory, so that tools never write into the checkout
    (ctapipe writes ``<tool>.provenance.log`` into the current directory by default)."""
    previous = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


@pytest.fixture(scope="session")
def reference_dir():
    """Directory with the real SST-1M instrument and calibration files (never copied here)."""
    if not REFERENCE_DIR.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE_DIR}; set SST1M_SHARED_DIR")
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def protozfits_resources():
    """Directory of the real DigiCam example files shipped inside the protozfits wheel."""
    return Path(str(files("protozfits") / "tests" / "resources"))


@pytest.fixture(scope="session")
def digicam_2018_file(protozfits_resources):
    """Real SST-1M raw file of 2018-08-22 (tel 22 in the header era, 30 physics + 2 pedestals)."""
    return protozfits_resources / "example_SST1M_20180822.fits.fz"


@pytest.fixture
def calibration_config(reference_dir):
    """DigiCamR0Corrections configuration with the averaged dark-run and window files.

    A new ``Config`` for every test: tests extend it, and a shared one would leak their changes.
    """
    return Config(
        {
            "DigiCamR0Corrections": {
                "calibration_file": [
                    ("id", 21, str(reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5")),
                    ("id", 22, str(reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5")),
                ],
                "window_transmittance_file": [
                    ("id", 21, str(reference_dir / "corr_factor_1st_wdw.txt")),
                    ("id", 22, str(reference_dir / "corr_factor_2nd_wdw.txt")),
                ],
            }
        }
    )


# ---------------------------------------------------------------- toy MC and models
# (used by tests/tools and by the real-data chain test, tests/test_real_chain.py)
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


TOY_FILES = {
    "gamma": ("gamma-diffuse", 40000, 1),
    "proton": ("proton", 100000, 1),
    "gamma_test": ("gamma-diffuse", 30000, 2),
    # no stereo geometry written: a mono-only DL1
    "mono_only": ("gamma-diffuse", 3000, 3, "--DataWriter.write_dl2=False"),
}


def _toy_path(tmp, name):
    particle, _, seed, *_ = TOY_FILES[name]
    return tmp / f"{particle}_{seed}.dl1.h5"


def _build_toy(tmp):
    for particle, n, seed, *extra in TOY_FILES.values():
        _simulate(tmp, particle, n, seed, *extra)
    (tmp / "small.yaml").write_text(SMALL)
    subprocess.run(
        [
            str(BIN / "sst1m-train-models"),
            "--gamma",
            str(_toy_path(tmp, "gamma")),
            "--proton",
            str(_toy_path(tmp, "proton")),
            "-o",
            str(tmp / "models"),
            "-c",
            str(tmp / "small.yaml"),
            "--provenance-log",
            str(tmp / "train.provenance.log"),
        ],
        check=True,
    )


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """Toy MC (MC telescopes 1/2) and small mono+stereo models trained once per test run.

    The models are trained on ``sst1m-simulate`` output as it is (no ctapipe-process pass).
    Built once for all xdist workers (`shared_products.build_once`): treat it as read-only.
    """
    tmp = build_once(tmp_path_factory, "toy_dl2", _build_toy)
    return tmp, {name: _toy_path(tmp, name) for name in TOY_FILES}, tmp / "models"


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """The shared end-to-end products of ``tests/helpers/chain.py`` (read-only).

    Toy MC at three zenith nodes (telescopes 21/22), models, an IRF bank, and a toy Crab night
    through stereo matching to mono and stereo DL2 — all made by the real commands, once per
    test run for all xdist workers.
    """
    from chain import Chain, build_chain

    return Chain(build_once(tmp_path_factory, "chain", build_chain))
