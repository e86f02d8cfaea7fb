"""``SST1MEventSource``: DigiCam raw data (R0) → calibrated R1 events for ctapipe.

Registered under the ``ctapipe_io`` entry point, so ``ctapipe-process -i SST1M2_….fits.fz``
picks it up. One source yields the events of one telescope, from one file or from several files
of the same run (``input_urls``), merged in time order. See ``docs/guide/raw_data.rst``.
"""

import heapq
import itertools
import re
from pathlib import Path as PathlibPath

import astropy.units as u
import numpy as np
from astropy.time import Time
from ctapipe.containers import (
    CoordinateFrameType,
    ObservationBlockContainer,
    ObservingMode,
    PointingMode,
    SchedulingBlockContainer,
)
from ctapipe.core import Component
from ctapipe.core.traits import Bool, Dict, Enum, Float, Int, List, Path, Unicode
from ctapipe.io import DataLevel, EventSource
from traitlets import TraitError

from ..calib.r0_corrections import DigiCamR0Corrections
from ..instrument import DATA_TEL_IDS, SST1MArrayLayout
from ..version import __version__  # noqa: F401  (ctapipe-info --plugins reports it)
from .calibration_record import calibration_table, write_calibration_table
from .clock import (
    NS_PER_S,
    WHITE_RABBIT_START,
    clock_time_scale,
    tai_minus_utc_seconds,
    tai_ns_to_time,
)
from .containers import SST1MArrayEventContainer
from .event_types import ctapipe_event_type
from .iers_check import check_iers_coverage
from .pointing import AltAzTrack, parse_target
from .pointing_tables import PointingRecorder
from .tool_outputs import register_at_tool_exit, tool_output_path
from .zfits import (
    DigiCamFile,
    any_array,
    clock_ns,
    count_intact_events,
    digicam_events_header,
    expected_data_end,
)

__all__ = ["SST1MEventSource", "obs_id_from_filename"]

_FILENAME = re.compile(r"SST1M(?P<tel>[12])_(?P<date>\d{8})_(?P<run>\d{4})")
_SUFFIXES = (".fits.fz", ".fits")
#: baseline fixed-point factor of DigiCam firmware since 2018
BASELINE_SCALE = 16
_N_PATCHES = 432
#: largest number of events whose trigger times are converted together (read ahead)
_TIME_CHUNK = 64


def obs_id_from_filename(path):
    """``YYYYMMDDRRRR`` from a file named ``SST1M{1|2}_{YYYYMMDD}_{RRRR}…``, else None."""
    match = _FILENAME.search(PathlibPath(path).name)
    if match is None:
        return None
    return int(match["date"] + match["run"])


def _looks_like_sst1m_name(path):
    name = PathlibPath(path).name
    return _FILENAME.search(name) is not None and name.endswith(_SUFFIXES)


def _optional_int(message, field):
    """protobuf scalar field, 0 if absent (protozfits reports absent fields as None)."""
    return int(getattr(message, field)) if message.HasField(field) else 0


def detect_baseline_scale(samples, baselines, pixel_flags=None):
    """Fixed-point factor of the DigiCam baselines (16 since 2018, 1 in 2017 files).

    Compares the median raw sample with the median baseline and with the median baseline/16
    and returns whichever factor brings the baseline closer to the samples.
    """
    usable = baselines > 0
    if pixel_flags is not None and pixel_flags.size == baselines.size:
        usable &= pixel_flags != 0
    if not np.any(usable):
        return BASELINE_SCALE
    sample_median = float(np.median(samples[usable]))
    baseline_median = float(np.median(baselines[usable]))
    scaled = abs(baseline_median / BASELINE_SCALE - sample_median)
    unscaled = abs(baseline_median - sample_median)
    return BASELINE_SCALE if scaled < unscaled else 1


def _unpack_trigger_traces(raw, n_samples):
    """(432, n_samples) patch input traces from the packed (n_samples, 3, 192) bytes."""
    if raw.size != n_samples * 3 * 192:
        return None
    traces = raw.reshape(n_samples, 3, 192)[:, :, :144].reshape(n_samples, _N_PATCHES)
    return np.ascontiguousarray(traces.T)


def _unpack_trigger_bits(raw, n_samples):
    """(432, n_samples) cluster trigger bits from the packed (n_samples, 3, 18) bytes."""
    if raw.size != n_samples * 3 * 18:
        return None
    bits = np.unpackbits(raw.reshape(n_samples, 3 * 18), axis=1, bitorder="little")
    return np.ascontiguousarray(bits[:, :_N_PATCHES].T.astype(bool))


class SST1MEventSource(EventSource):
    """Read SST-1M DigiCam raw data (zfits) and calibrate it to R1 (p.e. per sample).

    The R0→R1 calibration is done by the :class:`~ctapipe_sst1m.calib.DigiCamR0Corrections`
    sub-component (configure it as ``DigiCamR0Corrections.*``). SST-1M specific fields are in
    ``event.sst1m.tel[tel_id]`` (:class:`~ctapipe_sst1m.io.SST1MCameraContainer`).
    """

    input_urls = List(
        Path(exists=True, directory_ok=False),
        default_value=[],
        help=(
            "Further raw files of the same run and telescope, read together with input_url "
            "and merged in time order."
        ),
    ).tag(config=True)
    telescope_id_map = Dict(
        default_value={1: 21, 2: 22, 21: 21, 22: 22},
        help=(
            "Map of the telescopeID written by the camera to the data telescope id "
            "(2017-era files carry 1 for the telescope now numbered 21)."
        ),
    ).tag(config=True)
    obs_id = Int(
        None,
        allow_none=True,
        help=(
            "Observation id; by default YYYYMMDDRRRR from the file name "
            "SST1M{1|2}_{YYYYMMDD}_{RRRR}, or YYYYMMDD0000 from the first event's date."
        ),
    ).tag(config=True)
    clock_time_scale = Enum(
        ["auto", "tai", "utc"],
        default_value="auto",
        help=(
            "Time scale of the camera clock seconds: 'auto' reads UTC before "
            "white_rabbit_start and TAI from then on."
        ),
    ).tag(config=True)
    white_rabbit_start = Unicode(
        WHITE_RABBIT_START,
        help="UTC date from which the camera clock is White-Rabbit disciplined TAI.",
    ).tag(config=True)
    baseline_scaling = Enum(
        ["auto", "scaled", "unscaled"],
        default_value="auto",
        help=(
            "Whether the DigiCam baselines are 16× fixed-point values ('scaled', firmware "
            "since 2018) or plain ADC ('unscaled', 2017); 'auto' decides from the samples."
        ),
    ).tag(config=True)
    pointing_ra = Float(
        None,
        allow_none=True,
        help="Pointing right ascension (deg, ICRS) used when the file has none or when forced.",
    ).tag(config=True)
    pointing_dec = Float(
        None,
        allow_none=True,
        help="Pointing declination (deg, ICRS) used when the file has none or when forced.",
    ).tag(config=True)
    force_pointing = Bool(
        False,
        help="Use pointing_ra/pointing_dec even if the TARGET header gives coordinates.",
    ).tag(config=True)
    read_trigger_traces = Bool(
        False,
        help="Also unpack the trigger patch traces into event.sst1m (costs time).",
    ).tag(config=True)
    pedestal_monitoring_type = Unicode(
        None,
        allow_none=True,
        help=(
            "Name of a Component called as component(event, tel_id) after the R1 calibration "
            "of every event (e.g. the causal pedestal/NSB monitoring); None for none."
        ),
    ).tag(config=True)

    def __init__(self, input_url=None, config=None, parent=None, **kwargs):
        super().__init__(input_url=input_url, config=config, parent=parent, **kwargs)
        paths = [PathlibPath(self.input_url)]
        paths += [PathlibPath(p) for p in self.input_urls if PathlibPath(p) not in paths]
        self._files = [self._open(path) for path in paths]
        self._files = [f for f in self._files if len(f) > 0]
        if not self._files:
            raise TraitError(f"{paths[0]}: no events in the file(s); give a run with events")

        first_events = [f.first_event() for f in self._files]
        raw_ids = {int(e.telescopeID) for e in first_events}
        if len(raw_ids) > 1:
            raise TraitError(
                f"{paths}: files of different telescopes {sorted(raw_ids)}; "
                "read one telescope per EventSource"
            )
        first = min(first_events, key=clock_ns)
        self._raw_tel_id = raw_ids.pop()
        self.tel_id = self._map_tel_id(self._raw_tel_id, paths[0])
        self._first_clock = clock_ns(first)

        self._time_scale = clock_time_scale(
            self._first_clock, self.clock_time_scale, self.white_rabbit_start
        )
        self._tai_offset_ns = (
            0 if self._time_scale == "tai" else tai_minus_utc_seconds(self._first_clock) * NS_PER_S
        )
        self._wr_start_ns = round(Time(self.white_rabbit_start, scale="utc").unix) * NS_PER_S
        self._first_time = tai_ns_to_time(self._first_clock + self._tai_offset_ns)
        check_iers_coverage(self._first_time, self.log)

        self._obs_id = self._decide_obs_id(paths[0])
        self._use_swat = self._swat_available()
        self._baseline_scale = self._decide_baseline_scale(first)

        self._subarray = SST1MArrayLayout(parent=self).subarray(
            sorted(set(DATA_TEL_IDS) | {self.tel_id})
        )
        self.r0_corrections = DigiCamR0Corrections(subarray=self._subarray, parent=self)
        self.r0_corrections.check_calibration(self.tel_id)
        #: calibration files of the run (path, SHA-256), written into the DL1 output
        self.calibration_files = calibration_table(
            {self.tel_id: self.r0_corrections.calibration_inputs(self.tel_id)}
        )
        register_at_tool_exit(self, self._write_calibration_files)
        self._swap = self.r0_corrections.pixel_permutation(self.tel_id, self._first_time)

        self._setup_pointing(self._files[0].header, paths[0])
        # the per-event alt/az as ctapipe monitoring, written into the DataWriter output
        self.pointing_recorder = PointingRecorder(parent=self)
        if self._track is not None:
            self.pointing_recorder.attach_to_tool()
        self.pedestal_monitoring = self._make_monitoring()
        self._observation_blocks, self._scheduling_blocks = self._make_blocks()

    # ------------------------------------------------------------------ set-up helpers
    def _open(self, path):
        if path.is_file() and path.stat().st_size == 0:
            raise TraitError(f"{path} is empty (0 bytes); give a complete SST-1M raw file")
        header = digicam_events_header(path)
        if header is None:
            raise TraitError(
                f"{path} is not a DigiCam zfits file (no 'Events' table with "
                "PBFHEAD=DataModel.CameraEvent); give an SST-1M raw file SST1M*_*.fits.fz"
            )
        n_expected = int(header.get("ZNAXIS2", 0))
        n_events = None
        try:
            truncated = path.stat().st_size < expected_data_end(path)
        except Exception:  # noqa: BLE001 - a damaged header counts as truncated
            truncated = True
        if truncated:
            n_events = count_intact_events(path, n_expected)
            self.log.warning(
                "%s is truncated: recovered %d of %d events", path, n_events, n_expected
            )
            if n_events == 0:
                raise TraitError(f"{path} is truncated and holds no intact event")
        return DigiCamFile(path, n_events=n_events)

    def _map_tel_id(self, raw_id, path):
        mapping = {int(k): int(v) for k, v in self.telescope_id_map.items()}
        if raw_id not in mapping:
            raise TraitError(
                f"{path}: unknown telescopeID {raw_id}; add it to "
                f"SST1MEventSource.telescope_id_map (known: {sorted(mapping)})"
            )
        return mapping[raw_id]

    def _decide_obs_id(self, path):
        if self.obs_id is not None:
            return int(self.obs_id)
        from_name = obs_id_from_filename(path)
        if from_name is not None:
            return from_name
        date = self._first_time.utc.strftime("%Y%m%d")
        self.log.warning(
            "%s does not follow SST1M{1|2}_YYYYMMDD_RRRR: obs_id %s0000 from the event date "
            "(set SST1MEventSource.obs_id to override)",
            path.name,
            date,
        )
        return int(date) * 10000

    def _swat_available(self):
        events = self._files[0]
        numbers = [
            _optional_int(events.events[i], "arrayEvtNum") for i in range(min(2, len(events)))
        ]
        return any(n != 0 for n in numbers)

    def _decide_baseline_scale(self, message):
        if self.baseline_scaling != "auto":
            return BASELINE_SCALE if self.baseline_scaling == "scaled" else 1
        waveforms = message.hiGain.waveforms
        baselines = any_array(waveforms.baselines, np.int16)
        samples = any_array(waveforms.samples, np.int16).reshape(baselines.size, -1)
        flags = (
            any_array(message.pixels_flags, np.uint16) if message.HasField("pixels_flags") else None
        )
        scale = detect_baseline_scale(samples, baselines, flags)
        self.log.info("baselines are %s (÷%d)", "scaled" if scale > 1 else "unscaled", scale)
        return scale

    def _setup_pointing(self, header, path):
        target = parse_target(header.get("TARGET"))
        manual = self.pointing_ra is not None and self.pointing_dec is not None
        if self.force_pointing and not manual:
            raise TraitError("SST1MEventSource.force_pointing needs pointing_ra and pointing_dec")
        if manual and (self.force_pointing or not target.has_coordinates):
            ra, dec = self.pointing_ra, self.pointing_dec
        elif target.has_coordinates:
            ra, dec = target.ra_deg, target.dec_deg
        else:
            ra = dec = None
            self.log.warning(
                "%s has no pointing in its TARGET header (%r): pointing is NaN; set "
                "SST1MEventSource.pointing_ra/pointing_dec",
                path.name,
                header.get("TARGET"),
            )
        if target.name and target.name.lower() in ("transition", "dark"):
            self.log.warning("%s: TARGET is %r, not a sky observation", path.name, target.name)
        self.target = target
        self.pointing_radec = None if ra is None else (float(ra), float(dec))
        self._track = None
        if ra is not None:
            location = self._subarray.tel_earth_locations[self.tel_id]
            self._track = AltAzTrack.from_radec(ra, dec, location)

    def _write_calibration_files(self):
        path = tool_output_path(self)
        if path is not None and path.is_file():
            write_calibration_table(path, self.calibration_files)

    def _make_monitoring(self):
        if self.pedestal_monitoring_type is None:
            return None
        classes = Component.non_abstract_subclasses()
        cls = classes.get(self.pedestal_monitoring_type)
        if cls is None:
            raise TraitError(
                f"SST1MEventSource.pedestal_monitoring_type: unknown component "
                f"{self.pedestal_monitoring_type!r}"
            )
        try:
            return cls(parent=self, subarray=self._subarray)
        except TypeError:
            return cls(parent=self)

    def _make_blocks(self):
        known = self.pointing_radec is not None
        ra, dec = self.pointing_radec if known else (np.nan, np.nan)
        ob = ObservationBlockContainer(
            obs_id=self._obs_id,
            sb_id=np.uint64(self._obs_id),
            producer_id="SST-1M",
            subarray_pointing_lat=dec * u.deg,
            subarray_pointing_lon=ra * u.deg,
            subarray_pointing_frame=CoordinateFrameType.ICRS
            if known
            else CoordinateFrameType.UNKNOWN,
            actual_start_time=self._first_time,
        )
        sb = SchedulingBlockContainer(
            sb_id=np.uint64(self._obs_id),
            producer_id="SST-1M",
            observing_mode=ObservingMode.WOBBLE
            if self.target.wobble != "UNDEF"
            else ObservingMode.UNKNOWN,
            pointing_mode=PointingMode.TRACK,
        )
        return {self._obs_id: ob}, {self._obs_id: sb}

    # ------------------------------------------------------------------ EventSource API
    @staticmethod
    def is_compatible(file_path):
        """True for DigiCam zfits files, and for files named like SST-1M raw data.

        Claiming a damaged ``SST1M{1|2}_YYYYMMDD_RRRR.fits.fz`` lets the source explain what
        is wrong with it instead of ctapipe reporting that no source fits. Never raises.
        """
        try:
            if digicam_events_header(file_path) is not None:
                return True
            return PathlibPath(file_path).is_file() and _looks_like_sst1m_name(file_path)
        except Exception:  # noqa: BLE001
            return False

    @property
    def subarray(self):
        """The SST-1M subarray (telescopes 21 and 22)."""
        return self._subarray

    @property
    def is_simulation(self):
        """Always False: observed data."""
        return False

    @property
    def datalevels(self):
        """R0 and R1 are filled."""
        return (DataLevel.R0, DataLevel.R1)

    @property
    def observation_blocks(self):
        """One observation block per run, keyed by obs_id."""
        return self._observation_blocks

    @property
    def scheduling_blocks(self):
        """One scheduling block per run, keyed by obs_id."""
        return self._scheduling_blocks

    @property
    def obs_ids(self):
        """The single obs_id of the run."""
        return [self._obs_id]

    @property
    def baseline_scale(self):
        """Fixed-point factor the baselines are divided by (16 or 1)."""
        return self._baseline_scale

    @property
    def time_scale(self):
        """'tai' or 'utc': how the camera clock of this run is read."""
        return self._time_scale

    def close(self):
        """Close all input files."""
        for f in getattr(self, "_files", []):
            f.close()

    def _messages(self):
        """Raw events of all files, merged by camera clock."""
        if len(self._files) == 1:
            yield from self._files[0]
            return
        streams = [
            ((clock_ns(m), i, k, m) for k, m in enumerate(f)) for i, f in enumerate(self._files)
        ]
        for *_, message in heapq.merge(*streams, key=lambda item: item[:3]):
            yield message

    def _generator(self):
        tel_id = self.tel_id
        seen_ids = set()
        n_duplicates = 0
        cached_indices = None
        order = None
        count = 0
        for message, time in self._timed_messages():
            waveforms = message.hiGain.waveforms
            indices = any_array(waveforms.pixelsIndices, np.uint16)
            if cached_indices is None or not np.array_equal(indices, cached_indices):
                cached_indices = indices.copy()
                order = np.argsort(indices)
                if self._swap is not None:
                    order = order[self._swap]

            if self._use_swat:
                event_id = _optional_int(message, "arrayEvtNum")
            else:
                event_id = int(message.eventNumber)
            if event_id in seen_ids:
                n_duplicates += 1
                self.log.warning(
                    "event id %d appears twice in obs %d; the repeated event is skipped",
                    event_id,
                    self._obs_id,
                )
                continue
            seen_ids.add(event_id)

            event = self._fill_event(message, waveforms, order, tel_id, event_id, time)
            event.count = count
            count += 1
            yield event
        if n_duplicates:
            self.log.warning("%d events with repeated ids were skipped", n_duplicates)

    def _timed_messages(self):
        """(message, trigger ``Time``) pairs; the times are converted one chunk at a time.

        One vectorised TAI→``Time`` conversion per chunk of messages read ahead (chunks of
        8, 16, … up to 64 events, so that a short read decodes few extra events) instead of
        one ``Time`` built per event; each event gets the scalar element of the chunk's array.
        """
        messages = self._messages()
        size = 8
        while chunk := list(itertools.islice(messages, size)):
            size = min(2 * size, _TIME_CHUNK)
            tai_ns = np.array([clock_ns(m) for m in chunk], dtype=np.int64) + self._tai_offset_ns
            times = tai_ns_to_time(tai_ns)
            for index, message in enumerate(chunk):
                yield message, times[index]

    def _fill_event(self, message, waveforms, order, tel_id, event_id, time):
        n_pixels = order.size
        samples = any_array(waveforms.samples, np.int16).reshape(n_pixels, -1)[order]
        baseline = any_array(waveforms.baselines, np.int16)[order].astype(np.float32)
        if self._baseline_scale != 1:
            baseline /= self._baseline_scale
        flags = None
        if message.HasField("pixels_flags"):
            flags = any_array(message.pixels_flags, np.uint16)
            flags = flags[order] if flags.size == n_pixels else None

        clock = clock_ns(message)
        tai_ns = clock + self._tai_offset_ns
        camera_type = int(message.event_type)
        event_type = ctapipe_event_type(camera_type)

        event = SST1MArrayEventContainer()
        event.index.obs_id = self._obs_id
        event.index.event_id = event_id
        event.trigger.time = time
        event.trigger.event_type = event_type
        event.trigger.tels_with_trigger = np.array([tel_id])
        tel_trigger = event.trigger.tel[tel_id]
        tel_trigger.time = time
        tel_trigger.event_type = event_type
        event.r0.tel[tel_id].waveform = samples[np.newaxis]

        sst1m = event.sst1m.tel[tel_id]
        sst1m.telescope_id_in_file = self._raw_tel_id
        sst1m.camera_event_number = int(message.eventNumber)
        sst1m.array_event_number = _optional_int(message, "arrayEvtNum")
        sst1m.camera_event_type = camera_type
        sst1m.baseline = baseline
        sst1m.pixel_flags = flags
        sst1m.local_clock_ns = clock
        sst1m.time_scale = self._time_scale
        sst1m.tai_time_ns = tai_ns
        sst1m.white_rabbit_time_ns = clock if clock >= self._wr_start_ns else -1
        if message.HasField("trig"):
            sst1m.gps_time_ns = int(message.trig.timeSec) * NS_PER_S + int(message.trig.timeNanoSec)
        if self.read_trigger_traces:
            n_samples = samples.shape[1]
            sst1m.trigger_input_traces = _unpack_trigger_traces(
                any_array(message.trigger_input_traces, np.uint8), n_samples
            )
            sst1m.trigger_output_patch7 = _unpack_trigger_bits(
                any_array(message.trigger_output_patch7, np.uint8), n_samples
            )
            sst1m.trigger_output_patch19 = _unpack_trigger_bits(
                any_array(message.trigger_output_patch19, np.uint8), n_samples
            )

        self.r0_corrections(event, tel_id)

        pointing = event.monitoring.tel[tel_id].pointing
        if self._track is not None:
            alt, az = self._track.altaz(tai_ns / NS_PER_S)
            pointing.altitude = alt * u.rad
            pointing.azimuth = az * u.rad
            array_pointing = event.monitoring.pointing
            array_pointing.array_altitude = pointing.altitude
            array_pointing.array_azimuth = pointing.azimuth
            array_pointing.array_ra = np.deg2rad(self.pointing_radec[0]) * u.rad
            array_pointing.array_dec = np.deg2rad(self.pointing_radec[1]) * u.rad
            self.pointing_recorder(tel_id, tai_ns / NS_PER_S, alt, az)

        if self.pedestal_monitoring is not None:
            self.pedestal_monitoring(event, tel_id)
        return event
