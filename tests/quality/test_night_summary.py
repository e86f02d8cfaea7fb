"""sst1m-night-summary (PDF + static HTML) and sst1m-data-quality on the shared chain night."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from ctapipe.core import run_tool

from ctapipe_sst1m.quality import read_dq_table
from ctapipe_sst1m.tools.data_quality import DataQualityTool
from ctapipe_sst1m.tools.night_summary import NightSummaryTool

CHROMIUM = Path("/usr/bin/chromium")


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.flagged_rows = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "tr" and attrs.get("class") == "flagged":
            self.flagged_rows += 1


def _pdf_pages(path):
    return len(re.findall(rb"/Type /Page\b(?!s)", path.read_bytes()))


def _summary(argv, tmp_path, raises=False):
    return run_tool(
        NightSummaryTool(), [*argv, f"--provenance-log={tmp_path / 'prov.log'}"], cwd=tmp_path,
        raises=raises,
    )  # fmt: skip


def _check_html(out):
    index = out / "index.html"
    parser = _Images()
    parser.feed(index.read_text())
    assert parser.images, "no figure in the page"
    for src in parser.images:
        assert not src.startswith(("http", "/")), src  # relative: readable without a server
        png = out / src
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
    if CHROMIUM.exists():
        profile = out.parent / "chromium-profile"
        result = subprocess.run(
            [
                str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run",
                f"--user-data-dir={profile}", "--dump-dom", index.as_uri(),
            ],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert result.stdout.count("<img") == len(parser.images)
    return parser


@pytest.fixture(scope="module")
def chain_summary(chain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("summary")
    out = tmp / "summary"
    assert _summary([str(chain.root / "night"), f"--output={out}"], tmp) == 0
    return out


def test_summary_of_the_chain_night(chain_summary, chain):
    out = chain_summary
    pages = _pdf_pages(out / "night_summary.pdf")
    png = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pages == len(png) > 10
    expected = ("dl1_rate", "dl2_rate", "nsb", "stereo_intensity", "tel_021_cog_gamma",
                "wr_dt", "moon", "theta2")  # fmt: skip
    for name in [f"Crab_{e}" for e in expected] + ["status"]:
        assert f"{name}.png" in png
    parser = _check_html(out)
    table = read_dq_table(out / "dq_table.ecsv")
    assert parser.flagged_rows == int((~table["good"]).sum())
    n_runs = len(chain.truth["runs"])
    assert sorted(set(table["tel_setup"])) == ["stereo", "tel_021", "tel_022"]
    for setup in ("tel_021", "tel_022", "stereo"):
        assert np.sum(table["tel_setup"] == setup) == n_runs
    # DL2 files were preferred to the DL1 files of the same runs
    assert np.all(np.isfinite(table["rate_dl2"]))
    text = (out / "index.html").read_text()
    assert "Li &amp; Ma" in text and "no manifest" in text


def test_dq_of_stereo_dl2_has_white_rabbit_statistics(chain, tmp_path):
    out = tmp_path / "dq.ecsv"
    # the DL2 file gives the row, its DL1 (with the matching record) fills in the Δt
    inputs = ["-i", str(chain.stereo_dl1), str(chain.stereo_dl2)]
    argv = [*inputs, f"--output={out}", f"--provenance-log={tmp_path / 'p'}"]
    assert run_tool(DataQualityTool(), argv, cwd=tmp_path) == 0
    table = read_dq_table(out)
    assert set(table["tel_setup"]) == {"stereo"}
    assert len(table) == len(chain.truth["runs"])
    assert np.all(table["n_stereo"] > 0)
    # White-Rabbit era: fixed offsets and a few ns jitter plus the shower-front delays
    assert np.all(np.abs(table["wr_dt_median"].to_value(u.ns)) < 1000)
    assert np.all(table["wr_dt_spread"].to_value(u.ns) < 200)
    assert np.all(table["rate_gamma_like"] <= table["rate_dl2"])
    # the stereo rate is below the rate of each telescope's images
    assert np.all(table["rate_cleaned"] > 0)


def test_summary_of_one_file_with_a_failed_task(dq_night, tmp_path):
    night = tmp_path / "night"
    night.mkdir()
    shutil.copy(dq_night.dl1[0], night)
    manifest = {
        "format": "sst1m-workflow-manifest",
        "tasks": [
            {"key": "r0_dl1/tel_021/0001", "stage": "r0_dl1", "status": "done", "exit_code": 0},
            {
                "key": "dl2/tel_021/0001",
                "stage": "dl2",
                "status": "failed",
                "exit_code": 2,
                "log": "logs/dl2_0001.log",
                "message": "model directory missing",
            },  # fmt: skip
        ],
    }
    (night / "manifest.json").write_text(json.dumps(manifest))
    journal = '{"key": "dl3/x", "stage": "dl3", "status": "blocked"}\n{"broken'
    (night / "manifest.json.journal.jsonl").write_text(journal)
    out = tmp_path / "out"
    # NIGHT_DIR after the options
    assert _summary([f"--output={out}", str(night)], tmp_path) == 0
    _check_html(out)
    text = (out / "index.html").read_text()
    assert "dl2/tel_021/0001" in text and "model directory missing" in text
    assert "dl3/x" in text and "blocked" in text
    assert 'class="flagged">Failed tasks' in text
    table = read_dq_table(out / "dq_table.ecsv")
    assert list(table["tel_setup"]) == ["tel_021"] and len(table) == 1
    # again without --overwrite: refused; with it: replaced
    assert _summary([str(night), f"--output={out}"], tmp_path) == 2
    assert _summary([str(night), f"--output={out}", "--overwrite"], tmp_path) == 0


def test_summary_refuses_bad_command_lines(tmp_path):
    assert _summary([str(tmp_path / "missing"), f"--output={tmp_path / 'o'}"], tmp_path) == 2
    assert _summary([str(tmp_path), str(tmp_path), f"--output={tmp_path / 'o'}"], tmp_path) == 2
    assert _summary([str(tmp_path)], tmp_path) == 2
    assert not (tmp_path / "o").exists()


def test_dq_refuses_bad_inputs(dq_night, tmp_path):
    prov = f"--provenance-log={tmp_path / 'p'}"
    dq = DataQualityTool
    assert (
        run_tool(
            dq(), ["-i", str(dq_night.dl1[0]), "-o", str(tmp_path / "x.txt"), prov], raises=False
        )
        == 2
    )
    # an MC file as observed data
    assert (
        run_tool(dq(), ["-i", str(dq_night.mc), "-o", str(tmp_path / "x.ecsv"), prov], raises=False)
        == 2
    )
    assert run_tool(dq(), ["-i", str(dq_night.dl1[0]), "--mc-reference", str(dq_night.dl1[0]),
                           "-o", str(tmp_path / "x.ecsv"), prov], raises=False) == 2  # fmt: skip
    assert not list(tmp_path.glob("x.*"))
