"""sst1m-high-level on synthetic DL3: products, summary, option parsing and one-line errors."""

import json

import pytest
from ctapipe.core import run_tool

from ctapipe_sst1m.tools.high_level import HighLevelTool, repeat_list_options


def _run(argv, tmp_path):
    argv = [str(a) for a in argv] + [f"--provenance-log={tmp_path / 'hl.provenance.log'}"]
    return run_tool(HighLevelTool(), argv=argv, cwd=tmp_path, raises=False)


def test_repeat_list_options():
    argv = ["-i", "a", "b", "--target", "Crab", "--energy-range", "1", "100", "--obs-ids", "3"]
    assert repeat_list_options(argv) == [
        "-i", "a", "-i", "b", "--target", "Crab", "--energy-range", "1", "--energy-range",
        "100", "--obs-ids", "3",
    ]  # fmt: skip


def test_theta2_products_and_summary(synthetic_index, tmp_path):
    out = tmp_path / "hl"
    argv = ["-i", synthetic_index, "--target", "Crab", "--output-dir", out,
            "--analyses", "theta2", "--n-off", "3", "--theta-cut", "0.15 deg"]  # fmt: skip
    assert _run(argv, tmp_path) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["summary.json", "theta2.ecsv", "theta2.png", "theta2_observations.ecsv"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target"]["name"] == "Crab"
    assert summary["theta2"]["alpha"] == pytest.approx(1 / 3)
    assert summary["theta2"]["theta_cut_deg"] == pytest.approx(0.15)
    assert summary["theta2"]["significance"] > 5
    assert len(summary["provenance"]["observations"]) == 2
    assert all(len(o["sha256"]) == 64 for o in summary["provenance"]["observations"])
    # the outputs exist: a second run without --overwrite is refused in one line (exit 2)
    assert _run(argv, tmp_path) == 2
    assert _run([*argv, "--overwrite", "--obs-ids", "1000"], tmp_path) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["obs_ids"] == [1000]


@pytest.mark.parametrize(
    "argv",
    [
        ["--target", "Nowhere"],
        ["--target", "Crab", "--analyses", "theta2,spectra"],
        ["--target", "Crab", "--energy-range", "10", "1"],
        ["--ra", "200", "--dec", "-30"],  # no observation within 2.5 deg
    ],
)
def test_one_line_errors(synthetic_index, tmp_path, argv):
    assert _run(["-i", synthetic_index, "--output-dir", tmp_path / "x", *argv], tmp_path) == 2
    assert not (tmp_path / "x" / "summary.json").exists()
