"""The sped-up DataWriter writes the same files as ctapipe's, and the fast time conversion
gives ctapipe's values bit for bit."""

import numpy as np
import pytest
import tables
from astropy.time import Time
from ctapipe.calib import CameraCalibrator
from ctapipe.core import Provenance
from ctapipe.image import ImageProcessor
from ctapipe.io import DataWriter
from ctapipe.time import time_to_ctao_high_res

from ctapipe_sst1m.core.config import read_config_file
from ctapipe_sst1m.io import SST1MEventSource, fast_writer
from ctapipe_sst1m.io.clock import tai_ns_to_time
from ctapipe_sst1m.io.fast_writer import FastTimeColumnTransform, time_to_ctao_high_res_scalar
from ctapipe_sst1m.tools.r0_dl1 import default_config_path


def test_scalar_conversion_equals_ctapipe():
    rng = np.random.default_rng(3)
    tai_ns = rng.integers(1_500_000_000, 1_800_000_000, 500) * 10**9 + rng.integers(0, 10**9, 500)
    times = [tai_ns_to_time(int(v)) for v in tai_ns]
    times += [Time(2460000.5, f, format="jd", scale="utc") for f in rng.uniform(-0.5, 0.5, 50)]
    transform = FastTimeColumnTransform()
    for time in times:
        expected = time_to_ctao_high_res(time)
        np.testing.assert_array_equal(transform(time), expected, strict=True)
        np.testing.assert_array_equal(transform(time), expected, strict=True)  # cached
        tai = time.tai
        np.testing.assert_array_equal(time_to_ctao_high_res_scalar(tai.jd1, tai.jd2), expected)
    array = tai_ns_to_time(tai_ns[:10])
    np.testing.assert_array_equal(transform(array), time_to_ctao_high_res(array), strict=True)


def _assert_equal(actual, expected, name):
    if expected.dtype.names is None:
        np.testing.assert_array_equal(actual, expected, err_msg=name, strict=True)
        return
    assert actual.dtype == expected.dtype, name
    for column in expected.dtype.names:
        np.testing.assert_array_equal(actual[column], expected[column], err_msg=f"{name}:{column}")


def _leaves(path):
    with tables.open_file(path) as f:
        result = {}
        for node in f.walk_nodes("/", "Leaf"):
            attrs = {k: str(node.attrs[k]) for k in node.attrs._v_attrnamesuser if "DATE" not in k}
            result[node._v_pathname] = (node.read(), attrs)
        return result


@pytest.mark.parametrize("images", [False, True])
def test_same_file_as_ctapipe_data_writer(
    digicam_2018_file, calibration_config, tmp_path, monkeypatch, images
):
    calls = []
    scalar = fast_writer.time_to_ctao_high_res_scalar
    monkeypatch.setattr(
        fast_writer, "time_to_ctao_high_res_scalar", lambda *a: calls.append(a) or scalar(*a)
    )
    config = read_config_file(default_config_path(is_simulation=False))  # SST-1M cleaning
    config.merge(calibration_config)
    with SST1MEventSource(digicam_2018_file, config=config) as source:
        subarray = source.subarray
        calibrate = CameraCalibrator(subarray=subarray, config=config)
        process = ImageProcessor(subarray=subarray, config=config)
        events = []
        for event in source:
            calibrate(event)
            process(event)
            events.append(event)
        outputs = []
        for fast in (False, True):
            path = tmp_path / f"fast_{fast}.h5"
            Provenance().start_activity(f"fast writer {fast}")  # the writer records it
            with DataWriter(
                source, output_path=path, write_dl1_images=images, write_r1_waveforms=images
            ) as writer:
                if fast:
                    fast_writer.speed_up_data_writer(writer)
                for event in events:
                    writer(event)
            Provenance().finish_activity()
            outputs.append(_leaves(path))
    stock, ours = outputs
    assert len(calls) == len(events)  # one conversion per event: the tel trigger reuses it
    assert stock.keys() == ours.keys()
    intensity = ours["/dl1/event/telescope/parameters/tel_022"][0]["hillas_intensity"]
    assert np.count_nonzero(np.isfinite(intensity)) >= 1  # real images, not only NaN rows
    for name, (data, attrs) in stock.items():
        if name.startswith("/configuration/instrument"):
            continue  # the camera order of the subarray tables varies between runs
        _assert_equal(ours[name][0], data, name)
        assert ours[name][1] == attrs, name
