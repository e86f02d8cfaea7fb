"""The toy production end to end: layout, banks used by the data chain, resume, failures."""

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
import yaml
from astropy.io import fits
from ctapipe.core import run_tool
from toy_production import command, environment, production_yaml, run

from ctapipe_sst1m.irf.bank import list_bank
from ctapipe_sst1m.production import ProductionLayout, load_production, plan_production
from ctapipe_sst1m.production.report import model_fingerprints
from ctapipe_sst1m.version import __version__

NODES = ("ze20_az0", "ze40_az0")


def _entries(manifest):
    """Manifest entries by key, the journal of a running workflow replayed over the file."""
    entries = {}
    if manifest.is_file():
        try:
            entries = {e["key"]: e for e in json.loads(manifest.read_text())["tasks"]}
        except (json.JSONDecodeError, KeyError):
            pass
    journal = manifest.with_name(manifest.name + ".journal.jsonl")
    if journal.is_file():
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            entries[entry["key"]] = entry
    return entries


def test_toy_production_end_to_end_with_two_workers(toy_production):
    out = toy_production.output
    assert "all tasks succeeded" in toy_production.result.stdout
    plan = plan_production(load_production(toy_production.config), out)
    entries = _entries(out / "manifest.json")
    assert {k: e["status"] for k, e in entries.items()} == {t.key: "done" for t in plan.tasks}
    for node in NODES:
        meta = json.loads((out / "models" / node / "models.json").read_text())
        assert set(meta["modes"]) == {"stereo"}
        assert meta["node"]["zenith_deg"] == float(node[2:4])
        assert (out / "performance" / node / "performance_stereo.fits.gz").is_file()
    bank = list_bank(out / "irf")
    assert sorted(set(bank["node"])) == ["zen20.0_az000.0_nsbnone", "zen40.0_az000.0_nsbnone"]
    assert sorted(bank["type"]) == ["FULL-ENCLOSURE"] * 2 + ["POINT-LIKE"] * 2
    assert (out / "irf" / "bank.ecsv").is_file()
    # the merge stage ran: the two proton training runs are one file
    merged = out / "dl1" / "ze20_az0" / "proton_train.dl1.h5"
    import tables

    with tables.open_file(merged) as h5:
        assert h5.root.configuration.simulation.run.nrows == 2
    record = yaml.safe_load((out / "production.yaml").read_text())
    assert record["package_version"] == __version__
    assert record["configuration"]["seed"] == 7
    assert [n["name"] for n in record["configuration"]["nodes"]] == list(NODES)
    summary = (out / "summary.md").read_text()
    for node in NODES:
        row = next(line for line in summary.splitlines() if line.startswith(f"| {node} | stereo"))
        resolution = row.split("|")[4].split("/")[1].strip()  # ΔE/E at 3 TeV
        assert 0.05 < float(resolution) < 1.0
        assert f"`models/{node}/`: forest fingerprints stereo/classifier" in summary


def test_dry_run_lists_every_task_and_runs_nothing(toy_production):
    out = toy_production.output
    before = (out / "manifest.json").stat().st_mtime_ns
    result = run(toy_production.config, out, "--dry-run")
    plan = plan_production(load_production(toy_production.config), out)
    for task in plan.tasks:
        assert f"[up-to-date] {task.key}" in result.stdout
    assert "would-run" not in result.stdout.replace("would-run\n", "")
    assert (out / "manifest.json").stat().st_mtime_ns == before
    fresh = run(toy_production.config, toy_production.root / "fresh", "--dry-run")
    assert fresh.stdout.count("[would-run]") == len(plan.tasks)
    assert not (toy_production.root / "fresh").exists()


def test_a_changed_production_is_refused_in_the_same_directory(toy_production, tmp_path):
    changed = tmp_path / "changed.yaml"
    changed.write_text(toy_production.config.read_text().replace("seed: 7", "seed: 8"))
    result = run(changed, toy_production.output, check=False)
    assert result.returncode == 2
    assert "production.yaml: this production directory was made with a different" in (result.stderr)


@pytest.fixture(scope="module")
def resumed(toy_production, tmp_path_factory):
    """The 20° node alone, killed (SIGTERM to the process group) mid-way, then run again."""
    root = tmp_path_factory.mktemp("resumed")
    config = production_yaml(root / "production.yaml", nodes=(20,))
    out = root / "PROD"
    proc = subprocess.Popen(
        command(config, out, "--workers=2"),
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and proc.poll() is None:
        done = [k for k, e in _entries(out / "manifest.json").items() if e["status"] == "done"]
        if len(done) >= 3:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the production ended before it could be killed"
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=120) != 0
    first = {k: e for k, e in _entries(out / "manifest.json").items() if e["status"] == "done"}
    second = run(config, out, "--workers=2")
    return out, first, second, config


def test_killed_production_redoes_nothing_finished_and_gives_the_same_banks(
    resumed, toy_production
):
    out, first, second, _ = resumed
    assert 3 <= len(first) < 13
    final = _entries(out / "manifest.json")
    assert all(e["status"] == "done" for e in final.values())
    for key, entry in first.items():  # not redone: the same run recorded
        assert final[key]["started"] == entry["started"], key
    assert f"{len(first)} up-to-date" in second.stdout or "up-to-date" in second.stdout
    reference = toy_production.output
    assert model_fingerprints(out / "models" / "ze20_az0") == model_fingerprints(
        reference / "models" / "ze20_az0"
    )
    layout, ref_layout = ProductionLayout(out), ProductionLayout(reference)
    names = sorted(p.relative_to(layout.irf) for p in layout.irf.glob("*/*/SST1M_*.fits.gz"))
    assert len(names) == 2
    for name in names:
        with fits.open(layout.irf / name) as a, fits.open(ref_layout.irf / name) as b:
            for hdu_a, hdu_b in zip(a[1:], b[1:], strict=True):
                for column in hdu_a.columns.names:
                    assert np.array_equal(hdu_a.data[column], hdu_b.data[column]), column


def test_a_broken_input_fails_its_task_only_named_in_the_summary(resumed):
    out, _, _, config = resumed
    broken = out / "dl1" / "ze20_az0" / "gamma_diffuse_test.dl1.h5"
    broken.write_bytes(b"not an HDF5 file")
    result = run(config, out, "--stages=dl2", check=False)
    assert result.returncode == 1
    assert "1 task(s) did not succeed" in result.stdout
    assert "failed      dl2/ze20_az0/gamma_diffuse.stereo" in result.stdout
    statuses = {k: e["status"] for k, e in _entries(out / "manifest.json").items()}
    assert statuses["dl2/ze20_az0/gamma_diffuse.stereo"] == "failed"
    assert statuses["dl2/ze20_az0/proton.stereo"] == "done"
    log = (out / "logs" / "dl2" / "ze20_az0.gamma_diffuse.stereo.log").read_text()
    assert str(broken) in log


def test_banks_are_accepted_by_dl1_dl2_and_dl2_dl3(toy_production, chain, tmp_path):
    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
    from ctapipe_sst1m.tools.dl2_dl3 import DL2ToDL3Tool

    prov = f"--provenance-log={tmp_path / 'prov.log'}"
    dl2 = tmp_path / "night.dl2.h5"
    models = toy_production.output / "models"
    argv = [f"--input={chain.stereo_dl1}", f"--models={models}", f"--output={dl2}", prov]
    assert run_tool(DL1ToDL2Tool(), argv=[*argv, "--no-progress"], cwd=tmp_path) == 0
    from ctapipe.io import read_table

    from ctapipe_sst1m.io.datamodel import DL2_MODELS_TABLE

    used = read_table(dl2, DL2_MODELS_TABLE)
    assert used.meta["mode"] == "stereo"
    node = json.loads(used.meta["node"])
    assert node["path"].startswith(str(models)) and node["zenith_deg"] in (20.0, 40.0)
    dl3 = tmp_path / "dl3"
    dl3.mkdir()
    argv = [
        f"--input={dl2}",
        f"--irfs={toy_production.output / 'irf'}",
        f"--output-dir={dl3}",
        "--target=Crab",
        prov,
    ]
    assert run_tool(DL2ToDL3Tool(), argv=argv, cwd=tmp_path) == 0
    files = sorted(dl3.glob("*.fits*"))
    assert files, "no DL3 file"
    with fits.open(files[0]) as hdul:
        names = [h.name for h in hdul]
        assert "EVENTS" in names and "EFFECTIVE AREA" in names
        assert len(hdul["EVENTS"].data) > 0
