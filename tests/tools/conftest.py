"""Shared fixtures of the tool tests: stereo data (the toy MC models are in tests/conftest.py)."""

import pytest
from toy_dl1 import make_stereo_dl1


@pytest.fixture(scope="session")
def stereo_data(tmp_path_factory):
    """Data-like stereo DL1 file (telescopes 21/22) made by sst1m-dl1-stereo from toy MC."""
    from ctapipe_sst1m.simulation import make_toy_file

    tmp = tmp_path_factory.mktemp("stereo_data")
    toy = make_toy_file(tmp / "toy_21_22.h5", "gamma", n_showers=8000, seed=7, telescopes=(21, 22))
    return make_stereo_dl1(toy, tmp)
