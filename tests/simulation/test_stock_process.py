"""Stock ``ctapipe-process`` (a subprocess, not the package's tool) on toy Monte Carlo.

* The R1 variant written by ``sst1m-simulate --r1`` is read back by ctapipe's
  ``HDF5EventSource`` and recalibrated with the package's MC configuration
  (``LocalPeakWindowSum`` 7/3 with integration correction, ``ImageCleanerSST``); its Hillas
  parameters must agree with the DL1-level variant of the same seed within noise.
* ``-i gamma.sst1mtoy`` selects the registered ``SST1MToyEventSource`` entry point, which
  simulates the run itself; with the SST-1M tailcuts it must reproduce ``sst1m-simulate``.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tables
import yaml
from astropy.table import join, vstack
from ctapipe.io import read_table
from ctapipe.io.hdf5eventsource import HDF5EventSource

from ctapipe_sst1m.simulation.production import (
    DEFAULT_PROCESSING_CONFIG,
    default_processing_config,
)

MC_CONFIG = Path(__file__).parents[2] / "src/ctapipe_sst1m/resources/config/r0_dl1_mc.yaml"
CTAPIPE_PROCESS = str(Path(sys.executable).parent / "ctapipe-process")
KEYS = ["obs_id", "event_id", "tel_id"]


def _parameters(path):
    """Hillas intensity and centroid of every telescope event, with the matching keys."""
    tables = []
    for tel in ("tel_001", "tel_002"):
        table = read_table(path, f"/dl1/event/telescope/parameters/{tel}")
        tables.append(table[KEYS + ["hillas_intensity", "hillas_fov_lon", "hillas_fov_lat"]])
    return vstack(tables)


def _process(tmp_path, input_path, *configs):
    out = tmp_path / "processed.h5"
    command = [CTAPIPE_PROCESS, "-i", str(input_path), "-o", str(out), "--overwrite"]
    for config in configs:
        command += ["-c", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return out


def test_hdf5_event_source_reads_r1_variant(pair_r1_file):
    with HDF5EventSource(pair_r1_file) as source:
        assert source.is_simulation
        event = next(iter(source))
        tel_id = next(iter(event.r1.tel))
        waveform = event.r1.tel[tel_id].waveform
        assert waveform.shape == (1, 1296, 50)
        assert waveform.max() > 5.0
        # no pixel is flagged as broken by the stored pixel status
        assert not event.monitoring.tel[tel_id].camera.coefficients.outlier_mask.any()


def test_stock_process_on_r1_variant_matches_dl1_variant(pair_r1_file, pair_dl1_file, tmp_path):
    # keep only the waveforms (and triggers/truth): the parameters must come from R1
    r1_only = tmp_path / "r1_only.h5"
    shutil.copy(pair_r1_file, r1_only)
    with tables.open_file(r1_only, "a") as h5:
        h5.remove_node("/dl1/event/telescope/parameters", recursive=True)
    processed = _process(tmp_path, r1_only, MC_CONFIG)
    r1 = _parameters(processed)
    dl1 = _parameters(pair_dl1_file)
    assert len(r1) == len(dl1) > 30
    matched = join(r1, dl1, keys=KEYS, table_names=["r1", "dl1"])
    assert len(matched) == len(dl1)
    bright = (matched["hillas_intensity_dl1"] > 150) & (matched["hillas_intensity_r1"] > 0)
    assert bright.sum() > 15
    ratio = matched["hillas_intensity_r1"][bright] / matched["hillas_intensity_dl1"][bright]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.15)
    for coordinate in ("hillas_fov_lon", "hillas_fov_lat"):
        delta = (matched[f"{coordinate}_r1"] - matched[f"{coordinate}_dl1"])[bright]
        assert np.median(np.abs(delta)) < 0.05
    # stock ctapipe-process and sst1m-simulate --r1 run the same R1 -> DL1 chain
    stored = _parameters(pair_r1_file)
    np.testing.assert_allclose(stored["hillas_intensity"], r1["hillas_intensity"], rtol=1e-9)


def test_stock_process_with_toy_event_source_entry_point(pair_dl1_file, pair_args, tmp_path):
    n_showers, seed = pair_args
    config = tmp_path / "toy.yaml"
    tailcuts = DEFAULT_PROCESSING_CONFIG["TailcutsImageCleaner"]
    geometry = default_processing_config()
    config.write_text(
        "SST1MToyEventSource:\n"
        f"  n_showers: {n_showers}\n"
        f"  seed: {seed}\n"
        "ImageProcessor:\n"
        "  use_telescope_frame: true\n"
        "TailcutsImageCleaner:\n"
        + "".join(f"  {key}: {value}\n" for key, value in tailcuts.items())
        + "DataWriter:\n  write_dl2: true\n"
        + yaml.safe_dump(
            {
                name: json.loads(json.dumps(geometry[name]))
                for name in ("ShowerProcessor", "HillasReconstructor")
            }
        )
    )
    processed = _process(tmp_path, tmp_path / "gamma.sst1mtoy", config)
    run = read_table(processed, "/configuration/simulation/run")
    assert run["n_showers"].tolist() == [n_showers]
    dist = read_table(processed, "/simulation/service/shower_distribution")
    assert dist["n_entries"].sum() == n_showers
    shower = read_table(processed, "/simulation/event/subarray/shower")
    assert np.all(shower["true_shower_primary_id"] == 0)
    # the same seed and cleaning give exactly the events and images of sst1m-simulate
    toy = _parameters(processed)
    reference = _parameters(pair_dl1_file)
    assert len(toy) == len(reference) > 30
    matched = join(toy, reference, keys=KEYS, table_names=["toy", "ref"])
    assert len(matched) == len(reference)
    np.testing.assert_allclose(
        matched["hillas_intensity_toy"], matched["hillas_intensity_ref"], rtol=1e-9
    )
    # and stock ShowerProcessor gives the stereo geometry sst1m-simulate wrote
    node = "/dl2/event/subarray/geometry/HillasReconstructor"
    stock, ours = read_table(processed, node), read_table(pair_dl1_file, node)
    assert len(stock) == len(ours) and np.sum(ours["HillasReconstructor_is_valid"]) > 10
    np.testing.assert_array_equal(stock["event_id"], ours["event_id"])
    for column in ("is_valid", "alt", "az", "core_x", "core_y", "h_max"):
        name = f"HillasReconstructor_{column}"
        np.testing.assert_allclose(np.asarray(stock[name]), np.asarray(ours[name]), rtol=1e-9)
