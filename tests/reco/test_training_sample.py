"""Streaming, bounded training samples: hash split, seeded bottom-k reservoir, memory bound."""

import tracemalloc

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table, vstack
from ctapipe.reco import EnergyRegressor
from traitlets.config import Config

from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.reco.training import (
    EventReservoir,
    TrainingSample,
    event_split_mask,
    iter_training_chunks,
    read_training_table,
)


def synthetic_events(n_events, tel_id=1, seed=0, n_features=8):
    """Columns of ``n_events`` telescope events (one per array event) with uniform ``x``."""
    rng = np.random.default_rng(seed)
    columns = {
        "obs_id": np.repeat(np.arange(1, 1 + n_events // 1000 + 1), 1000)[:n_events],
        "event_id": np.arange(n_events, dtype=np.int64) * 3 + 7,
        "tel_id": np.full(n_events, tel_id, dtype=np.int16),
        "true_energy": 10 ** rng.uniform(-1, 2, n_events),
        "x": rng.uniform(0, 1, n_events).astype(np.float32),
    }
    for i in range(n_features):
        columns[f"f{i}"] = rng.normal(size=n_events).astype(np.float32)
    return columns


def chunked(columns, chunk_size):
    """The columns as a lazy stream of astropy tables of ``chunk_size`` rows."""
    n = len(columns["obs_id"])
    for start in range(0, n, chunk_size):
        table = Table({k: v[start : start + chunk_size] for k, v in columns.items()})
        table["true_energy"].unit = u.TeV
        yield table


def lazy_stream(n_events, chunk_size, seed=0):
    """Synthetic chunks generated one at a time (the whole stream never exists at once)."""
    for first in range(0, n_events, chunk_size):
        columns = synthetic_events(chunk_size, seed=seed + first)
        columns["event_id"] = columns["event_id"] + 3 * first
        yield next(chunked(columns, chunk_size))


def reservoir_rows(columns, chunk_size, k, seed=3):
    reservoir = EventReservoir(k, seed)
    for table in chunked(columns, chunk_size):
        reservoir.add({name: np.asarray(table[name]) for name in table.colnames})
    return reservoir, reservoir.arrays()


def test_reservoir_keeps_exactly_k_rows_independent_of_chunking():
    columns = synthetic_events(5000)
    small, rows_7 = reservoir_rows(columns, 7, 700)
    _, rows_1000 = reservoir_rows(columns, 1000, 700)
    _, rows_all = reservoir_rows(columns, 5000, 700)
    assert len(small) == 700 and small.n_offered == 5000
    assert len(rows_7["event_id"]) == 700
    for name in columns:
        np.testing.assert_array_equal(rows_7[name], rows_1000[name])
        np.testing.assert_array_equal(rows_7[name], rows_all[name])
    # kept in stream order, rows intact (x belongs to its event)
    assert np.all(np.diff(rows_7["event_id"]) > 0)
    index = (rows_7["event_id"] - 7) // 3
    np.testing.assert_array_equal(rows_7["x"], columns["x"][index])
    # another seed gives another sample
    _, other = reservoir_rows(columns, 1000, 700, seed=4)
    assert len(np.intersect1d(other["event_id"], rows_7["event_id"])) < 200


def test_reservoir_smaller_stream_than_capacity_keeps_everything():
    columns = synthetic_events(300)
    reservoir, rows = reservoir_rows(columns, 64, 1000)
    assert len(reservoir) == 300
    np.testing.assert_array_equal(rows["event_id"], columns["event_id"])
    empty, rows = reservoir_rows(columns, 64, 0)
    assert len(empty) == 0 and rows == {}


def test_reservoir_is_uniform():
    n, k = 40_000, 4_000
    columns = synthetic_events(n, seed=11)
    _, rows = reservoir_rows(columns, 997, k, seed=5)
    # a uniform column keeps mean 1/2 and its spread; positions are uniform over the stream
    # (a biased reservoir favours early or late rows); sigma of the means: 0.0046 and 0.0046 n
    assert abs(rows["x"].mean() - 0.5) < 0.015
    assert abs(rows["x"].std() - np.sqrt(1 / 12)) < 0.01
    position = (rows["event_id"] - 7) // 3
    assert abs(position.mean() / n - 0.5) < 0.015
    counts = np.histogram(position, bins=10, range=(0, n))[0]
    assert counts.min() > 0.85 * k / 10 and counts.max() < 1.15 * k / 10


def test_split_is_per_event_deterministic_and_order_free():
    rng = np.random.default_rng(2)
    obs = rng.integers(1, 5, 20_000)
    event = rng.integers(0, 10**9, 20_000)
    mask = event_split_mask(obs, event, 0.25, seed=9)
    assert abs(mask.mean() - 0.25) < 0.015
    perm = rng.permutation(len(obs))
    np.testing.assert_array_equal(event_split_mask(obs[perm], event[perm], 0.25, 9), mask[perm])
    assert np.mean(event_split_mask(obs, event, 0.25, 10) == mask) < 0.7


def test_sample_keeps_array_events_together_across_telescopes():
    config = Config({"TrainingSample": {"max_test_events": 400, "random_seed": 1}})
    sample = TrainingSample(config=config)
    n = 6000
    tel1 = synthetic_events(n, tel_id=1, seed=1)
    tel2 = synthetic_events(n, tel_id=2, seed=2)  # same (obs_id, event_id), other features
    train1, test1 = sample.sample(chunked(tel1, 500), train_capacity=1500)
    train2, test2 = sample.sample(chunked(tel2, 333), train_capacity=1500)
    assert len(train1) == 1500 and len(test1) == 400
    assert train1["true_energy"].unit == u.TeV and train1["x"].dtype == np.float32
    np.testing.assert_array_equal(train1["event_id"], train2["event_id"])
    np.testing.assert_array_equal(test1["event_id"], test2["event_id"])
    assert len(np.intersect1d(train1["event_id"], test1["event_id"])) == 0
    # the test events are the ones of the per-event split
    assert np.all(event_split_mask(test1["obs_id"], test1["event_id"], 0.25, 1))
    assert not np.any(event_split_mask(train1["obs_id"], train1["event_id"], 0.25, 1))


def test_train_capacity_covers_both_two_stage_parts():
    sample = TrainingSample(config=Config({"TrainingSample": {"n_training_events": 1000}}))
    assert sample.train_capacity() == 1000
    # first part 1000 / (1 - 0.33) = 1493, second part 500 / 0.33 = 1516 gammas
    assert sample.train_capacity(two_stage=True) == 1516


def _peak_bytes(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _vstack_then_sample(chunks, sample, capacity):
    """The former behaviour: keep every chunk, stack, then sample (for the memory bound)."""
    table = vstack(list(chunks))
    return sample.sample([table], capacity)


def test_sample_memory_does_not_grow_with_input_size():
    config = Config({"TrainingSample": {"max_test_events": 1000}})
    sample = TrainingSample(config=config)
    n, chunk, k = 20_000, 2_000, 2_000

    def sampled(n_events):
        return lambda: sample.sample(lazy_stream(n_events, chunk), k)

    peak_1 = _peak_bytes(sampled(n))
    peak_4 = _peak_bytes(sampled(4 * n))
    stream_4 = 4 * n * (8 * 4 + 4 + 8 * 3 + 2)  # bytes of the 4x input (features + ids)
    print(f"peak 1x {peak_1 / 1e6:.2f} MB, 4x {peak_4 / 1e6:.2f} MB, input {stream_4 / 1e6:.1f} MB")
    assert peak_4 < 1.25 * peak_1
    assert peak_4 < 0.3 * stream_4
    # the bound is real: stacking the whole input first grows with it
    stacked_4 = _peak_bytes(lambda: _vstack_then_sample(lazy_stream(4 * n, chunk), sample, k))
    assert stacked_4 > 2 * peak_4


class FakeLoader:
    """Stand-in for ctapipe's TableLoader: yields the given tables as chunks."""

    def __init__(self, tables):
        self.tables = tables

    def read_telescope_events_chunked(self, chunk_size, **kwargs):
        for i, table in enumerate(self.tables):
            yield i, i + 1, table


def test_energy_floor_and_quality_applied_before_sampling():
    columns = synthetic_events(4000, seed=3)
    columns["hillas_intensity"] = np.where(np.arange(4000) % 4 == 0, -1.0, 100.0)
    tables = list(chunked(columns, 500))
    config = Config(
        {
            "EnergyRegressor": {
                "model_cls": "RandomForestRegressor",
                "QualityQuery": {
                    "quality_criteria": [
                        ["positive", "hillas_intensity > 0"],
                        ["generated", "log_hillas_intensity > 0"],  # not evaluable on raw rows
                    ]
                },
            },
            "TrainingSample": {"test_fraction": 0.0},
        }
    )
    regressor = EnergyRegressor(sst1m_subarray((1, 2)), config=config)
    stats = {}
    kept = list(
        iter_training_chunks(
            FakeLoader(tables),
            "tel",
            lambda names: [n for n in names if not n.startswith("f")],
            500,
            1 * u.TeV,
            quality=[regressor],
            stats=stats,
        )
    )
    table = vstack(kept)
    energy = columns["true_energy"]
    expected = (energy >= 1) & (columns["hillas_intensity"] > 0)
    assert stats == {"read": 4000, "usable": int(expected.sum())}
    np.testing.assert_array_equal(table["event_id"], columns["event_id"][expected])
    assert "f0" not in table.colnames
    assert table["hillas_intensity"].dtype == np.float32
    assert table["true_energy"].dtype == np.float64

    sample = TrainingSample(config=config)
    train, test = read_training_table(
        FakeLoader(tables),
        "tel",
        lambda names: names,
        500,
        1 * u.TeV,
        sample,
        100,
        quality=[regressor],
    )
    assert len(train) == 100 and len(test) == 0
    assert np.all(train["hillas_intensity"] > 0) and np.all(train["true_energy"] >= 1)


@pytest.mark.parametrize("capacity", [1, 5])
def test_tiny_capacities(capacity):
    columns = synthetic_events(1000)
    _, rows_a = reservoir_rows(columns, 3, capacity)
    _, rows_b = reservoir_rows(columns, 1000, capacity)
    assert len(rows_a["event_id"]) == capacity
    np.testing.assert_array_equal(rows_a["event_id"], rows_b["event_id"])


def test_subsample_does_not_depend_on_what_was_drawn_before():
    """The rows a model gets are a function of the events and the seed only: training tel 22
    before tel 21 (ctapipe's order of two same-named telescope types is a set's) or another
    model first must not change them."""
    table = next(chunked(synthetic_events(5000), 5000))
    other = next(chunked(synthetic_events(3000, seed=9), 3000))
    first = TrainingSample(random_seed=4).subsample(table, 700, "energy")
    sample = TrainingSample(random_seed=4)
    sample.subsample(other, 100, "energy")
    sample.subsample(other, 100, "gamma")
    again = sample.subsample(table, 700, "energy")
    assert len(first) == 700
    assert np.array_equal(first["event_id"], again["event_id"])
    assert np.all(np.diff(first["event_id"]) > 0)  # order kept
    # another stream, another seed: another (uniform) choice
    disp = TrainingSample(random_seed=4).subsample(table, 700, "disp")
    reseeded = TrainingSample(random_seed=5).subsample(table, 700, "energy")
    for rows in (disp, reseeded):
        assert len(np.intersect1d(rows["event_id"], first["event_id"])) < 200  # ~98 expected
    assert abs(np.mean(first["x"]) - 0.5) < 0.04
