"""Synthetic two-telescope event streams with known truth for the matcher tests."""

import numpy as np
import pytest
from astropy.table import Table
from toy_dl1 import split_telescope

from ctapipe_sst1m.io.clock import tai_ns_to_time

T0_NS = 1_700_000_000 * 1_000_000_000  # November 2023, TAI


def make_streams(
    n_showers=20_000,
    rate_hz=300.0,
    offset_ns=0,
    jitter_ns=50,
    p_seen_1=0.9,
    p_seen_2=0.9,
    seed=0,
    t0_ns=T0_NS,
):
    """Two event tables seeing a common Poisson stream of showers.

    Each shower is recorded by telescope 1 with probability ``p_seen_1`` and by telescope 2
    with ``p_seen_2`` (the rest are drops / mono events). Telescope 2 stamps ``t + offset``
    plus Gaussian jitter. Column ``shower`` is the truth; ``event_id`` is each telescope's own
    counter, ``swat_id`` the common array counter.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1e9 / rate_hz, n_showers).astype(np.int64) + 1
    t_true = t0_ns + np.cumsum(gaps)
    seen_1 = rng.random(n_showers) < p_seen_1
    seen_2 = rng.random(n_showers) < p_seen_2
    shower = np.arange(n_showers)
    size = rng.pareto(1.5, n_showers) * 100 + 50  # seen by both telescopes, with scatter

    t1 = t_true[seen_1]
    t2 = (
        t_true[seen_2]
        + offset_ns
        + np.rint(rng.normal(0, jitter_ns, seen_2.sum())).astype(np.int64)
    )
    table1 = Table(
        {
            "time": tai_ns_to_time(t1),
            "event_id": np.arange(seen_1.sum()),
            "swat_id": shower[seen_1],
            "shower": shower[seen_1],
            "hillas_intensity": size[seen_1] * rng.lognormal(0, 0.3, seen_1.sum()),
        }
    )
    table2 = Table(
        {
            "time": tai_ns_to_time(t2),
            "event_id": np.arange(seen_2.sum()),
            "swat_id": shower[seen_2],
            "shower": shower[seen_2],
            "hillas_intensity": size[seen_2] * rng.lognormal(0, 0.3, seen_2.sum()),
        }
    )
    return table1, table2


def precision_recall(table1, table2, i1, i2):
    """Fraction of returned pairs that are true, and of true pairs that were returned."""
    correct = np.count_nonzero(table1["shower"][i1] == table2["shower"][i2])
    n_true = len(np.intersect1d(table1["shower"], table2["shower"]))
    precision = correct / len(i1) if len(i1) else 0.0
    return precision, correct / n_true


@pytest.fixture
def streams():
    """Factory fixture for :func:`make_streams`."""
    return make_streams


@pytest.fixture
def score():
    """The :func:`precision_recall` helper."""
    return precision_recall


# ---------------------------------------------------------------------------------------------
# per-telescope DL1 files in the observed-data layout, split from a two-telescope toy MC file

TOY_TEL_IDS = (21, 22)


@pytest.fixture(scope="session")
def toy_dl1(tmp_path_factory):
    """A small two-telescope toy MC DL1 file (with images) from ``sst1m-simulate``."""
    from ctapipe_sst1m.simulation import make_toy_file

    path = tmp_path_factory.mktemp("toy") / "toy_dl1.h5"
    return make_toy_file(path, n_showers=6000, seed=1, telescopes=TOY_TEL_IDS, write_images=True)


@pytest.fixture
def split():
    """The :func:`split_telescope` helper."""
    return split_telescope
