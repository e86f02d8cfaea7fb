"""Session fixtures: small toy Monte Carlo files shared by the simulation tests."""

import pytest

from ctapipe_sst1m.simulation import make_toy_file

#: Proton ranges narrowed for speed (the physics is unchanged, only fewer wasted throws).
FAST_PROTONS = {"ShowerGenerator": {"max_scatter_range": 500.0, "viewcone": 4.0}}


@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("toy_mc")


@pytest.fixture(scope="session")
def gamma_file(toy_dir):
    """Point-like gammas, 0.4 deg wobble, shower reuse 2 (bookkeeping check)."""
    return make_toy_file(
        toy_dir / "gamma.dl1.h5",
        "gamma",
        n_showers=12000,
        seed=11,
        config={"ShowerGenerator": {"shower_reuse": 2}},
    )


@pytest.fixture(scope="session")
def gamma_diffuse_file(toy_dir):
    return make_toy_file(
        toy_dir / "gamma_diffuse.dl1.h5", "gamma-diffuse", n_showers=30000, seed=12
    )


@pytest.fixture(scope="session")
def proton_file(toy_dir):
    return make_toy_file(
        toy_dir / "proton.dl1.h5", "proton", n_showers=60000, seed=13, config=FAST_PROTONS
    )
