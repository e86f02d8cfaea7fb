"""Processing records: written with the products, compared in one warning line."""

import json
import logging

import pytest

from ctapipe_sst1m.config.processing import (
    difference_message,
    differing_keys,
    read_processing_record,
    warn_if_differs,
    write_processing_record,
)


def _record(**tels):
    return {"ctapipe_sst1m_version": "x", "telescopes": tels, "noise_tuning": {}}


BASE = {
    "image_extractor": "LocalPeakWindowSum",
    "LocalPeakWindowSum.window_width": 7,
    "image_cleaner": "ImageCleanerSST",
    "nsb_bin": "low",
}


def test_differing_keys_with_telescope_map():
    data = _record(**{"21": {**BASE, "LocalPeakWindowSum.window_width": 9, "nsb_bin": "med"}})
    models = _record(**{"1": BASE, "2": {**BASE, "image_cleaner": "TailcutsImageCleaner"}})
    assert differing_keys(data, models, {21: 1}) == ["LocalPeakWindowSum.window_width", "nsb_bin"]
    assert differing_keys(data, models, {21: 2}) == [
        "LocalPeakWindowSum.window_width",
        "image_cleaner",
        "nsb_bin",
    ]
    same = _record(**{"21": BASE})
    assert differing_keys(same, models, {21: 1}) == []
    # an unknown NSB bin, a key on one side only and a missing record are no differences
    unknown = _record(**{"21": {**BASE, "nsb_bin": None, "ImageCleanerSST.new_option": 1}})
    assert differing_keys(unknown, models, {21: 1}) == []
    assert differing_keys(None, models) == [] and differing_keys(data, None) == []
    message = difference_message("run.dl1.h5", "models/", ["nsb_bin"])
    assert (
        message.startswith("run.dl1.h5: processing configuration differs") and "\n" not in message
    )


def test_records_of_sst1m_r0_dl1_and_sst1m_simulate(digicam_dl1, mc_dl1, tmp_path, caplog):
    data = read_processing_record(digicam_dl1)
    mc = read_processing_record(mc_dl1)
    tel22 = data["telescopes"]["22"]
    assert tel22["image_cleaner"] == "ImageCleanerSST" and tel22["nsb_bin"] == "med"
    assert tel22["LocalPeakWindowSum.window_width"] == 7
    assert mc["telescopes"]["2"]["image_cleaner"] == "TailcutsImageCleaner"  # the toy's default
    keys = differing_keys(digicam_dl1, mc_dl1, {21: 1, 22: 2})
    assert "image_cleaner" in keys and "LocalPeakWindowSum.window_width" not in keys
    # a model directory records its training data's processing in models.json
    models = tmp_path / "models"
    models.mkdir()
    (models / "models.json").write_text(json.dumps({"modes": {}, "processing": mc}))
    with caplog.at_level(logging.WARNING):
        found = warn_if_differs(logging.getLogger("t"), digicam_dl1, models, "run", "models/")
    assert found == keys
    assert [r.message for r in caplog.records] == [difference_message("run", "models/", keys)]


def test_record_round_trip_and_corrupt_record(mc_dl1, tmp_path):
    import shutil

    import tables

    from ctapipe_sst1m.io.datamodel import PROCESSING_RECORD_NODE

    path = tmp_path / "copy.h5"
    shutil.copy(mc_dl1, path)
    record = _record(**{"1": BASE})
    write_processing_record(path, record)
    assert read_processing_record(path) == record
    with tables.open_file(path, "a") as h5:
        h5.get_node(PROCESSING_RECORD_NODE)._v_attrs["record"] = "{not json"
    with pytest.raises(ValueError, match="unreadable processing record"):
        read_processing_record(path)


def test_sst1m_dl1_dl2_warns_when_the_models_were_processed_differently(
    digicam_dl1, toy, tmp_path, capsys
):
    from ctapipe.core import run_tool

    from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool

    _, _, models = toy  # trained by sst1m-train-models on sst1m-simulate output (tailcuts)
    training = read_processing_record(models)
    assert training["telescopes"]["2"]["image_cleaner"] == "TailcutsImageCleaner"
    out = tmp_path / "run.dl2.h5"
    argv = [
        f"-i={digicam_dl1}",
        f"-m={models}",
        f"-o={out}",
        "--NodeSelector.max_delta_cos_zenith=1.0",  # the 2018 run is at 78° zenith
        f"--provenance-log={tmp_path / 'p'}",
    ]
    assert run_tool(DL1ToDL2Tool(), argv, cwd=tmp_path, raises=True) == 0
    err = capsys.readouterr().err  # the tool's log (its logger does not propagate to caplog)
    warnings = [line for line in err.splitlines() if "processing configuration differs" in line]
    assert len(warnings) == 1 and "(image_cleaner)" in warnings[0]
    assert read_processing_record(out) == read_processing_record(digicam_dl1)  # DL2 keeps it
