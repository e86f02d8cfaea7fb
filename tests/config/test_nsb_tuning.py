"""sst1m-tune-nsb: measured noise, the added NSB, and the MC processed with the tuned config."""

import numpy as np
import pytest
from ctapipe.core import run_tool
from ctapipe.image import WaveformModifier
from ctapipe.instrument import SubarrayDescription

from ctapipe_sst1m.config.nsb_tuning import (
    added_variance,
    data_noise,
    image_noise,
    pixel_noise,
    write_nsb_file,
)
from ctapipe_sst1m.config.processing import read_processing_record
from ctapipe_sst1m.core import packaged_config_path
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool
from ctapipe_sst1m.tools.tune_nsb import TuneNSBTool


def test_pixel_noise_and_added_variance():
    rng = np.random.default_rng(4)
    charges = 2.0 * rng.standard_normal((200, 500)) + 3.0
    usable = rng.random(charges.shape) > 0.3
    assert pixel_noise(charges, usable) == pytest.approx(2.0, rel=0.02)
    assert added_variance(2.0, 1.5) == pytest.approx(1.75)
    assert added_variance(1.0, 1.5) == 0.0  # MC already noisier: nothing added


def test_nsb_file_is_read_by_ctapipe_waveform_modifier(mc_r1, tmp_path):
    subarray = SubarrayDescription.from_hdf(mc_r1)
    path = write_nsb_file(tmp_path / "nsb.h5", subarray, {1: 0.5, 2: 1.5}, 20, 50)
    modifier = WaveformModifier(subarray=subarray, nsb_file=path, nsb_level=1)
    assert set(modifier.total_noise) == {1, 2}
    assert np.std(modifier.total_noise[1]) == pytest.approx(0.5, rel=0.02)
    assert np.std(modifier.total_noise[2]) == pytest.approx(1.5, rel=0.02)


def _tune(tmp_path, mc, data, capsys):
    out = tmp_path / "tuned.yaml"
    argv = [
        f"--config={packaged_config_path('r0_dl1_mc.yaml')}",
        f"--input-mc={mc}",
        f"--input-data={data}",
        f"-o={out}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(TuneNSBTool(), argv, cwd=tmp_path, raises=True) == 0
    printed = capsys.readouterr().out
    return out, printed


def _process(tmp_path, mc, config, name):
    out = tmp_path / name
    argv = [
        f"-i={mc}",
        f"-o={out}",
        f"-c={config}",
        "--DataWriter.write_dl1_images=True",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=True) == 0
    return out


def test_waveform_tuning_to_a_brighter_toy_night(mc_r1, bright_night, tmp_path, capsys):
    target = data_noise(bright_night)[21].value
    tuned, printed = _tune(tmp_path, mc_r1, bright_night, capsys)
    assert (tmp_path / "tuned.nsb.h5").is_file()
    assert "WaveformModifier" in tuned.read_text()
    assert f"data noise {target:.3f} p.e." in printed and "waveform noise" in printed
    plain = image_noise(_process(tmp_path, mc_r1, packaged_config_path("r0_dl1_mc.yaml"), "a.h5"))
    dl1 = _process(tmp_path, mc_r1, tuned, "tuned.dl1.h5")
    after = image_noise(dl1)
    for tel_id in (1, 2):
        assert plain[tel_id].value < 0.8 * target  # the night is noisier than the MC
        assert after[tel_id].value == pytest.approx(target, rel=0.05)
    record = read_processing_record(dl1)
    assert record["noise_tuning"]["1"]["WaveformModifier.nsb_file"].endswith("tuned.nsb.h5")


def test_image_tuning_to_real_digicam_data(mc_dl1, digicam_dl1, tmp_path, capsys):
    measured = data_noise(digicam_dl1)
    assert set(measured) == {22} and measured[22].source.startswith("monitoring:sky_pedestal")
    target = measured[22].value
    before = image_noise(mc_dl1)
    tuned, printed = _tune(tmp_path, mc_dl1, digicam_dl1, capsys)
    assert "ImageModifier" in tuned.read_text() and "ImageModifier Poisson level" in printed
    after = image_noise(_process(tmp_path, mc_dl1, tuned, "tuned.dl1.h5"))
    for tel_id in (1, 2):
        assert before[tel_id].value < 0.8 * target
        assert after[tel_id].value == pytest.approx(target, rel=0.05)


def test_one_line_errors(mc_r1, digicam_dl1, tmp_path, capsys):
    assert run_tool(TuneNSBTool(), [f"--input-mc={mc_r1}"], cwd=tmp_path, raises=False) == 2
    assert "needs --config" in capsys.readouterr().err
    argv = [
        f"--config={packaged_config_path('r0_dl1_mc.yaml')}",
        f"--input-mc={digicam_dl1}",  # neither R1 waveforms nor images
        f"--input-data={digicam_dl1}",
        f"-o={tmp_path / 'x.yaml'}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(TuneNSBTool(), argv, cwd=tmp_path, raises=False) == 2
    assert "neither R1 waveforms nor DL1 images" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()
