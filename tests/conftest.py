"""Shared fixtures: paths to the reference data beside the checkout and to real DigiCam files."""

import os
from importlib.resources import files
from pathlib import Path

import pytest
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
