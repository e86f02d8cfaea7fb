"""NSB waveform files: the noise that ``sst1m-tune-nsb`` adds to simulated R1 waveforms.

ctapipe's ``WaveformModifier`` (the ``add_nsb_in_waveforms`` hook of ``ctapipe-process``, which
``sst1m-r0-dl1`` honours) reads its noise from the ``SKY_PEDESTAL`` events of a file opened with
``EventSource(input_url=nsb_file, skip_calibration_events=False)``. In ctapipe 0.32 only sources
with a ``skip_calibration_events`` option can be opened that way (``SimTelEventSource``; not
``HDF5EventSource``, which fails with "Traitlet does not exist"), and no sim_telarray NSB file
exists for the SST-1M toy. An NSB waveform file is therefore a small HDF5 file of its own
(one array ``(n_events, n_gains, n_pixels, n_samples)`` per telescope and the subarray), read by
`SST1MNSBWaveformSource`, a ctapipe event source registered with the package's ``ctapipe_io``
entry point (so stock ``ctapipe-process`` finds it too).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
import tables
from astropy.time import Time
from ctapipe.containers import (
    ArrayEventContainer,
    EventIndexContainer,
    EventType,
    ObservationBlockContainer,
    R1CameraContainer,
    SchedulingBlockContainer,
    TelescopeTriggerContainer,
    TriggerContainer,
)
from ctapipe.core.traits import Bool
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import DataLevel, EventSource

__all__ = ["NSB_FILE_ATTRIBUTE", "SST1MNSBWaveformSource", "write_nsb_waveforms"]

#: root attribute that marks an NSB waveform file (its value: the package version)
NSB_FILE_ATTRIBUTE = "SST1M_NSB_WAVEFORMS"
_GROUP = "/nsb_waveforms"
_OBS_ID = 1


def write_nsb_waveforms(path, subarray, waveforms):
    """Write ``{tel_id: array (n_events, n_gains, n_pixels, n_samples)}`` and ``subarray``."""
    from ..version import __version__

    Path(path).unlink(missing_ok=True)  # a new file: no attribute of an earlier one survives
    subarray.to_hdf(path)
    with tables.open_file(path, mode="a") as h5:
        h5.root._v_attrs[NSB_FILE_ATTRIBUTE] = __version__
        group = h5.create_group("/", _GROUP[1:])
        for tel_id, array in sorted(waveforms.items()):
            h5.create_array(group, f"tel_{int(tel_id):03d}", np.asarray(array, dtype=np.float32))
    return path


class SST1MNSBWaveformSource(EventSource):
    """Sky-pedestal events of an NSB waveform file (`write_nsb_waveforms`)."""

    skip_calibration_events = Bool(
        False,
        help="Accepted for ctapipe's WaveformModifier, which opens NSB files with it; the"
        " events of an NSB waveform file are all sky pedestals and always read.",
    ).tag(config=True)

    def __init__(self, input_url=None, config=None, parent=None, **kwargs):
        super().__init__(input_url=input_url, config=config, parent=parent, **kwargs)
        self._subarray = SubarrayDescription.from_hdf(self.input_url)
        with tables.open_file(self.input_url) as h5:
            self._waveforms = {
                int(node._v_name[4:]): node.read() for node in h5.get_node(_GROUP)._f_iter_nodes()
            }
        self._subarray = self._subarray.select_subarray(sorted(self._waveforms))

    @staticmethod
    def is_compatible(file_path):
        try:
            with tables.open_file(file_path) as h5:
                return NSB_FILE_ATTRIBUTE in h5.root._v_attrs._v_attrnames
        except Exception:  # noqa: BLE001 - any file that is not an HDF5 NSB file
            return False

    @property
    def is_simulation(self):
        return False

    @property
    def datalevels(self):
        return (DataLevel.R1,)

    @property
    def subarray(self):
        return self._subarray

    @property
    def observation_blocks(self):
        return {_OBS_ID: ObservationBlockContainer(obs_id=_OBS_ID)}

    @property
    def scheduling_blocks(self):
        return {_OBS_ID: SchedulingBlockContainer(sb_id=np.uint64(_OBS_ID))}

    def _generator(self):
        n_events = min(len(w) for w in self._waveforms.values())
        start = Time("2000-01-01T00:00:00", scale="tai")
        tel_ids = np.array(sorted(self._waveforms), dtype=np.uint16)
        for i in range(n_events):
            if self.max_events is not None and i >= self.max_events:
                break
            time = start + (i + 1) * u.ms
            event = ArrayEventContainer(
                count=i, index=EventIndexContainer(obs_id=_OBS_ID, event_id=i + 1)
            )
            event.trigger = TriggerContainer(
                time=time,
                tels_with_trigger=tel_ids,
                event_type=EventType.SKY_PEDESTAL,
                tel={
                    int(t): TelescopeTriggerContainer(time=time, event_type=EventType.SKY_PEDESTAL)
                    for t in tel_ids
                },
            )
            for tel_id in tel_ids:
                waveform = self._waveforms[int(tel_id)][i]
                event.r1.tel[int(tel_id)] = R1CameraContainer(
                    waveform=waveform, event_type=EventType.SKY_PEDESTAL, event_time=time
                )
            yield event
