"""SST1MPDECorrection: PDE-drop correction of simulated charges inside stock ctapipe-process."""

import numpy as np
import pytest
from ctapipe.core import run_tool
from ctapipe.io import read_table
from ctapipe.tools.process import ProcessorTool
from traitlets import TraitError
from traitlets.config import Config

from ctapipe_sst1m.calib import SST1MPDECorrection
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.simulation import make_toy_file

VI_TEL1_NSB251 = 0.9393873691700036  # mc_pde_correction_factors.json, tel_001, NSB251


@pytest.fixture(scope="module")
def toy_r1_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pde") / "gamma_r1.h5"
    return make_toy_file(path, particle="gamma", n_showers=1200, seed=3, r1=True)


def _process(r1_file, output, pde_drop_factor=None):
    config = Config({"ProcessorTool": {"force_recompute_dl1": True}})
    if pde_drop_factor is not None:
        config.ProcessorTool.monitoring_source_list = ["SST1MPDECorrection"]
        config.SST1MPDECorrection.pde_drop_factor = pde_drop_factor
    argv = [f"--input={r1_file}", f"--output={output}", "--write-images", "--log-level=WARN"]
    assert run_tool(ProcessorTool(config=config), argv, raises=True) == 0
    return {
        tel_id: (
            read_table(output, f"/dl1/event/telescope/images/tel_{tel_id:03d}"),
            read_table(output, f"/dl1/event/telescope/parameters/tel_{tel_id:03d}"),
        )
        for tel_id in (1, 2)
    }


@pytest.fixture(scope="module")
def processed(toy_r1_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("pde_out")
    plain = _process(toy_r1_file, out / "plain.h5")
    corrected = _process(
        toy_r1_file, out / "corrected.h5", [("type", "*", 1.0), ("id", 1, VI_TEL1_NSB251)]
    )
    return plain, corrected


def test_charges_divided_by_pde_drop_factor(processed):
    plain, corrected = processed
    images, params = corrected[1]
    plain_images, plain_params = plain[1]
    assert len(images) == len(plain_images) > 5
    np.testing.assert_array_equal(images["event_id"], plain_images["event_id"])
    ratio = images["image"].sum(axis=1) / plain_images["image"].sum(axis=1)
    np.testing.assert_allclose(ratio, 1 / VI_TEL1_NSB251, rtol=1e-5)
    np.testing.assert_array_equal(images["peak_time"], plain_images["peak_time"])
    # after cleaning, bright images scale by the factor up to the few boundary pixels gained
    bright = plain_params["hillas_intensity"] > 100
    assert bright.sum() >= 3
    intensity_ratio = params["hillas_intensity"][bright] / plain_params["hillas_intensity"][bright]
    assert np.median(intensity_ratio) == pytest.approx(1 / VI_TEL1_NSB251, abs=0.02)


def test_factor_one_changes_nothing(processed):
    plain, corrected = processed
    images, params = corrected[2]
    plain_images, plain_params = plain[2]
    assert len(images) > 5
    np.testing.assert_array_equal(images["image"], plain_images["image"])
    np.testing.assert_array_equal(params["hillas_intensity"], plain_params["hillas_intensity"])


def test_values_and_bad_configuration():
    subarray = sst1m_subarray(tel_ids=(1, 2))
    config = Config({"SST1MPDECorrection": {"pde_drop_factor": [("id", 1, 0.5), ("id", 2, 1.0)]}})
    source = SST1MPDECorrection(subarray=subarray, config=config)
    assert source.correction_factor(1) == 2.0
    values = source.get_values(source.monitoring_types[0], time=None, tel_id=1)
    assert values["factor"].shape == (1, 1296)
    assert np.all(values["factor"] == 2.0)
    assert SST1MPDECorrection(subarray=subarray).correction_factor(2) == 1.0
    with pytest.raises(TraitError, match="positive"):
        SST1MPDECorrection(subarray=subarray, pde_drop_factor=0.0)
    with pytest.raises(TraitError, match="no value for tel 2"):
        SST1MPDECorrection(subarray=subarray, pde_drop_factor=[("id", 1, 0.97)])
