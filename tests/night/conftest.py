"""Session fixtures: small toy observation nights of the three timing eras."""

import pytest

from ctapipe_sst1m.simulation.night import run_night

#: short runs with a strong background so that a few runs hold ~100 coincidences
FAST = {"NightSimulator": {"background_reduction": 0.3}}
RUN_S = 20.0


def _night(tmp_path_factory, name, date, target, seed, config=None, **kwargs):
    out = tmp_path_factory.mktemp("nights") / name
    full = {**FAST, **(config or {})}
    return run_night(
        out, date=date, target=target, seed=seed, run_duration=RUN_S, config=full, **kwargs
    )


@pytest.fixture(scope="session")
def wr_night(tmp_path_factory):
    """White-Rabbit era, 4 runs alternating wobbles; run 2 cloudy, 3 moonlit, 4 truncated."""
    config = {
        "ObservingConditions": {
            "cloud_runs": [2],
            "cloud_transmission": 0.3,
            "moon_runs": [3],
            "moon_nsb_factor": 3.0,
        },
        "NightSchedule": {"truncated_runs": [4], "truncated_fraction": 0.5},
    }
    return _night(
        tmp_path_factory,
        "wr",
        "2023-11-10",
        "Crab",
        3,
        config,
        n_runs=4,
        extra_args=("--runs-per-wobble=1",),
    )


@pytest.fixture(scope="session")
def swat_night(tmp_path_factory):
    """SWAT era (common array event ids), 3 runs of Mrk 421."""
    return _night(tmp_path_factory, "swat", "2024-03-05", "Mrk 421", 5, n_runs=3)


@pytest.fixture(scope="session")
def prewr_night(tmp_path_factory):
    """Before White Rabbit: run-wise unknown clock offsets, 3 runs of Mrk 501."""
    return _night(tmp_path_factory, "prewr", "2023-05-20", "Mrk 501", 6, n_runs=3)
