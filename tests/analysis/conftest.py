"""Session fixtures: small synthetic DL3 index directories with a known truth
(``tests/helpers/synthetic_dl3.py``: gammapy's event sampler on analytic IRFs)."""

import pytest
from synthetic_dl3 import make_dl3


@pytest.fixture(scope="session")
def synthetic_index(tmp_path_factory):
    """Two 20-min wobble observations (N/S) of a Crab-like log-parabola, full-enclosure IRFs,
    each observation split into two runs (GTI rows)."""
    out = tmp_path_factory.mktemp("synthetic") / "full"
    make_dl3(out, n_obs=2, seed=1, n_gti=2)
    return out


@pytest.fixture(scope="session")
def synthetic_pointlike(tmp_path_factory):
    """The same field with point-like IRFs (RAD_MAX 0.2°)."""
    out = tmp_path_factory.mktemp("synthetic") / "pointlike"
    make_dl3(out, n_obs=2, seed=2, point_like=True)
    return out


@pytest.fixture(scope="session")
def synthetic_empty_field(tmp_path_factory):
    """No source, a strong background (×30): for the significance distribution."""
    out = tmp_path_factory.mktemp("synthetic") / "empty"
    make_dl3(out, n_obs=2, seed=3, flux_scale=0.0, background_scale=30.0)
    return out
