"""Run and event pairing of sst1m-dl1-stereo as plain functions, and its configuration checks."""

from pathlib import Path
from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from ctapipe.core import run_tool

from ctapipe_sst1m.stereo.matching import WhiteRabbitClosest
from ctapipe_sst1m.stereo.pairing import (
    check_trigger_times,
    match_run,
    matcher_name,
    select_partners,
)
from ctapipe_sst1m.stereo.stereo_file import StereoInputError
from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool

T0 = 1_700_000_000 * 10**9  # 2023-11, White Rabbit era


def _run(name, times, event_ids=None, alt_deg=70.0, obs_id=1):
    times = np.asarray(times, dtype=np.int64)
    ids = np.arange(1, len(times) + 1) if event_ids is None else np.asarray(event_ids)
    n = len(np.atleast_1d(times))

    def pointing_at(t):
        m = len(np.atleast_1d(t))
        return np.full(m, alt_deg) * u.deg, np.full(m, 180.0) * u.deg

    return SimpleNamespace(
        path=Path(name),
        time_ns=times,
        trigger=Table({"event_id": ids, "obs_id": np.full(n, obs_id)}),
        obs_ids=np.array([obs_id]),
        pointing_at=pointing_at,
    )


def test_match_run_pairs_and_keeps_mono_events_once():
    tel1 = _run("a.h5", T0 + np.array([0, 1_000_000, 2_000_000, 3_000_000]))
    # partner run: three coincidences (+100 ns), one event alone at 2.5 ms
    tel2 = _run("b.h5", T0 + np.array([100, 1_000_100, 2_500_000, 3_000_100]))
    runs_2 = [_run("other.h5", [T0 - 10**12]), tel2]
    used = set()
    events, (obs_id, diag) = match_run(
        0, tel1, runs_2, [tel2], WhiteRabbitClosest(), (21, 22), keep_mono=True, used_2=used
    )
    assert obs_id == 1 and diag.n_pairs == 3
    assert events.file_index.tolist() == [[0, 1], [0, 1], [0, -1], [-1, 1], [0, 1]]
    assert events.row_index.tolist() == [[0, 0], [1, 1], [2, -1], [-1, 2], [3, 3]]
    assert np.all(np.diff(events.time_ns) >= 0)
    assert used == {(1, 0), (1, 1), (1, 2), (1, 3)}
    # a second telescope-1 run sharing the partner run does not write its mono events again
    again, _ = match_run(
        1, tel1, runs_2, [tel2], WhiteRabbitClosest(), (21, 22), keep_mono=True, used_2=used
    )
    assert [-1, 1] not in again.file_index.tolist()


def test_select_partners_by_time_and_pointing():
    tel1 = _run("a.h5", T0 + np.arange(10) * 10**9)
    near = _run("near.h5", T0 + np.arange(5) * 10**9, alt_deg=70.1)
    far = _run("far.h5", T0 + np.arange(5) * 10**9, alt_deg=71.0)
    later = _run("later.h5", T0 + 10**12 + np.arange(5))
    assert select_partners(tel1, [near, far, later], 0.2 * u.deg) == [near]
    with pytest.raises(StereoInputError, match=r"far.h5|point 1.00 deg away"):
        select_partners(tel1, [far], 0.2 * u.deg)
    with pytest.raises(StereoInputError, match="a.h5: no common time range"):
        select_partners(tel1, [later], 0.2 * u.deg)
    # the tolerance is an angle: 1.1 deg given in arcmin lets the far run in
    assert select_partners(tel1, [far], 66 * u.arcmin) == [far]


def test_matcher_name_era_rules_and_times():
    assert matcher_name("auto", _run("a.h5", [T0])) == "WhiteRabbitClosest"
    assert matcher_name("SlidingWindow", _run("a.h5", [T0])) == "SlidingWindow"
    with pytest.raises(StereoInputError, match="no White Rabbit time stamps"):
        matcher_name("WhiteRabbitClosest", _run("old.h5", [1_500_000_000 * 10**9]))
    with pytest.raises(StereoInputError, match="trigger times are missing"):
        check_trigger_times(_run("zero.h5", [0, 0, 0]))


def _tool(tmp_path, *argv):
    argv = [*argv, f"--provenance-log={tmp_path / 'p.log'}"]
    return run_tool(DL1StereoTool(), argv=argv, cwd=tmp_path, raises=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ("SlidingWindo:\n  window_half_width: 1 ms\n", "unknown section SlidingWindo"),
        ("SlidingWindow:\n  window_half_width_ns: 100000\n", "did you mean window_half_width"),
    ],
)
def test_config_typos_are_refused(tmp_path, capsys, text, message):
    config = tmp_path / "typo.yaml"
    config.write_text(text)
    out = tmp_path / "s.h5"
    status = _tool(tmp_path, "--tel1=a.h5", "--tel2=b.h5", f"-o={out}", f"-c={config}")
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_durations_need_a_unit(tmp_path, capsys):
    out = tmp_path / "s.h5"
    status = _tool(tmp_path, "--tel1=a.h5", "--tel2=b.h5", f"-o={out}", "--pointing-tolerance=0.5")
    assert status != 0  # traitlets refuses the value while parsing the command line
    assert "Expected angle" in capsys.readouterr().err
    assert not out.exists()
