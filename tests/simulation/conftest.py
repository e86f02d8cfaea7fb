"""Session fixtures: small toy Monte Carlo files shared by the simulation tests."""

import pytest

from ctapipe_sst1m.simulation import make_toy_file

#: Proton ranges narrowed for speed (the physics is unchanged, only fewer wasted throws).
FAST_PROTONS = {"ShowerGenerator": {"max_scatter_range": 300.0, "viewcone": 3.0}}


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
        toy_dir / "proton.dl1.h5", "proton", n_showers=12000, seed=13, config=FAST_PROTONS
    )


#: Showers and seed of the R1/DL1 variant pair (same seed: same showers, images and triggers).
PAIR_SHOWERS, PAIR_SEED = 3000, 4


@pytest.fixture(scope="session")
def pair_args():
    """``(n_showers, seed)`` of the R1/DL1 variant pair."""
    return PAIR_SHOWERS, PAIR_SEED


@pytest.fixture(scope="session")
def pair_dl1_file(toy_dir):
    """Point-like gammas, DL1-level variant of the R1/DL1 pair."""
    return make_toy_file(toy_dir / "pair_dl1.h5", "gamma", n_showers=PAIR_SHOWERS, seed=PAIR_SEED)


@pytest.fixture(scope="session")
def pair_r1_file(toy_dir):
    """Point-like gammas, R1 variant of the pair, calibrated in-process with ImageCleanerSST."""
    return make_toy_file(
        toy_dir / "pair_r1.h5",
        "gamma",
        n_showers=PAIR_SHOWERS,
        seed=PAIR_SEED,
        r1=True,
        config={"ImageProcessor": {"image_cleaner_type": "ImageCleanerSST"}},
    )
