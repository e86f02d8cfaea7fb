"""Fixtures of the event-source tests: calibration configuration built from the reference data."""

import pytest
from traitlets.config import Config


@pytest.fixture(scope="session")
def calibration_config(reference_dir):
    """DigiCamR0Corrections configuration with the averaged dark-run and window files."""
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
