"""Causal pedestal / NSB monitoring for SST-1M from interleaved sky-pedestal events.

The DigiCam baseline follows the night-sky background (NSB), so the NSB shows up only in the
*fluctuations* of pedestal events: the per-pixel RMS of the raw samples (used by the
voltage-drop and dead-pixel logic) and the charge that the local peak search finds in a
signal-free window (the "NSB level", camera average in p.e., which selects the cleaning set).

`PedestalMonitor` keeps, per telescope, a rolling window of the last pedestal images and
baseline RMS values. It is **causal**: an event only sees pedestals recorded up to its own time
(sst1mpipe pre-read the first 1000 pedestals of the file and so gave early events look-ahead
statistics, read the file three times, and used a single NSB level for the whole file).

Where no interleaved pedestals are available yet (start of a run, runs without pedestal
triggers, simulations) the window is filled from *shower-free* data instead, documented in the
``source`` column of the output tables:

* observed data: events whose ctapipe tail-cut cleaning keeps fewer than
  ``shower_free_max_pixels`` pixels, with those pixels (and two rings of neighbours) masked;
* simulations: the pixels without any Cherenkov photon (``true_image == 0``).

On every event the current statistics are written into ctapipe's monitoring container
``event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image`` (mean and std in p.e.,
shape ``(1, n_pixels)``), where `~ctapipe_sst1m.image.ImageCleanerSST` reads them.
"""

import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.time import Time
from ctapipe.containers import ArrayEventContainer, EventType, StatisticsContainer
from ctapipe.core import Provenance, TelescopeComponent, Tool
from ctapipe.core.telescope_component import TelescopeParameter
from ctapipe.core.traits import Bool, ComponentName, Float, Int
from ctapipe.core.traits import Path as PathTrait
from ctapipe.image import dilate, tailcuts_clean
from ctapipe.image.extractor import ImageExtractor
from ctapipe.io import read_table, write_table
from traitlets import List, TraitError, TraitType

from .charge import calibrated_image, make_charge_calibrator

__all__ = [
    "PEDESTAL_MONITORING_GROUP",
    "PEDESTAL_CHUNK_GROUP",
    "PEDESTAL_HISTOGRAM_GROUP",
    "NSBRateTable",
    "PedestalMonitor",
    "RollingPixelWindow",
    "nsb_rate_label",
]

#: rolling (causal) statistics, one row per ``table_interval`` window updates
PEDESTAL_MONITORING_GROUP = "/dl1/monitoring/telescope/pedestal"
#: fixed time-window statistics (``--px-charges``), in ctapipe's pixel-statistics layout
PEDESTAL_CHUNK_GROUP = (
    "/dl1/monitoring/telescope/calibration/camera/pixel_statistics/sky_pedestal_image"
)
#: camera-wide histogram of pedestal pixel charges (``--px-charges``)
PEDESTAL_HISTOGRAM_GROUP = "/dl1/monitoring/telescope/pedestal_charge_histogram"

SOURCE_PEDESTAL = "sky_pedestal"
SOURCE_SHOWER_FREE = "shower_free"
SOURCE_SIMULATION = "simulation_nsb_pixels"

DEFAULT_NSB_RATE_TABLE = [
    ("type", "*", [{"mean_charge_bin_low": 0.0, "nsb_rate": "low"}]),
    (
        "id",
        21,
        [
            {"mean_charge_bin_low": 0.0, "nsb_rate": "low"},
            {"mean_charge_bin_low": 2.3554, "nsb_rate": "med"},
        ],
    ),
    (
        "id",
        22,
        [
            {"mean_charge_bin_low": 0.0, "nsb_rate": "low"},
            {"mean_charge_bin_low": 2.4287, "nsb_rate": "med"},
        ],
    ),
]


def nsb_rate_label(table, nsb_level):
    """Map an NSB level (p.e.) to the NSB rate of the bin with the largest lower edge below it.

    Parameters
    ----------
    table : list of dict
        Entries ``{"mean_charge_bin_low": float, "nsb_rate": label}`` in any order.
    nsb_level : float or None
        Camera-average pedestal charge in p.e.

    Returns
    -------
    label or None
        The ``nsb_rate`` of the matching bin; None if the level is unknown or below every bin.
    """
    if nsb_level is None or not np.isfinite(nsb_level) or not table:
        return None
    chosen = None
    for entry in sorted(table, key=lambda e: e["mean_charge_bin_low"]):
        if entry["mean_charge_bin_low"] <= nsb_level:
            chosen = entry["nsb_rate"]
    return chosen


class NSBRateTable(TraitType):
    """Trait: list of ``{mean_charge_bin_low: float, nsb_rate: label}`` NSB-rate bins."""

    info_text = "a list of {mean_charge_bin_low, nsb_rate} mappings"
    default_value = []

    def validate(self, obj, value):
        if not isinstance(value, list | tuple) or len(value) == 0:
            self.error(obj, value)
        table = []
        for entry in value:
            if not isinstance(entry, dict) or set(entry) != {"mean_charge_bin_low", "nsb_rate"}:
                raise TraitError(
                    "each mean_charge_to_nsb_rate entry needs exactly the keys"
                    f" mean_charge_bin_low and nsb_rate, got {entry!r}"
                )
            table.append(
                {
                    "mean_charge_bin_low": float(entry["mean_charge_bin_low"]),
                    "nsb_rate": entry["nsb_rate"],
                }
            )
        return sorted(table, key=lambda e: e["mean_charge_bin_low"])


class RollingPixelWindow:
    """Per-pixel running mean and std over the last ``size`` images, NaN meaning "no data".

    Sums, sums of squares and counts are updated incrementally, so adding an image costs
    O(n_pixels) whatever the window size.
    """

    def __init__(self, size, n_pixels):
        self.size = int(size)
        self.images = deque()
        self.times = deque()
        self.event_ids = deque()
        self.sum = np.zeros(n_pixels)
        self.sum2 = np.zeros(n_pixels)
        self.count = np.zeros(n_pixels, dtype=np.int64)
        self.n_added = 0

    def __len__(self):
        return len(self.images)

    def add(self, image, time=None, event_id=None):
        """Append one image (NaN entries are ignored), dropping the oldest beyond ``size``."""
        image = np.asarray(image, dtype=np.float32)
        valid = np.isfinite(image)
        values = np.where(valid, image, 0.0).astype(np.float64)
        self.images.append(image)
        self.times.append(time)
        self.event_ids.append(event_id)
        self.sum += values
        self.sum2 += values**2
        self.count += valid
        self.n_added += 1
        while len(self.images) > self.size:
            old = self.images.popleft()
            self.times.popleft()
            self.event_ids.popleft()
            old_valid = np.isfinite(old)
            old_values = np.where(old_valid, old, 0.0).astype(np.float64)
            self.sum -= old_values
            self.sum2 -= old_values**2
            self.count -= old_valid

    def mean(self):
        """Per-pixel mean (NaN where the pixel has no data)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum / self.count, np.nan)

    def std(self):
        """Per-pixel population standard deviation (NaN where the pixel has no data)."""
        mean = self.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(self.count > 0, self.sum2 / self.count, np.nan) - mean**2
        return np.sqrt(np.clip(var, 0.0, None))

    def median(self):
        """Per-pixel median over the window (NaN where the pixel has no data)."""
        if not self.images:
            return np.full(self.sum.shape, np.nan)
        stacked = np.stack(self.images)
        if np.all(np.isnan(stacked)):
            return np.full(self.sum.shape, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pixels without any data
            return (
                np.nanmedian(stacked, axis=0)
                if np.isnan(stacked).any()
                else np.median(stacked, axis=0)
            )


def _rows_to_table(rows):
    """Build a table column by column (keeps `~astropy.time.Time` columns as Time)."""
    table = Table()
    for name in rows[0]:
        values = [row[name] for row in rows]
        if isinstance(values[0], Time):
            table[name] = Time(values)
        elif isinstance(values[0], np.ndarray):
            table[name] = np.stack(values)
        else:
            table[name] = values
    return table


def _frozen_row(values):
    """``values`` as a read-only ``(1, n_pixels)`` float64 array, or None."""
    if values is None:
        return None
    row = np.array(values, dtype=np.float64).reshape(1, -1)
    row.setflags(write=False)
    return row


def _statistics_container(mean, std):
    """Pedestal-image statistics container with read-only ``(1, n_pixels)`` arrays."""
    return StatisticsContainer(mean=_frozen_row(mean), median=None, std=_frozen_row(std))


@dataclass
class _TelescopeState:
    """Everything the monitor keeps for one telescope."""

    pedestal: RollingPixelWindow
    fallback: RollingPixelWindow
    baseline_rms: RollingPixelWindow
    n_pedestal_events: int = 0
    n_events: int = 0
    n_updates: int = 0
    cached: tuple | None = None
    rows: list = field(default_factory=list)
    chunk: RollingPixelWindow | None = None
    chunk_start_s: float | None = None
    chunk_rows: list = field(default_factory=list)
    histogram: np.ndarray | None = None
    warned_fallback: bool = False
    fallback_source: str = SOURCE_SHOWER_FREE
    current_nsb: float | None = None
    container: StatisticsContainer | None = None
    container_key: object = None
    container_nsb: float | None = None
    last_time: object = None
    last_row_update: int = 0


class PedestalMonitor(TelescopeComponent):
    """Causal rolling pedestal statistics and NSB level from interleaved sky-pedestal events.

    Call the monitor on every event, after R1 calibration and before DL1 extraction. For each
    telescope with R1 data it

    * on ``EventType.SKY_PEDESTAL`` events: calibrates the pedestal charge exactly as the DL1
      images (:func:`~ctapipe_sst1m.calib.charge.calibrated_image`: extractor, integration
      correction, window/intensity ``factor``), adds it and the raw-sample RMS (ADC) to the
      rolling windows;
    * otherwise, while fewer than ``min_events`` pedestals are available: feeds the
      shower-free fallback window (see the module documentation);
    * on every event: writes the current mean/std into
      ``event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image``.

    The window state is only changed by events up to the current one (causal). `write`
    stores the monitoring tables in an HDF5 file.
    """

    image_extractor_type = ComponentName(
        ImageExtractor,
        default_value=None,
        allow_none=True,
        help=(
            "Extractor used to compute the pedestal charge; None (default) uses the extractor"
            " of the CameraCalibrator configuration, i.e. exactly the DL1 image extraction."
        ),
    ).tag(config=True)

    window_size = Int(
        default_value=1000,
        min=1,
        help="Number of most recent pedestal images in the rolling charge window.",
    ).tag(config=True)

    baseline_window_size = Int(
        default_value=100,
        min=1,
        help="Number of most recent pedestal events in the rolling raw-sample RMS window.",
    ).tag(config=True)

    min_events = Int(
        default_value=10,
        min=1,
        help=(
            "Minimum number of images in a window before its per-pixel standard deviation is"
            " used (before, only the mean and the NSB level are reported)."
        ),
    ).tag(config=True)

    use_shower_free_events = Bool(
        default_value=True,
        help=(
            "Estimate the pedestal statistics from shower-free events (data) or NSB-only pixels"
            " (simulations) while fewer than min_events interleaved pedestals are available."
        ),
    ).tag(config=True)

    shower_free_every = Int(
        default_value=10,
        min=1,
        help=(
            "Once the fallback window holds min_events images, use only one non-pedestal event"
            " in this many for it (to save time)."
        ),
    ).tag(config=True)

    shower_free_max_pixels = Int(
        default_value=20,
        min=0,
        help=(
            "An observed event counts as shower-free if tail-cut cleaning (8/4 p.e., 2"
            " neighbours) keeps fewer than this many pixels."
        ),
    ).tag(config=True)

    table_interval = Int(
        default_value=20,
        min=1,
        help="Write one row of rolling statistics every this many window updates.",
    ).tag(config=True)

    chunk_duration = Float(
        default_value=10.0,
        min=0.0,
        help=(
            "Duration in seconds of the fixed time windows of pedestal charge statistics"
            " written with store_pixel_charges (sst1mpipe analysis.ped_time_window)."
        ),
    ).tag(config=True)

    store_pixel_charges = Bool(
        default_value=False,
        help=(
            "Also store per-pixel pedestal charge statistics in fixed time windows (ctapipe"
            " pixel-statistics layout, usable for re-cleaning) and the histogram of all"
            " pedestal pixel charges (for MC/data NSB tuning)."
        ),
    ).tag(config=True)

    reclean_path = PathTrait(
        default_value=None,
        allow_none=True,
        exists=True,
        directory_ok=False,
        help=(
            "DL1 file of an earlier run with store_pixel_charges. If given, the statistics of"
            " the stored time window containing each event replace the rolling window"
            " (re-cleaning)."
        ),
    ).tag(config=True)

    output_path = PathTrait(
        default_value=None,
        allow_none=True,
        directory_ok=False,
        help=(
            "File that `write` appends the monitoring tables to; None uses"
            " DataWriter.output_path of the configuration (the ctapipe-process output)."
        ),
    ).tag(config=True)

    write_at_tool_exit = Bool(
        default_value=True,
        help=(
            "When the monitor belongs to a ctapipe Tool (e.g. created by the event source"
            " inside ctapipe-process), append its tables to the output file when the tool"
            " exits (see output_path)."
        ),
    ).tag(config=True)

    mean_charge_to_nsb_rate = TelescopeParameter(
        trait=NSBRateTable(),
        default_value=DEFAULT_NSB_RATE_TABLE,
        help=(
            "Per-telescope list of {mean_charge_bin_low: p.e., nsb_rate: label} mapping the NSB"
            " level to an NSB rate bin (sst1mpipe mean_charge_to_nsb_rate)."
        ),
    ).tag(config=True)

    histogram_range_pe = List(
        default_value=[-10.0, 40.0],
        minlen=2,
        maxlen=2,
        help="Range in p.e. of the pedestal pixel-charge histogram.",
    ).tag(config=True)

    histogram_bins = Int(
        default_value=1000, min=1, help="Number of bins of the pedestal pixel-charge histogram."
    ).tag(config=True)

    #: how the windows are seeded, stored in the output metadata
    seeding = "none: causal windows, shower-free fallback before the first pedestals"

    def __init__(self, subarray, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        self.calibrator = make_charge_calibrator(subarray, self, self.image_extractor_type)
        self._scratch = ArrayEventContainer()
        self._states = {}
        self._reclean = self._read_reclean_tables() if self.reclean_path else None
        self._written = False
        tool = self._parent_tool()
        if tool is not None and self.write_at_tool_exit:
            # runs after the tool's DataWriter and event source are closed (LIFO exit stack),
            # so the tables are appended to the complete output file
            tool._exit_stack.callback(self._write_at_exit)

    def _parent_tool(self):
        parent = self.parent
        while parent is not None and not isinstance(parent, Tool):
            parent = getattr(parent, "parent", None)
        return parent

    def _write_at_exit(self):
        if self._states and not self._written:
            self.write()

    # ------------------------------------------------------------------ state
    def _state(self, tel_id):
        state = self._states.get(tel_id)
        if state is None:
            n_pixels = self.subarray.tel[tel_id].camera.geometry.n_pixels
            state = _TelescopeState(
                pedestal=RollingPixelWindow(self.window_size, n_pixels),
                fallback=RollingPixelWindow(self.window_size, n_pixels),
                baseline_rms=RollingPixelWindow(self.baseline_window_size, n_pixels),
            )
            if self.store_pixel_charges:
                state.histogram = np.zeros(self.histogram_bins, dtype=np.int64)
            self._states[tel_id] = state
        return state

    def _windows(self, state):
        """Windows for (mean, std): interleaved pedestals first, shower-free data before.

        The mean (and so the NSB level) comes from the pedestal window as soon as it holds
        one image: one image of 1296 pixels already gives the camera average. The per-pixel
        std needs ``min_events`` images; until the pedestal window has them it comes from the
        fallback window, if that one has enough.
        """
        ped, fallback = state.pedestal, state.fallback
        mean_window = ped if len(ped) > 0 else (fallback if len(fallback) > 0 else None)
        if len(ped) >= self.min_events:
            std_window = ped
        elif len(fallback) >= self.min_events:
            std_window = fallback
        else:
            std_window = None
        return mean_window, std_window

    # ------------------------------------------------------------------ per event
    def __call__(self, event, tel_id=None):
        """Update the windows with this event and fill its camera monitoring containers.

        Parameters
        ----------
        event : ctapipe.containers.ArrayEventContainer
            Event with R1 waveforms, ``trigger.event_type`` and ``trigger.time``.
        tel_id : int or None
            Only process this telescope (the SST-1M event source calls the monitor once per
            telescope); None processes every telescope with R1 data.
        """
        is_pedestal = event.trigger.event_type == EventType.SKY_PEDESTAL
        tel_ids = event.r1.tel.keys() if tel_id is None else [tel_id]
        for tel_id in tel_ids:
            r1 = event.r1.tel[tel_id]
            if r1.waveform is None:
                continue
            state = self._state(tel_id)
            state.n_events += 1
            if is_pedestal:
                self._add_pedestal(event, tel_id, state)
            elif self.use_shower_free_events and len(state.pedestal) < self.min_events:
                self._add_fallback(event, tel_id, state)
            self._fill_container(event, tel_id, state)

    def _extract(self, event, tel_id):
        """Pedestal charge image: the DL1 calibration of this event, outliers set to NaN.

        The image gets exactly the corrections of the DL1 images (see
        :mod:`ctapipe_sst1m.calib.charge`); pixels of the outlier mask, which the DL1 images
        fill with a neighbour average, carry no measurement and do not enter the statistics.
        """
        image = calibrated_image(self.calibrator, event, tel_id, self._scratch)
        broken = self._outlier_mask(event, tel_id)
        if broken is not None:
            image[np.asarray(broken).reshape(-1)] = np.nan
        return image

    @staticmethod
    def _outlier_mask(event, tel_id):
        mask = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask
        if mask is None:
            return None
        mask = np.asarray(mask, dtype=bool)
        return mask if mask.any() else None

    def _add_pedestal(self, event, tel_id, state):
        image = self._extract(event, tel_id)
        time = event.trigger.time
        state.pedestal.add(image, time, event.index.event_id)
        state.n_pedestal_events += 1
        r0 = event.r0.tel[tel_id].waveform if tel_id in event.r0.tel else None
        if r0 is not None:
            state.baseline_rms.add(np.std(np.asarray(r0[0], dtype=np.float32), axis=-1))
        if self.store_pixel_charges:
            self._add_to_chunk(state, image, time, event.index.event_id)
        self._updated(state, time)

    def _add_fallback(self, event, tel_id, state):
        if len(state.fallback) >= self.min_events and state.n_events % self.shower_free_every:
            return
        geometry = self.subarray.tel[tel_id].camera.geometry
        image = self._extract(event, tel_id)
        sim = event.simulation.tel[tel_id] if event.simulation is not None else None
        if sim is not None and sim.true_image is not None:
            image[np.asarray(sim.true_image) > 0] = np.nan
            state.fallback_source = SOURCE_SIMULATION
        else:
            mask = tailcuts_clean(
                geometry,
                np.nan_to_num(image),
                picture_thresh=8.0,
                boundary_thresh=4.0,
                min_number_picture_neighbors=2,
            )
            if np.count_nonzero(mask) >= self.shower_free_max_pixels:
                return
            for _ in range(2):
                mask = dilate(geometry, mask)
            image[mask] = np.nan
            state.fallback_source = SOURCE_SHOWER_FREE
        if not state.warned_fallback:
            self.log.warning(
                "tel %d: no interleaved pedestal statistics yet; estimating them from %s",
                tel_id,
                state.fallback_source.replace("_", " "),
            )
            state.warned_fallback = True
        state.fallback.add(image, event.trigger.time, event.index.event_id)
        self._updated(state, event.trigger.time)

    def _updated(self, state, time):
        state.cached = None
        state.n_updates += 1
        state.last_time = time
        if state.n_updates % self.table_interval == 1 or self.table_interval == 1:
            state.rows.append(self._rolling_row(state, time))
            state.last_row_update = state.n_updates

    def _statistics(self, state):
        """Return (mean, std, nsb_level, n_events, source), cached until the windows change.

        ``source`` names the window(s) used, e.g. ``sky_pedestal`` or
        ``sky_pedestal+shower_free`` (mean from pedestals, std from shower-free events).
        """
        if state.cached is None:
            mean_window, std_window = self._windows(state)
            if mean_window is None:
                state.cached = (None, None, None, 0, None)
            else:
                names = {id(state.pedestal): SOURCE_PEDESTAL, id(state.fallback): None}
                mean_source = names[id(mean_window)] or state.fallback_source
                source = mean_source
                if std_window is not None and std_window is not mean_window:
                    source += "+" + (names[id(std_window)] or state.fallback_source)
                mean = mean_window.mean()
                std = None if std_window is None else std_window.std()
                nsb = float(np.nanmean(mean)) if np.isfinite(mean).any() else None
                state.cached = (mean, std, nsb, len(mean_window), source)
        return state.cached

    def _fill_container(self, event, tel_id, state):
        """Put the current statistics into the event's camera monitoring container.

        The container and its read-only arrays are built once per window update (or per
        re-cleaning time window) and shared by the following events, so a non-pedestal
        event costs O(1) here and the cleaner can cache its thresholds on their identity.
        """
        if self._reclean is not None:
            index = self._reclean_index(tel_id, event.trigger.time)
            if state.container is None or state.container_key != index:
                mean, std = self._reclean_row(tel_id, index)
                nsb = None if mean is None else float(np.nanmean(mean))
                state.container = _statistics_container(mean, std)
                state.container_key = index
                state.container_nsb = nsb
        elif state.container is None or state.container_key is not state.cached:
            mean, std, nsb, _, _ = self._statistics(state)
            state.container = _statistics_container(mean, std)
            state.container_key = state.cached
            state.container_nsb = nsb
        state.current_nsb = state.container_nsb
        event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image = state.container

    # ------------------------------------------------------------------ accessors
    def nsb_level(self, tel_id):
        """NSB level (camera-average pedestal charge, p.e.) given to the last event, or None."""
        state = self._states.get(tel_id)
        return None if state is None else state.current_nsb

    def nsb_rate(self, tel_id, nsb_level=None):
        """NSB rate label of the current (or given) NSB level from ``mean_charge_to_nsb_rate``."""
        level = self.nsb_level(tel_id) if nsb_level is None else nsb_level
        try:
            table = self.mean_charge_to_nsb_rate.tel[tel_id]
        except KeyError:
            return None
        return nsb_rate_label(table, level)

    def statistics_source(self, tel_id):
        """Where the current statistics come from (sky_pedestal, shower_free, ...) or None."""
        if tel_id not in self._states:
            return None
        return self._statistics(self._states[tel_id])[4]

    def baseline_rms(self, tel_id):
        """Per-pixel mean raw-sample RMS (ADC) over the recent pedestal events, or None."""
        state = self._states.get(tel_id)
        if state is None or len(state.baseline_rms) == 0:
            return None
        return state.baseline_rms.mean()

    def n_pedestal_events(self, tel_id):
        """Number of sky-pedestal events seen so far for ``tel_id``."""
        state = self._states.get(tel_id)
        return 0 if state is None else state.n_pedestal_events

    # ------------------------------------------------------------------ tables
    def _rolling_row(self, state, time):
        mean, std, nsb, n_events, source = self._statistics(state)
        n_pixels = state.pedestal.sum.shape[0]
        nan = np.full(n_pixels, np.nan, dtype=np.float32)
        rms = state.baseline_rms.mean() if len(state.baseline_rms) else nan
        return {
            "time": time,
            "n_events": n_events,
            "source": source or "none",
            "nsb_level": np.nan if nsb is None else nsb,
            "mean": (nan if mean is None else mean).astype(np.float32),
            "std": (nan if std is None else std).astype(np.float32),
            "baseline_rms": np.asarray(rms, dtype=np.float32),
            "is_valid": std is not None,
        }

    def _add_to_chunk(self, state, image, time, event_id):
        seconds = time.unix_tai
        if state.chunk is None or seconds - state.chunk_start_s > self.chunk_duration:
            self._close_chunk(state)
            state.chunk = RollingPixelWindow(np.iinfo(np.int32).max, image.shape[0])
            state.chunk_start_s = seconds
        state.chunk.add(image, time, event_id)
        finite = image[np.isfinite(image)]
        counts, _ = np.histogram(finite, bins=self.histogram_bins, range=self.histogram_range_pe)
        state.histogram += counts

    @staticmethod
    def _close_chunk(state):
        chunk = state.chunk
        if chunk is None or len(chunk) == 0:
            return
        mean, std = chunk.mean(), chunk.std()
        state.chunk_rows.append(
            {
                "time_start": chunk.times[0],
                "time_end": chunk.times[-1],
                "event_id_start": chunk.event_ids[0],
                "event_id_end": chunk.event_ids[-1],
                "n_events": len(chunk),
                "mean": mean[np.newaxis].astype(np.float32),
                "median": chunk.median()[np.newaxis].astype(np.float32),
                "std": std[np.newaxis].astype(np.float32),
                "outlier_mask": ~np.isfinite(mean)[np.newaxis],
                "is_valid": True,
            }
        )
        state.chunk = None

    def to_tables(self):
        """Return the monitoring tables as ``{hdf5_path: astropy.table.Table}``."""
        tables = {}
        for tel_id, state in sorted(self._states.items()):
            if state.n_updates > state.last_row_update:  # final state of the run
                state.rows.append(self._rolling_row(state, state.last_time))
                state.last_row_update = state.n_updates
            if state.rows:
                rolling = _rows_to_table(state.rows)
                rolling["nsb_level"].unit = u.dimensionless_unscaled
                rolling["nsb_level"].description = "camera-average pedestal charge (p.e.)"
                rolling.meta["seeding"] = self.seeding
                rolling.meta["window_size"] = self.window_size
                rolling.meta["min_events"] = self.min_events
                tables[f"{PEDESTAL_MONITORING_GROUP}/tel_{tel_id:03d}"] = rolling
            if self.store_pixel_charges:
                self._close_chunk(state)
                if state.chunk_rows:
                    chunks = _rows_to_table(state.chunk_rows)
                    chunks.meta["chunk_duration_s"] = self.chunk_duration
                    tables[f"{PEDESTAL_CHUNK_GROUP}/tel_{tel_id:03d}"] = chunks
                edges = np.linspace(*self.histogram_range_pe, self.histogram_bins + 1)
                hist = Table(
                    {
                        "bin_low": edges[:-1] * u.dimensionless_unscaled,
                        "bin_high": edges[1:] * u.dimensionless_unscaled,
                        "counts": state.histogram,
                    }
                )
                hist.meta["unit"] = "p.e."
                tables[f"{PEDESTAL_HISTOGRAM_GROUP}/tel_{tel_id:03d}"] = hist
        return tables

    def write(self, path=None):
        """Append the monitoring tables to ``path`` (default: ``output_path``, see its help).

        Returns
        -------
        pathlib.Path or None
            The file written, or None if no path is known or there is nothing to write.
        """
        if path is None:
            path = self.output_path
        if path is None:
            path = self.config.get("DataWriter", {}).get("output_path")
        if path is None:
            self.log.warning("no output path for the pedestal monitoring tables; not written")
            return None
        tables = self.to_tables()
        for table_path, table in tables.items():
            write_table(table, path, table_path, overwrite=True)
        self._written = True
        if tables:
            Provenance().add_output_file(str(path), role="DL1/Monitoring")
        return Path(path)

    # ------------------------------------------------------------------ re-cleaning
    def _read_reclean_tables(self):
        tables = {}
        for tel_id in self.subarray.tel_ids:
            try:
                table = read_table(self.reclean_path, f"{PEDESTAL_CHUNK_GROUP}/tel_{tel_id:03d}")
            except (OSError, LookupError):  # no such file / no table for this telescope
                continue
            table = table[table["n_events"] >= self.min_events]
            if len(table) == 0:
                continue
            starts = Time(table["time_start"]).unix_tai
            tables[tel_id] = (starts, table)
        if not tables:
            raise OSError(
                f"{self.reclean_path} holds no pedestal time windows with >= {self.min_events}"
                " events; produce it with --px-charges (store_pixel_charges) first"
            )
        Provenance().add_input_file(str(self.reclean_path), role="DL1/Monitoring")
        return tables

    def _reclean_index(self, tel_id, time):
        """Row of the stored time window used for an event at ``time`` (None: no table)."""
        if tel_id not in self._reclean:
            return None
        starts, _ = self._reclean[tel_id]
        return max(int(np.searchsorted(starts, time.unix_tai, side="right")) - 1, 0)

    def _reclean_row(self, tel_id, index):
        if index is None:
            return None, None
        row = self._reclean[tel_id][1][index]
        return np.asarray(row["mean"][0], dtype=float), np.asarray(row["std"][0], dtype=float)

    def _reclean_statistics(self, tel_id, time):
        return self._reclean_row(tel_id, self._reclean_index(tel_id, time))

    def reclean_nsb_level(self, tel_id, time):
        """NSB level of the stored time window used for an event at ``time`` (re-cleaning)."""
        mean, _ = self._reclean_statistics(tel_id, time)
        return None if mean is None else float(np.nanmean(mean))
