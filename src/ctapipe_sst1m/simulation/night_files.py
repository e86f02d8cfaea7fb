"""Data-like DL1 files of a toy observation night (one telescope, one run per file).

:class:`RunWriter` turns one run of one telescope, simulated by
:class:`~.night.NightSimulator`, into the DL1 file ``sst1m-r0-dl1`` writes from a raw file:
pedestal events feed the SST-1M `~ctapipe_sst1m.calib.PedestalMonitor` (their R1 waveforms are
pure noise of the ``CameraNoiseModel``, extracted by the monitor like real pedestals), shower
images are cleaned with ``ImageCleanerSST`` and the pedestal statistics and parameterised by
ctapipe's ``ImageProcessor``, and ctapipe's ``DataWriter`` writes the file; the ``nsb_level``
column, the image statistics, the pedestal monitoring table and the telescope pointing are
added as ``sst1m-r0-dl1`` does. No ``/simulation`` group is written.
"""

import astropy.units as u
import numpy as np
from ctapipe.containers import (
    ArrayEventContainer,
    CoordinateFrameType,
    DL1CameraContainer,
    EventIndexContainer,
    EventType,
    ObservationBlockContainer,
    ObservingMode,
    PixelStatus,
    PointingMode,
    R1CameraContainer,
    SchedulingBlockContainer,
    TelescopeTriggerContainer,
    TriggerContainer,
)
from ctapipe.core import Component
from ctapipe.image import ImageProcessor
from ctapipe.io import DataWriter, read_table, write_table
from traitlets.config import Config

from ..calib.monitoring import PedestalMonitor
from ..core.config import packaged_config_path, read_config_file
from ..core.signals import raise_if_interrupted
from ..io.clock import tai_ns_to_time
from ..io.datamodel import DL1_IMAGE_STATISTICS_TABLE, DL1_TEL_PARAMETERS_GROUP, tel_path
from .observation import grid_times, interpolate_altaz, write_telescope_pointing

__all__ = [
    "DL1_SECTIONS",
    "FILE_PREFIX",
    "RunHeader",
    "RunWriter",
    "add_nsb_column",
    "data_file_name",
    "dl1_defaults",
    "pedestal_waveform",
]

#: sections of the ``sst1m-r0-dl1`` data defaults used by the night's DL1 processing
DL1_SECTIONS = (
    "CameraCalibrator",
    "ImageProcessor",
    "ImageCleanerSST",
    "LocalPeakWindowSum",
    "PedestalMonitor",
)
#: SST1M1 is telescope 21, SST1M2 telescope 22 (raw-data names)
FILE_PREFIX = {21: "SST1M1", 22: "SST1M2"}


def data_file_name(tel_id, night, run_number):
    """``SST1M{1|2}_{YYYYMMDD}_{RRRR}.dl1.h5`` of a telescope's run."""
    return f"{FILE_PREFIX[tel_id]}_{night.strftime('%Y%m%d')}_{run_number:04d}.dl1.h5"


def dl1_defaults():
    """The DL1 processing sections of ``sst1m-r0-dl1``'s data defaults, as a ``Config``."""
    data = read_config_file(packaged_config_path("r0_dl1_data.yaml"))
    return Config({k: data[k] for k in DL1_SECTIONS if k in data})


#: what the SST-1M source sets for every pixel of a calibrated event
_PIXEL_STORED = np.uint8(PixelStatus.HIGH_GAIN_STORED | PixelStatus.DVR_0)


class RunHeader:
    """The run-level information ctapipe's ``DataWriter`` asks its event source for."""

    is_simulation = False
    simulation_config = {}
    atmosphere_density_profile = None

    def __init__(self, subarray, plan):
        self.subarray = subarray
        self.obs_ids = [plan.obs_id]
        ra, dec = plan.wobble.ra.to_value(u.deg), plan.wobble.dec.to_value(u.deg)
        start = tai_ns_to_time(plan.start_ns)
        self.observation_blocks = {
            plan.obs_id: ObservationBlockContainer(
                obs_id=plan.obs_id,
                sb_id=np.uint64(plan.obs_id),
                producer_id="SST-1M",
                subarray_pointing_lat=dec * u.deg,
                subarray_pointing_lon=ra * u.deg,
                subarray_pointing_frame=CoordinateFrameType.ICRS,
                actual_start_time=start,
                # the run's length, so that DL3 knows where it ends (real raw files do not)
                actual_duration=u.Quantity(plan.duration_ns * 1e-9, u.s).to(u.min),
            )
        }
        self.scheduling_blocks = {
            plan.obs_id: SchedulingBlockContainer(
                sb_id=np.uint64(plan.obs_id),
                producer_id="SST-1M",
                observing_mode=ObservingMode.WOBBLE,
                pointing_mode=PointingMode.TRACK,
            )
        }


class RunWriter(Component):
    """Write one telescope's run of a toy night as an ``sst1m-r0-dl1``-like DL1 file."""

    def __init__(self, simulator, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.simulator = simulator
        self.subarray = simulator.subarray

    def _pedestal_event(self, plan, tel_id, event_id, time, waveform):
        event = ArrayEventContainer()
        event.index = EventIndexContainer(obs_id=plan.obs_id, event_id=int(event_id))
        event.trigger = TriggerContainer(
            time=time,
            tels_with_trigger=np.array([tel_id], dtype=np.uint16),
            event_type=EventType.SKY_PEDESTAL,
        )
        n_pixels = waveform.shape[1]
        event.r1.tel[tel_id] = R1CameraContainer(
            waveform=waveform,
            selected_gain_channel=np.zeros(n_pixels, dtype=np.int8),
            pixel_status=np.full(n_pixels, _PIXEL_STORED, dtype=np.uint8),
            event_type=EventType.SKY_PEDESTAL,
            event_time=time,
        )
        # the monitor calibrates pedestals like images (CameraCalibrator): no pixel is flagged
        event.monitoring.tel[tel_id].camera.coefficients.outlier_mask = np.zeros(
            (1, n_pixels), dtype=bool
        )
        return event

    def write(self, run, tel_id, path):
        """Process and write the run of telescope ``tel_id`` to ``path`` (must not exist)."""
        sim = self.simulator
        plan = run.plan
        noise_rng = sim.pedestal_noise_rng(plan, tel_id)
        sim.reseed_timing_fit(plan, tel_id)
        rec = run.telescopes[tel_id]
        readout = self.subarray.tel[tel_id].camera.readout
        header = RunHeader(self.subarray, plan)
        monitor = PedestalMonitor(subarray=self.subarray, parent=self, write_at_tool_exit=False)
        process = ImageProcessor(subarray=self.subarray, parent=self)
        writer = DataWriter(event_source=header, output_path=path, overwrite=False, parent=self)
        pt_alt, pt_az = interpolate_altaz(run.pointing_grid_ns, *run.pointing[tel_id], rec.time_ns)
        times = tai_ns_to_time(rec.time_ns)
        nsb = sim.nsb_rate_at(plan, rec.true_time_ns)
        statistics = None
        event_ids, levels = [], []
        count = 0
        for k in range(rec.n_accepted):
            raise_if_interrupted()
            time = times[k]
            if rec.is_pedestal[k]:
                sim.camera_noise.nsb_rate = float(nsb[k])
                waveform = pedestal_waveform(sim.camera_noise, noise_rng, readout)
                ped = self._pedestal_event(plan, tel_id, rec.event_id[k], time, waveform)
                monitor(ped, tel_id)
                statistics = ped.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image
                continue
            row = rec.image_index[k]
            event = ArrayEventContainer(
                count=count,
                index=EventIndexContainer(obs_id=plan.obs_id, event_id=int(rec.event_id[k])),
            )
            count += 1
            tel_trigger = TelescopeTriggerContainer(
                time=time,
                event_type=EventType.SUBARRAY,
                n_trigger_pixels=int(run.images["n_patches"][row]),
            )
            event.trigger = TriggerContainer(
                time=time,
                tels_with_trigger=np.array([tel_id], dtype=np.uint16),
                event_type=EventType.SUBARRAY,
                tel={tel_id: tel_trigger},
            )
            event.dl1.tel[tel_id] = DL1CameraContainer(
                image=run.images["charge"][row], peak_time=run.images["peak_time"][row]
            )
            if statistics is not None:
                event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image = statistics
            event.monitoring.tel[tel_id].pointing.altitude = pt_alt[k] * u.rad
            event.monitoring.tel[tel_id].pointing.azimuth = pt_az[k] * u.rad
            process(event)
            writer(event)
            level = monitor.nsb_level(tel_id)
            event_ids.append(int(rec.event_id[k]))
            levels.append(np.nan if level is None else level)
        sim.camera_noise.nsb_rate = sim.base_nsb_rate
        writer.finish()
        monitor.write(path)
        if count:
            add_nsb_column(path, tel_id, np.array(event_ids), np.array(levels, dtype=np.float32))
        write_table(
            process.check_image.to_table(functions=True),
            path,
            DL1_IMAGE_STATISTICS_TABLE,
            append=True,
        )
        grid = run.pointing_grid_ns
        write_telescope_pointing(path, tel_id, grid_times(grid), *run.pointing[tel_id])
        return count


def pedestal_waveform(camera_noise, rng, readout):
    """R1 waveform (1, n_pixels, n_samples) of a signal-free (pedestal) event.

    Identical to ``camera_noise.waveforms(rng, readout, zeros, zeros)`` (the pulse template
    of zero signal is zero, only the noise remains) without the costly template convolution.
    """
    n_pixels = readout.n_pixels
    sample_ns = 1.0 / readout.sampling_rate.to_value("GHz")
    window_samples = max(camera_noise.integration_window / sample_ns, 1.0)
    sigma = np.sqrt(camera_noise.pixel_noise_variance / window_samples)
    shape = (1, n_pixels, readout.n_samples)
    return (sigma * rng.standard_normal(shape)).astype(np.float32)


def add_nsb_column(path, tel_id, event_ids, levels):
    """Add the per-event ``nsb_level`` column to a parameter table, as sst1m-r0-dl1 does."""
    node = tel_path(DL1_TEL_PARAMETERS_GROUP, tel_id)
    table = read_table(path, node)
    if len(table) != len(event_ids) or np.any(np.asarray(table["event_id"]) != event_ids):
        raise RuntimeError(f"{path}: {node} rows do not match the written events")
    table["nsb_level"] = levels
    table["nsb_level"].description = "camera-average pedestal charge (p.e.), causal"
    write_table(table, path, node, overwrite=True)
