"""A DigiCam file cut short in a later zfits tile: the events of the complete tiles are read.

The DigiCam example files hold all their events in one tile, so the 100-event example is
rewritten with 10 events per tile (``zfits_retile`` in tests/helpers) and then cut.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tables
from protozfits import File
from traitlets import TraitError
from traitlets.config import Config
from zfits_retile import retile_zfits

from ctapipe_sst1m.io import SST1MEventSource
from ctapipe_sst1m.io.zfits import count_intact_events, events_in_complete_tiles

N_EVENTS, PER_TILE = 100, 10
NOMINAL = Config({"DigiCamR0Corrections": {"use_nominal_calibration": True}})


def summaries(path, config=NOMINAL):
    """(event_id, R0 waveform sum, R1 waveform sum) of every event the source yields."""
    with SST1MEventSource(input_url=path, config=config) as source:
        return [
            (
                event.index.event_id,
                int(event.r0.tel[source.tel_id].waveform.sum(dtype=np.int64)),
                float(event.r1.tel[source.tel_id].waveform.sum(dtype=np.float64)),
            )
            for event in source
        ]


@pytest.fixture(scope="module")
def original(protozfits_resources):
    return protozfits_resources / "example_100evts.fits.fz"


@pytest.fixture(scope="module")
def multitile(tmp_path_factory, original):
    """The 100-event example with 10 events per tile, and the (start, size) of each tile."""
    path = tmp_path_factory.mktemp("multitile") / "SST1M1_20171031_0100.fits.fz"
    tiles = retile_zfits(original, path, PER_TILE)
    return path, tiles


@pytest.fixture(scope="module")
def original_summaries(original):
    return summaries(original)


def cut(source, destination, size):
    destination.write_bytes(source.read_bytes()[:size])
    return destination


def test_retiled_file_is_identical(original, multitile, original_summaries):
    path, tiles = multitile
    assert len(tiles) == N_EVENTS // PER_TILE
    assert events_in_complete_tiles(path) == N_EVENTS
    assert events_in_complete_tiles(original) == N_EVENTS
    with File(original, pure_protobuf=True) as a, File(path, pure_protobuf=True) as b:
        assert len(b.Events) == N_EVENTS
        for i in range(N_EVENTS):
            assert b.Events[i].SerializeToString() == a.Events[i].SerializeToString()
    assert len(original_summaries) == N_EVENTS
    assert summaries(path) == original_summaries


@pytest.mark.parametrize(
    ("where", "n_intact"),
    [
        ("half of tile 6", 60),
        # only the first bytes of tile 6 present: protozfits would hand back tile 5's events
        # again from its stale buffer unless the catalog bounds the reading
        ("start of tile 6", 60),
        ("last byte of tile 9", 90),
    ],
)
def test_truncated_in_a_later_tile(
    tmp_path, multitile, original_summaries, caplog, where, n_intact
):
    path, tiles = multitile
    start, size = tiles[int(where.split()[-1])]
    offsets = {
        "half of tile 6": start + size // 2,
        "start of tile 6": start + 8,
        "last byte of tile 9": start + size - 1,
    }
    truncated = cut(path, tmp_path / "SST1M1_20171031_0101.fits.fz", offsets[where])
    assert count_intact_events(truncated, N_EVENTS) == n_intact
    assert summaries(truncated) == original_summaries[:n_intact]
    assert f"is truncated: recovered {n_intact} of {N_EVENTS} events" in caplog.text


def test_probe_alone_stops_at_replayed_events(tmp_path, multitile, monkeypatch):
    """Without a usable catalog (a crash before it was written) the decoding probe itself
    refuses the stale-buffer replay of tile 5's events."""
    import ctapipe_sst1m.io.zfits as zfits

    path, tiles = multitile
    start, _ = tiles[6]
    truncated = cut(path, tmp_path / "SST1M1_20171031_0104.fits.fz", start + 8)
    monkeypatch.setattr(zfits, "events_in_complete_tiles", lambda path: None)
    assert zfits.count_intact_events(truncated, N_EVENTS) == 60


def test_truncated_before_any_tile_or_in_padding(
    tmp_path, multitile, original_summaries, calibration_config, caplog
):
    path, tiles = multitile
    # cut inside the catalog (before the heap): no tile can be located
    in_catalog = cut(path, tmp_path / "SST1M1_20171031_0102.fits.fz", tiles[0][0] - 100)
    assert events_in_complete_tiles(in_catalog) == 0
    with pytest.raises(TraitError, match="truncated and holds no intact event"):
        SST1MEventSource(input_url=in_catalog, config=calibration_config)
    assert f"is truncated: recovered 0 of {N_EVENTS} events" in caplog.text

    # only FITS padding after the heap missing: every event, no warning
    caplog.clear()
    end = tiles[-1][0] + tiles[-1][1]
    padding = cut(path, tmp_path / "SST1M1_20171031_0103.fits.fz", end + 10)
    assert [s[0] for s in summaries(padding)] == [s[0] for s in original_summaries]
    assert "truncated" not in caplog.text


def test_ctapipe_process_on_truncated_file(tmp_path, multitile, original_summaries):
    path, tiles = multitile
    start, size = tiles[3]
    truncated = cut(path, tmp_path / "SST1M1_20171031_0104.fits.fz", start + size // 3)
    output = tmp_path / "truncated.dl1.h5"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ctapipe-process")),
            f"--input={truncated}",
            f"--output={output}",
            "--DigiCamR0Corrections.use_nominal_calibration=True",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"is truncated: recovered 30 of {N_EVENTS} events" in result.stderr
    with tables.open_file(output) as h5:
        trigger = h5.root.dl1.event.subarray.trigger
        assert trigger.col("event_id").tolist() == [s[0] for s in original_summaries[:30]]
