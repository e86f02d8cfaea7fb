"""Synthetic two-telescope event streams with known truth for the matcher tests."""

import numpy as np
import pytest
from astropy.table import Table

from ctapipe_sst1m.stereo import ns_to_time

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
            "time": ns_to_time(t1),
            "event_id": np.arange(seen_1.sum()),
            "swat_id": shower[seen_1],
            "shower": shower[seen_1],
            "hillas_intensity": size[seen_1] * rng.lognormal(0, 0.3, seen_1.sum()),
        }
    )
    table2 = Table(
        {
            "time": ns_to_time(t2),
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


def split_telescope(
    source,
    output,
    tel_id,
    *,
    obs_id_shift=0,
    offset_ns=0,
    jitter_ns=0,
    drop=0.0,
    renumber=False,
    altitude_shift_deg=0.0,
    zero_times=False,
    seed=0,
):
    """Write one telescope of ``source`` as an observed-data single-telescope DL1 file.

    Returns the original event id of every written event, in output order.
    """
    import astropy.units as u
    import tables
    from ctapipe.instrument import SubarrayDescription
    from ctapipe.io import read_table, write_table

    from ctapipe_sst1m.stereo.stereo_file import _write_rows

    rng = np.random.default_rng(seed)
    node = f"tel_{tel_id:03d}"
    SubarrayDescription.from_hdf(source).select_subarray([tel_id]).to_hdf(output, overwrite=True)
    with tables.open_file(source) as src, tables.open_file(output, "a") as out:
        for key in src.root._v_attrs._f_list("user"):
            out.root._v_attrs[key] = src.root._v_attrs[key]
        out.root._v_attrs["CTA PROCESS TYPE"] = "Observation"
        for block in ("observation_block", "scheduling_block"):
            n = src.get_node(f"/configuration/observation/{block}")
            data = n.read()
            if "obs_id" in data.dtype.names:
                data["obs_id"] += obs_id_shift
            _write_rows(out, n, f"/configuration/observation/{block}", data)
        trig_node = src.root.dl1.event.telescope.trigger
        trig = trig_node.read()
        trig = trig[trig["tel_id"] == tel_id]
        keep = rng.random(len(trig)) >= drop
        trig = trig[keep]
        original_ids = trig["event_id"].copy()
        new_ids = np.arange(1, len(trig) + 1) if renumber else original_ids
        t = trig["time"][:, 0].astype(np.int64) * 10**9 + trig["time"][:, 1] // 4
        t = t + offset_ns + np.rint(rng.normal(0, jitter_ns, len(t))).astype(np.int64)
        if zero_times:
            t[:] = 0
        trig["time"][:, 0], trig["time"][:, 1] = t // 10**9, (t % 10**9) * 4
        trig["obs_id"] += obs_id_shift
        trig["event_id"] = new_ids
        _write_rows(out, trig_node, "/dl1/event/telescope/trigger", trig)
        for base in ("/dl1/event/telescope/parameters", "/dl1/event/telescope/images"):
            n = src.get_node(f"{base}/{node}")
            data = n.read()
            position = {e: i for i, e in enumerate(data["event_id"])}
            data = data[[position[e] for e in original_ids]]
            data["obs_id"] += obs_id_shift
            data["event_id"] = new_ids
            _write_rows(out, n, f"{base}/{node}", data)
        fixed = src.get_node(f"/configuration/telescope/pointing/{node}").read()[0]
    pointing = Table(
        {
            "time": ns_to_time([t.min() - 60 * 10**9, max(t.max(), 1) + 60 * 10**9]),
            "azimuth": np.full(2, fixed["telescope_pointing_azimuth"]) * u.rad,
            "altitude": (
                np.full(2, fixed["telescope_pointing_altitude"]) * u.rad
                + altitude_shift_deg * u.deg
            ).to(u.rad),
        }
    )
    write_table(pointing, output, f"/dl0/monitoring/telescope/pointing/{node}")
    assert read_table(output, "/dl1/event/telescope/trigger")["tel_id"][0] == tel_id
    return np.asarray(original_ids)


@pytest.fixture
def split():
    """The :func:`split_telescope` helper."""
    return split_telescope
