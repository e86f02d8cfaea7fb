"""sst1m-dl1-dl2 (and stock ctapipe-apply-models) on a data-like stereo file of tels 21/22.

The file is made by ``sst1m-dl1-stereo`` from toy MC split per telescope (``stereo_data``); the
models are the MC models keyed by telescopes 1/2 of the session fixture ``toy``
(``tests/tools/conftest.py``).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.coordinates import ICRS, AltAz, SkyCoord
from ctapipe.core import run_tool
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import read_table, write_table

from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool

BIN = Path(sys.executable).parent


def _prefixes(models):
    stereo = json.loads((models / "models.json").read_text())["modes"]["stereo"]
    return {kind: stereo[kind]["prefix"] for kind in ("energy", "disp", "classifier")}


@pytest.mark.slow
def test_stereo_data_file_gets_predictions_for_21_22_with_radec(toy, stereo_data, tmp_path):
    _, _, models = toy
    out = tmp_path / "data.dl2.h5"
    argv = ["-i", str(stereo_data), "-m", str(models), "-o", str(out), "--no-progress"]
    tool = DL1ToDL2Tool()
    assert run_tool(tool, argv, cwd=tmp_path) == 0
    assert tool.progress_bar is False  # stock ApplyModels' flag points at another tool
    prefix = _prefixes(models)
    with tables.open_file(out) as f:  # DL2 tables: fast lz4, with checksums
        filters = f.get_node(f"/dl2/event/subarray/energy/{prefix['energy']}").filters
        assert (filters.complib, filters.fletcher32) == ("blosc:lz4", True)
    n_stereo = len(read_table(stereo_data, "/dl1/event/subarray/trigger"))
    for tel_id in (21, 22):
        node = f"tel_{tel_id:03d}"
        energy = read_table(out, f"/dl2/event/telescope/energy/{prefix['energy']}/{node}")
        gammaness = read_table(
            out, f"/dl2/event/telescope/particle_type/{prefix['classifier']}/{node}"
        )
        valid = np.asarray(energy[f"{prefix['energy']}_tel_is_valid"])
        print(tel_id, len(energy), valid.sum())
        assert valid.sum() > 0.5 * n_stereo
        e = energy[f"{prefix['energy']}_tel_energy"].quantity[valid].to_value(u.TeV)
        assert np.all((e > 0.05) & (e < 500))
        g = np.asarray(gammaness[f"{prefix['classifier']}_tel_prediction"])[valid]
        assert np.all((g >= 0) & (g <= 1)) and np.median(g) > 0.5  # gammas look like gammas

    disp = prefix["disp"]
    geo = read_table(out, f"/dl2/event/subarray/geometry/{disp}")
    sky = read_table(out, f"/dl2/event/subarray/sky/{disp}")
    assert len(sky) == len(geo) == n_stereo
    valid = np.asarray(geo[f"{disp}_is_valid"])
    assert valid.sum() > 0.5 * n_stereo
    ra, dec = sky[f"{disp}_ra"].quantity[valid], sky[f"{disp}_dec"].quantity[valid]
    assert np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))
    # the point-like toy gammas come from the pointing direction: RA/Dec close to its ICRS
    trigger = read_table(out, "/dl1/event/subarray/trigger")[valid]
    pointing = read_table(stereo_data, "/dl0/monitoring/telescope/pointing/tel_021")
    location = SubarrayDescription.from_hdf(stereo_data).reference_location
    frame = AltAz(obstime=trigger["time"], location=location)
    pointing_icrs = SkyCoord(
        alt=pointing["altitude"].quantity[0], az=pointing["azimuth"].quantity[0], frame=frame
    ).transform_to(ICRS())
    separation = SkyCoord(ra=ra, dec=dec, frame=ICRS()).separation(pointing_icrs).to(u.deg)
    print("median distance of RA/Dec to pointing", np.median(separation))
    assert np.median(separation) < 0.5 * u.deg
    assert read_table(out, "/dl2/sst1m_models").meta["mode"] == "stereo"


@pytest.mark.slow
def test_stock_apply_models_runs_on_dl1_stereo_output(toy, stereo_data, tmp_path):
    _, _, models = toy
    ours = tmp_path / "ours.dl2.h5"
    # tiny chunks: chunk boundaries and the appends after the first chunk are compared too
    argv = ["-i", str(stereo_data), "-m", str(models), "-o", str(ours), "--chunk-size=7"]
    assert run_tool(DL1ToDL2Tool(), argv, cwd=tmp_path) == 0
    assert len(read_table(stereo_data, "/dl1/event/subarray/trigger")) > 5 * 7
    stock = tmp_path / "stock.dl2.h5"
    cmd = [str(BIN / "ctapipe-apply-models"), "-i", str(stereo_data), "-o", str(stock)]
    for kind in ("energy", "disp", "classifier"):
        cmd += ["-r", str(models / "stereo" / f"{kind}.pkl")]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    prefix = _prefixes(models)
    path = f"/dl2/event/subarray/geometry/{prefix['disp']}"
    stock_alt = np.asarray(read_table(stock, path)[f"{prefix['disp']}_alt"])
    assert np.count_nonzero(np.isfinite(stock_alt)) > 10
    # the table-level path writes exactly what the stock tool writes: same tables, same rows,
    # same columns and values (telescope masks included), plus the SST-1M RA/Dec tables
    with tables.open_file(stock) as f_stock, tables.open_file(ours) as f_ours:
        stock_tables = {n._v_pathname for n in f_stock.walk_nodes("/dl2/event", "Table")}
        our_tables = {n._v_pathname for n in f_ours.walk_nodes("/dl2/event", "Table")}
        assert our_tables - stock_tables == {f"/dl2/event/subarray/sky/{prefix['disp']}"}
        assert stock_tables <= our_tables
        assert len(stock_tables) >= 12
        for path in sorted(stock_tables):
            theirs = f_stock.get_node(path).read()
            mine = f_ours.get_node(path).read()
            assert theirs.dtype.names == mine.dtype.names, path
            for name in theirs.dtype.names:
                if theirs[name].dtype.kind == "f":
                    np.testing.assert_allclose(
                        mine[name], theirs[name], rtol=1e-12, equal_nan=True, err_msg=path
                    )
                else:
                    np.testing.assert_array_equal(mine[name], theirs[name], err_msg=path)
        energy = read_table(ours, f"/dl2/event/subarray/energy/{prefix['energy']}")
        assert energy[f"{prefix['energy']}_energy"].unit == u.TeV


@pytest.mark.slow
def test_models_with_features_missing_from_file_one_line_error(toy, stereo_data, tmp_path, capfd):
    _, _, models = toy
    # a DL1 file written without timing parameters, which the models were trained on
    reduced = tmp_path / "no_timing.dl1.h5"
    shutil.copy(stereo_data, reduced)
    for tel_id in (21, 22):
        path = f"/dl1/event/telescope/parameters/tel_{tel_id:03d}"
        table = read_table(reduced, path)
        table.remove_columns([c for c in table.colnames if c.startswith("timing_")])
        write_table(table, reduced, path, overwrite=True)
    out = tmp_path / "x.dl2.h5"
    argv = ["-i", str(reduced), "-m", str(models), "-o", str(out)]
    argv.append(f"--provenance-log={tmp_path / 'p.log'}")
    assert run_tool(DL1ToDL2Tool(), argv, cwd=tmp_path, raises=False) == 2
    lines = capfd.readouterr().err.splitlines()
    critical = [line for line in lines if "ERROR" in line and "--help" not in line]
    assert len(critical) == 1, critical
    assert "timing_slope" in critical[0] and "are not in the file" in critical[0]
    assert str(reduced) in critical[0] and "retrain" in critical[0]
    assert not any("Traceback" in line for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no_timing.dl1.h5", "p.log"]
    with tables.open_file(reduced) as f:
        assert "timing_slope" not in f.root.dl1.event.telescope.parameters.tel_021.colnames


def test_has_stereo_features_finds_a_late_valid_event(tmp_path):
    from ctapipe_sst1m.reco.dl2_models import STEREO_GEOMETRY, has_stereo_features

    path = tmp_path / "geometry.h5"
    rows = np.zeros(25_000, dtype=[("event_id", "i8"), ("HillasReconstructor_is_valid", "?")])
    with tables.open_file(path, "w") as f:
        assert not has_stereo_features(f)
        f.create_table(
            "/dl2/event/subarray/geometry", "HillasReconstructor", obj=rows, createparents=True
        )
        assert not has_stereo_features(f)
        f.get_node(STEREO_GEOMETRY).modify_column(
            start=24_999, stop=25_000, column=[True], colname="HillasReconstructor_is_valid"
        )
        assert has_stereo_features(f)


def _dl1_dl2(tmp_path, *argv):
    """Run the real command; (exit status, stderr)."""
    command = [
        str(BIN / "sst1m-dl1-dl2"),
        *map(str, argv),
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    return result.returncode, result.stderr


def _one_error_line(stderr):
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "ERROR" in line and "--help" not in line]
    assert len(errors) == 1, stderr[-2000:]
    return errors[0]


def _left(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file (0 bytes)"),
        (b"not an hdf5 file at all\n" * 10, "not an HDF5 file"),
        (None, "no instrument description (/configuration/instrument/subarray/layout)"),
    ],
)
def test_unusable_input_files_one_line(toy, tmp_path, content, message):
    _, _, models = toy
    bad = tmp_path / "bad.h5"
    if content is None:  # a valid HDF5 file that ctapipe did not write
        with tables.open_file(bad, "w") as f:
            f.create_array("/", "x", np.arange(3))
    else:
        bad.write_bytes(content)
    out = tmp_path / "out.dl2.h5"
    status, stderr = _dl1_dl2(tmp_path, "-i", bad, "-m", models, "-o", out)
    assert status == 2
    line = _one_error_line(stderr)
    assert f"{bad}: {message}" in line and "sst1m-r0-dl1" in line
    assert _left(tmp_path) == ["bad.h5", "p.log"]


@pytest.mark.parametrize(
    "node", ["/dl1/event/subarray/trigger", "/configuration/instrument/subarray/layout"]
)
def test_dl1_missing_trigger_or_instrument_table_one_line(toy, tmp_path, node):
    tmp, files, models = toy
    bad = tmp_path / "cut.dl1.h5"
    shutil.copy(files["mono_only"], bad)
    with tables.open_file(bad, "a") as f:
        f.remove_node(node)
    status, stderr = _dl1_dl2(tmp_path, "-i", bad, "-m", models, "-o", tmp_path / "o.h5")
    assert status == 2
    assert f"{bad}: no " in _one_error_line(stderr) and node in stderr
    assert _left(tmp_path) == ["cut.dl1.h5", "p.log"]


def _model_copy(models, tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(models, copy, ignore=shutil.ignore_patterns("report"))
    return copy


def test_corrupt_models_json_one_line(toy, tmp_path):
    _, files, models = toy
    copy = _model_copy(models, tmp_path)
    (copy / "models.json").write_text('{"modes": {"mono": ')
    status, stderr = _dl1_dl2(
        tmp_path, "-i", files["mono_only"], "-m", copy, "-o", tmp_path / "o.h5"
    )
    assert status == 2
    line = _one_error_line(stderr)
    assert f"{copy / 'models.json'}: not a readable models.json (JSONDecodeError" in line
    assert "retrain" in line
    assert not (tmp_path / "o.h5").exists()


def test_tampered_model_file_is_never_unpickled(toy, tmp_path):
    """A pickle whose bytes differ from models.json is refused before any of its code runs."""
    import pickle

    _, files, models = toy
    copy = _model_copy(models, tmp_path)
    marker = tmp_path / "code_ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (copy / "mono" / "energy.pkl").write_bytes(pickle.dumps(Payload()))
    status, stderr = _dl1_dl2(
        tmp_path, "-i", files["mono_only"], "-m", copy, "-o", tmp_path / "o.h5"
    )
    assert status == 2
    line = _one_error_line(stderr)
    assert "energy.pkl: file hash differs from models.json" in line
    assert not marker.exists()
    assert not (tmp_path / "o.h5").exists()


def test_garbage_pickle_with_matching_hash_one_line(toy, tmp_path):
    """Garbage bytes (the old ``KeyError: 205``) whose hash was recorded: one line, no output."""
    import hashlib

    _, files, models = toy
    copy = _model_copy(models, tmp_path)
    garbage = bytes(range(256)) * 4
    (copy / "mono" / "energy.pkl").write_bytes(b"\x80\x05" + garbage)
    meta = json.loads((copy / "models.json").read_text())
    meta["modes"]["mono"]["energy"]["sha256"] = hashlib.sha256(b"\x80\x05" + garbage).hexdigest()
    (copy / "models.json").write_text(json.dumps(meta))
    status, stderr = _dl1_dl2(
        tmp_path, "-i", files["mono_only"], "-m", copy, "-o", tmp_path / "o.h5"
    )
    assert status == 2
    assert "energy.pkl: not a readable model file" in _one_error_line(stderr)
    assert not (tmp_path / "o.h5").exists()


def test_missing_output_directory_refused_like_the_other_tools(toy, tmp_path):
    _, files, models = toy
    out = tmp_path / "missing" / "o.h5"
    status, stderr = _dl1_dl2(tmp_path, "-i", files["mono_only"], "-m", models, "-o", out)
    assert status == 2
    assert f"output directory {out.parent} does not exist; create it first" in stderr
    assert not out.parent.exists()


def test_missing_telescope_table_is_named_and_the_other_gets_dl2(toy, tmp_path):
    _, files, models = toy
    one = tmp_path / "one_tel.dl1.h5"
    shutil.copy(files["mono_only"], one)
    with tables.open_file(one, "a") as f:
        f.remove_node("/dl1/event/telescope/parameters/tel_002")
    out = tmp_path / "o.h5"
    status, stderr = _dl1_dl2(tmp_path, "-i", one, "-m", models, "-o", out, "--mode=mono")
    assert status == 0, stderr[-2000:]
    warnings = [line for line in stderr.splitlines() if "WARNING" in line and "tel 2" in line]
    assert len(warnings) == 1
    assert "/dl1/event/telescope/parameters/tel_002" in warnings[0] and "no DL2" in warnings[0]
    prefix = json.loads((models / "models.json").read_text())["modes"]["mono"]["energy"]["prefix"]
    with tables.open_file(out) as f:
        group = f.get_node(f"/dl2/event/telescope/energy/{prefix}")
        assert sorted(group._v_children) == ["tel_001"]


def test_dl2_records_the_model_hashes(toy, tmp_path):
    _, files, models = toy
    out = tmp_path / "o.h5"
    status, stderr = _dl1_dl2(tmp_path, "-i", files["mono_only"], "-m", models, "-o", out)
    assert status == 0, stderr[-2000:]
    meta = json.loads((models / "models.json").read_text())["modes"]["mono"]
    recorded = read_table(out, "/dl2/sst1m_models")
    assert sorted(recorded["sha256"]) == sorted(entry["sha256"] for entry in meta.values())
    log = (tmp_path / "p.log").read_text()
    for entry in meta.values():
        assert f"sha256:{entry['sha256']}" in log


def test_reconstructor_option_of_apply_models_is_not_offered(toy, tmp_path):
    _, files, models = toy
    argv = ["-i", files["mono_only"], "-m", models, "-o", tmp_path / "o.h5"]
    status, stderr = _dl1_dl2(tmp_path, *argv, "-r", models / "mono" / "energy.pkl")
    assert status == 2 and not (tmp_path / "o.h5").exists()
    status, stderr = _dl1_dl2(
        tmp_path,
        *argv,
        f"--ApplyModels.reconstructor_paths={[str(models / 'mono' / 'energy.pkl')]}",
    )
    assert status == 2
    assert "reconstructor_paths is not read by sst1m-dl1-dl2" in _one_error_line(stderr)
