"""The packaged measured DigiCam pulses against the reference array file."""

import runpy

import astropy.units as u
import numpy as np
import pytest
from ctapipe.image.extractor import LocalPeakWindowSum, integration_correction
from ctapipe.instrument import SubarrayDescription
from traitlets.config import Config

from ctapipe_sst1m.instrument import (
    PULSE_SHAPES,
    digicam_readout,
    measured_reference_pulse,
    sst1m_subarray,
)
from ctapipe_sst1m.instrument.readout import REFERENCE_PULSES_RESOURCE

from ..conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "make_reference_pulses.py"
SHIPPED = REPO_ROOT / "src" / "ctapipe_sst1m" / "resources" / REFERENCE_PULSES_RESOURCE
#: sst1mpipe's window corrections (7 samples, shift 3) from the measured pulses
SST1MPIPE_CORRECTION = {21: 1.01833, 22: 1.02095}
WINDOW = Config({"LocalPeakWindowSum": {"window_width": 7, "window_shift": 3}})


@pytest.fixture(scope="module")
def reference_file(reference_dir):
    return reference_dir / "sst1m_array.h5"


@pytest.fixture(scope="module")
def reference_subarray(reference_file):
    return SubarrayDescription.from_hdf(reference_file, focal_length_choice="EQUIVALENT")


@pytest.mark.parametrize("tel_id", [21, 22])
def test_shipped_pulse_is_the_measured_one(reference_subarray, tel_id):
    ref = reference_subarray.tel[tel_id].camera.readout
    pulse, width = measured_reference_pulse(tel_id)
    assert pulse.shape == ref.reference_pulse_shape.shape == (1, 1520)
    np.testing.assert_array_equal(pulse, ref.reference_pulse_shape)
    assert u.isclose(width, ref.reference_pulse_sample_width, rtol=1e-7)
    # the built readout equals the reference file's readout (ctapipe equality)
    assert digicam_readout(tel_id) == ref
    assert sst1m_subarray().tel[tel_id].camera.readout == ref


def test_pulses_of_the_two_cameras_differ():
    p21, _ = measured_reference_pulse(21)
    p22, _ = measured_reference_pulse(22)
    assert not np.allclose(p21, p22)
    with pytest.raises(ValueError, match="no measured DigiCam pulse for telescope 23"):
        measured_reference_pulse(23)


@pytest.mark.parametrize("tel_ids", [(21, 22), (1, 2)])
def test_integration_correction_equals_sst1mpipe(tel_ids):
    """LocalPeakWindowSum on the built subarray gives sst1mpipe's corrections (MC 1, 2 too)."""
    subarray = sst1m_subarray(tel_ids)
    extractor = LocalPeakWindowSum(subarray, config=WINDOW)
    for tel_id, data_id in zip(tel_ids, (21, 22), strict=True):
        readout = subarray.tel[tel_id].camera.readout
        correction = integration_correction(
            readout.reference_pulse_shape,
            readout.reference_pulse_sample_width.to_value(u.ns),
            (1 / readout.sampling_rate).to_value(u.ns),
            7,
            3,
        )[0]
        assert correction == pytest.approx(SST1MPIPE_CORRECTION[data_id], abs=1e-4)
        # what the extractor applies to every charge
        assert extractor._calculate_correction(tel_id)[0] == pytest.approx(correction, rel=1e-12)


@pytest.mark.parametrize("tel_id", [21, 22])
def test_analytic_pulse_would_bias_charges(tel_id):
    """The analytic toy pulse's correction is ~1 % higher: why it is not used for processing."""
    readout = digicam_readout(tel_id, analytic_shape=PULSE_SHAPES[tel_id])
    correction = integration_correction(readout.reference_pulse_shape, 0.1, 4.0, 7, 3)[0]
    assert correction / SST1MPIPE_CORRECTION[tel_id] - 1 == pytest.approx(0.01, abs=0.004)


def test_script_regenerates_the_shipped_table(reference_file, tmp_path):
    """scripts/make_reference_pulses.py on the reference file writes exactly the shipped table."""
    output = tmp_path / "pulses.ecsv"
    script = runpy.run_path(str(SCRIPT))
    assert script["main"](["--reference", str(reference_file), "--output", str(output)]) == output
    assert output.read_text() == SHIPPED.read_text()
