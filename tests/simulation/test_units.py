"""The toy's physical constants are quantity traits; bare numbers read in the old units."""

import astropy.units as u
import pytest
from traitlets import TraitError

from ctapipe_sst1m.simulation import CameraNoiseModel, ShowerImageModel, SST1MToyEventSource


def test_image_model_constants_take_units_and_bare_numbers():
    bare = ShowerImageModel(psf_sigma=0.04, light_pool_radius=120, time_gradient=4)
    units = ShowerImageModel(
        psf_sigma="144 arcsec", light_pool_radius="0.12 km", time_gradient="0.004 us / deg"
    )
    assert units.values() == pytest.approx(bare.values())
    assert bare.values() == pytest.approx(ShowerImageModel().values())  # the old defaults
    assert bare.psf_sigma == 0.04 * u.deg
    with pytest.raises(TraitError):
        ShowerImageModel(psf_sigma="3 m")


def test_camera_and_clock_constants_take_units():
    assert CameraNoiseModel(nsb_rate="100 MHz").nsb_mean == pytest.approx(0.1 * 28.0)
    noise = CameraNoiseModel(integration_window="0.028 us", nsb_rate=0.1)
    assert noise.ns("integration_window") == pytest.approx(28.0)
    assert noise.pixel_noise_variance == pytest.approx(CameraNoiseModel().pixel_noise_variance)
    with pytest.raises(TraitError):
        CameraNoiseModel(readout_window="200 m")
    rates = SST1MToyEventSource.class_traits()
    assert rates["trigger_rate"].default_value == 50 * u.Hz
    assert rates["telescope_time_jitter"].default_value == 1 * u.ns
