"""sst1m-dl1-stereo on per-telescope DL1 files split from the toy MC."""

import subprocess
import sys

import numpy as np
import pytest
from ctapipe.core import run_tool
from ctapipe.io import read_table

from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

SERVICE = "/dl1/service/stereo_matching"


def _pair(toy_dl1, tmp_path, split, kw1=None, kw2=None):
    f1, f2 = tmp_path / "tel21.dl1.h5", tmp_path / "tel22.dl1.h5"
    ids1 = split(toy_dl1, f1, 21, drop=0.1, seed=1, **(kw1 or {}))
    ids2 = split(toy_dl1, f2, 22, drop=0.1, seed=2, **(kw2 or {}))
    return f1, f2, ids1, ids2


def _run(f1, f2, out, *extra):
    log = out.parent / "stereo.provenance.log"
    argv = [f"--tel1={f1}", f"--tel2={f2}", f"--output={out}", f"--provenance-log={log}", *extra]
    return run_tool(DL1StereoTool(), argv=argv, cwd=out.parent, raises=False)


@pytest.mark.parametrize(
    "method, kw2",
    [
        ("WhiteRabbitClosest", {"jitter_ns": 30, "renumber": True, "obs_id_shift": 1000}),
        ("SlidingWindow", {"offset_ns": 3_210_000, "jitter_ns": 500, "renumber": True}),
        ("auto", {"jitter_ns": 30}),  # 2024-03 toy date -> SWATEventIDs
    ],
)
def test_rematch_reproduces_mc_event_ids(toy_dl1, tmp_path, split, method, kw2):
    f1, f2, ids1, ids2 = _pair(toy_dl1, tmp_path, split, kw2=kw2)
    out = tmp_path / "stereo.dl1.h5"
    extra = [f"--method={method}"]
    if method == "SlidingWindow":
        extra.append("--SlidingWindow.window_half_width=100 us")
    assert _run(f1, f2, out, *extra) == 0
    events = read_table(out, f"{SERVICE}/events")
    assert np.all(events["is_stereo"])
    # tel-21 ids are the MC ids; tel-22 ids map back to MC ids through the split
    tel22_mc = (
        ids2[np.asarray(events["tel_022_event_id"]) - 1]
        if kw2.get("renumber")
        else np.asarray(events["tel_022_event_id"])
    )
    assert np.array_equal(np.asarray(events["tel_021_event_id"]), tel22_mc)
    assert len(events) == len(np.intersect1d(ids1, ids2))
    summary = read_table(out, f"{SERVICE}/summary")
    expected = "SWATEventIDs" if method == "auto" else method
    assert summary["method"][0] == expected
    if method == "SlidingWindow":
        assert abs(summary["offset"].quantity[0].to_value("ns") - 3_210_000) < 2000
        assert len(read_table(out, f"{SERVICE}/profile")) == 1000
    assert (tmp_path / "stereo.dl1_matching.png").stat().st_size > 5000

    trigger = read_table(out, "/dl1/event/subarray/trigger")
    assert trigger["tels_with_trigger"].all()
    tel_trigger = read_table(out, "/dl1/event/telescope/trigger")
    assert list(tel_trigger["tel_id"][:4]) == [21, 22, 21, 22]
    assert set(tel_trigger["obs_id"]) == {int(trigger["obs_id"][0])}


def test_stock_ctapipe_process_agrees_with_vectorised_geometry(toy_dl1, tmp_path, split):
    f1, f2, _, _ = _pair(toy_dl1, tmp_path, split, kw2={"jitter_ns": 30, "renumber": True})
    out = tmp_path / "stereo.dl1.h5"
    assert _run(f1, f2, out, "--method=WhiteRabbitClosest", "--no-keep-mono") == 0
    config = tmp_path / "process.yaml"
    config.write_text(
        "ShowerProcessor:\n  reconstructor_types: [HillasReconstructor]\n"
        "DataWriter:\n  write_dl2: true\n  write_dl1_parameters: true\n"
    )
    dl2 = tmp_path / "stereo.dl2.h5"
    result = subprocess.run(
        [
            sys.executable.replace("python", "ctapipe-process"),
            f"--input={out}",
            f"--output={dl2}",
            f"--config={config}",
            f"--provenance-log={tmp_path / 'process.provenance.log'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    name = "/dl2/event/subarray/geometry/HillasReconstructor"
    stock = read_table(dl2, name)
    ours = read_table(out, name)
    valid = np.asarray(stock["HillasReconstructor_is_valid"])
    assert valid.sum() > 20
    assert np.array_equal(valid, np.asarray(ours["HillasReconstructor_is_valid"]))
    for column in ("alt", "az", "core_x", "core_y", "h_max"):
        a = np.asarray(stock[f"HillasReconstructor_{column}"])[valid]
        b = np.asarray(ours[f"HillasReconstructor_{column}"])[valid]
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_keep_mono_flags_single_events(toy_dl1, tmp_path, split):
    f1, f2, ids1, ids2 = _pair(toy_dl1, tmp_path, split, kw2={"jitter_ns": 30})
    out = tmp_path / "stereo.dl1.h5"
    assert _run(f1, f2, out, "--method=WhiteRabbitClosest", "--keep-mono") == 0
    events = read_table(out, f"{SERVICE}/events")
    assert np.count_nonzero(events["is_stereo"]) == len(np.intersect1d(ids1, ids2))
    assert len(events) == len(np.union1d(ids1, ids2))
    trigger = read_table(out, "/dl1/event/subarray/trigger")
    n_tels = np.asarray(trigger["tels_with_trigger"]).sum(axis=1)
    assert np.array_equal(n_tels == 2, np.asarray(events["is_stereo"]))


@pytest.mark.parametrize(
    "kw2, tel2_id, message",
    [
        ({}, 21, "are both telescope 21"),
        ({"offset_ns": 3600 * 10**9}, 22, "no common time range"),
        ({"altitude_shift_deg": 1.0}, 22, "point 1.00 deg away"),
        ({"zero_times": True}, 22, "trigger times are missing"),
    ],
)
def test_bad_input_one_line_error_no_output(toy_dl1, tmp_path, split, capfd, kw2, tel2_id, message):
    f1 = tmp_path / "tel21.dl1.h5"
    f2 = tmp_path / "other.dl1.h5"
    split(toy_dl1, f1, 21)
    split(toy_dl1, f2, tel2_id, **kw2)
    out = tmp_path / "stereo.dl1.h5"
    extra = ["--method=WhiteRabbitClosest"] if kw2.get("zero_times") else []
    if kw2.get("offset_ns"):
        extra.append("--method=WhiteRabbitClosest")
    assert _run(f1, f2, out, *extra) == 2
    lines = capfd.readouterr().err.splitlines()
    # ctapipe's ToolConfigurationError idiom: the message in one line, then its --help hint
    errors = [line for line in lines if "ERROR" in line or "CRITICAL" in line]
    errors = [line for line in errors if "Use --help for more info" not in line]
    assert len(errors) == 1 and message in errors[0], errors
    assert not any("Traceback" in line for line in lines)
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith("provenance.log"))
    assert written == ["other.dl1.h5", "tel21.dl1.h5"]
