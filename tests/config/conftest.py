"""Small inputs of the tuning tests, made once per session by the real commands."""

import pytest
from ctapipe.core import run_tool

from ctapipe_sst1m.simulation.night import run_night
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool
from ctapipe_sst1m.tools.simulate import SimulateTool

#: the tracked target of the 2018 file (its raw data carry no pointing), as in test_real_chain
CRAB_POINTING = ("--SST1MEventSource.pointing_ra=83.633", "--SST1MEventSource.pointing_dec=22.0145")


def _simulate(out, *args):
    argv = ["--particle=gamma", f"-o={out}", f"--provenance-log={out.parent / 'p.log'}", *args]
    assert run_tool(SimulateTool(), argv, cwd=out.parent, raises=True) == 0
    return out


@pytest.fixture(scope="session")
def tuning_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tuning")


@pytest.fixture(scope="session")
def mc_r1(tuning_dir):
    """Toy R1 MC (MC telescopes 1/2, default NSB 0.1 GHz), ~30 events per telescope."""
    return _simulate(tuning_dir / "gamma_r1.h5", "--n-showers=1500", "--seed=1", "--r1")


@pytest.fixture(scope="session")
def mc_dl1(tuning_dir):
    """Toy DL1 MC with images at a low NSB (0.03 GHz), ~50 events per telescope."""
    return _simulate(
        tuning_dir / "gamma_dl1.h5",
        "--n-showers=3000",
        "--seed=2",
        "--write-images",
        "--CameraNoiseModel.nsb_rate=0.03",
    )


@pytest.fixture(scope="session")
def bright_night(tuning_dir):
    """One run of a toy night at 2.5 times the MC's NSB (0.25 GHz, constant)."""
    config = {
        "NightSimulator": {"background_reduction": 0.3},
        "CameraNoiseModel": {"nsb_rate": 0.25},
        "ObservingConditions": {"nsb_variation": 0.0},
    }
    out = run_night(
        tuning_dir / "night", date="2024-03-05", target="Crab", seed=3, n_runs=1,
        run_duration=10.0, config=config,
    )  # fmt: skip
    return sorted(out.glob("SST1M1_*.dl1.h5"))[0]


@pytest.fixture(scope="session")
def crab_pointing():
    """Options giving the tracked target of the 2018 file (its raw data carry no pointing)."""
    return CRAB_POINTING


@pytest.fixture(scope="session")
def digicam_dl1(tuning_dir, digicam_2018_file, reference_dir):
    """sst1m-r0-dl1 on the real 2018 DigiCam file (tel 22), with its pedestal monitoring."""
    out = tuning_dir / "digicam_2018.dl1.h5"
    calibration = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"--DigiCamR0Corrections.calibration_file={calibration}",
        *CRAB_POINTING,
        f"--provenance-log={tuning_dir / 'p.log'}",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tuning_dir, raises=True) == 0
    return out
