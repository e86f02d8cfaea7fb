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
triggers, simulations) the statistics come from a *seed* — the last sky-pedestal statistics of
an earlier run of the same night (``seed_path``) — or else from *shower-free* data, documented
in the ``source`` column of the output tables. Shower-free data read the NSB level high (on the
2018 example +8–9 %: physics events are triggered by light, and faint Cherenkov light below the
cleaning thresholds shifts the whole charge distribution, so robust statistics do not remove
it), which is why a seed is preferred when one is available:

* observed data: events whose ctapipe tail-cut cleaning keeps fewer than
  ``shower_free_max_pixels`` pixels, with those pixels (and two rings of neighbours) masked;
* simulations: the pixels without any Cherenkov photon (``true_image == 0``).

On every event the current statistics are written into ctapipe's monitoring container
``event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image`` (mean and std in p.e.,
shape ``(1, n_pixels)``), where `~ctapipe_sst1m.image.ImageCleanerSST` reads them.

Who owns the monitor and its tables
-----------------------------------
* **Raw data**: the monitor is built and called by the SST-1M event source
  (``SST1MEventSource.pedestal_monitoring_type: PedestalMonitor``). It has to be the source: the
  monitor must see the sky-pedestal events, which the tool's ``EventTypeFilter`` drops before
  anything else sees them, and this is what makes stock ``ctapipe-process -c r0_dl1_data.yaml``
  monitor the NSB. ``sst1m-r0-dl1`` uses the source's monitor.
* **Simulations** (no SST-1M source): ``sst1m-r0-dl1`` builds the monitor and calls it after
  the monitoring sources (so the PDE-drop factor is applied to the NSB charges too).
* **The tables** have one writer, the monitor (`PedestalMonitor.write`), and one trigger, a
  `~ctapipe_sst1m.calib.monitoring_tables.MonitoringTablesOutput` context manager entered in
  the tool's exit stack through the public ``Tool.enter_context``. A monitor built inside a
  Tool with ``write_at_tool_exit`` registers its own when it is constructed, which for the
  source-built monitor is before the ``DataWriter`` is entered, so the tables are appended after
  the writer has closed the file. A tool that builds its monitor later registers an output
  before its ``DataWriter`` and attaches the monitor to it (`MonitoringTablesOutput.attach`). The
  output file is ``output_path``, else ``DataWriter.output_path`` (the ctapipe-process output).
  Without a tool, call `PedestalMonitor.write` yourself.
* Tools read the monitor only through its public API: `~PedestalMonitor.telescopes`,
  `~PedestalMonitor.nsb_level`, `~PedestalMonitor.nsb_rate`, `~PedestalMonitor.summary`,
  `~PedestalMonitor.tables`, `~PedestalMonitor.write`.

The rolling statistics live in :mod:`ctapipe_sst1m.calib.rolling`, the table layout and I/O in
:mod:`ctapipe_sst1m.calib.monitoring_tables`, the NSB-rate bins in
:mod:`ctapipe_sst1m.calib.nsb_rate`, the charge calibration shared with the DL1 images in
:mod:`ctapipe_sst1m.calib.charge`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from ctapipe.containers import ArrayEventContainer, EventType, PixelStatus, StatisticsContainer
from ctapipe.core import Provenance, TelescopeComponent, Tool
from ctapipe.core.telescope_component import TelescopeParameter
from ctapipe.core.traits import Bool, ComponentName, Float, Int
from ctapipe.core.traits import Path as PathTrait
from ctapipe.image import dilate, tailcuts_clean
from ctapipe.image.extractor import ImageExtractor
from traitlets import List

from .charge import calibrated_image, make_charge_calibrator
from .monitoring_tables import (
    PEDESTAL_CHUNK_GROUP,
    PEDESTAL_HISTOGRAM_GROUP,
    PEDESTAL_MONITORING_GROUP,
    MonitoringTablesOutput,
    read_pedestal_windows,
    read_rolling_statistics,
    rows_to_table,
    table_path,
    write_tables,
)
from .nsb_rate import DEFAULT_NSB_RATE_TABLE, NSBRateTable, nsb_rate_label
from .rolling import RollingPixelWindow

__all__ = [
    "PEDESTAL_MONITORING_GROUP",
    "PEDESTAL_CHUNK_GROUP",
    "PEDESTAL_HISTOGRAM_GROUP",
    "MonitoringTablesOutput",
    "NSBRateTable",
    "PedestalMonitor",
    "RollingPixelWindow",
    "nsb_rate_label",
]

_SATURATED = np.uint8(PixelStatus.SATURATED)
#: run totals of saturation handling kept per telescope (summary and table metadata)
SATURATION_KEYS = (
    "n_events_saturated",
    "n_pixels_saturated",
    "n_events_reintegrated",
    "n_pixels_reintegrated",
    "n_pixels_not_reintegrated",
)

SOURCE_PEDESTAL = "sky_pedestal"
SOURCE_SEED = "seed"
SOURCE_SHOWER_FREE = "shower_free"
SOURCE_SIMULATION = "simulation_nsb_pixels"


class SeedStatistics:
    """Pedestal statistics of an earlier run, used like a (frozen) rolling window."""

    def __init__(self, mean, std, n_events, time):
        self._mean = np.asarray(mean, dtype=np.float64)
        self._std = None if std is None else np.asarray(std, dtype=np.float64)
        self.n_events = int(n_events)
        self.time = time

    @property
    def has_std(self):
        """True if the seed carries per-pixel standard deviations."""
        return self._std is not None

    def __len__(self):
        return self.n_events

    def mean(self):
        """Per-pixel mean charge (p.e.) of the seed."""
        return self._mean

    def std(self):
        """Per-pixel standard deviation (p.e.) of the seed, or None."""
        return self._std


def read_seed_statistics(path, tel_ids):
    """Last sky-pedestal statistics of each telescope in the DL1 file ``path``.

    Returns
    -------
    dict
        ``{tel_id: SeedStatistics}`` for the telescopes whose rolling table has a row with
        statistics from sky pedestals.

    Raises
    ------
    OSError
        If no telescope has such statistics (the message names the file and the fix).
    """
    seeds = {}
    for tel_id in tel_ids:
        try:
            table = read_rolling_statistics(path, tel_id)
        except OSError:
            continue
        rows = [row for row in table if str(row["source"]).startswith(SOURCE_PEDESTAL)]
        if not rows:
            continue
        row = rows[-1]
        std = np.asarray(row["std"], dtype=np.float64)
        valid = bool(row["is_valid"])  # std of that run (from its pedestals or fallback)
        seeds[tel_id] = SeedStatistics(
            row["mean"],
            std if valid and np.isfinite(std).any() else None,
            row["n_events"],
            row["time"],
        )
    if not seeds:
        raise OSError(
            f"{path}: no rolling pedestal statistics from sky pedestals for telescopes"
            f" {list(tel_ids)}; give a DL1 file of an earlier run written with the monitor"
        )
    Provenance().add_input_file(str(path), role="DL1/Monitoring")
    return seeds


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
    seed: "SeedStatistics | None" = None
    saturation: dict = field(default_factory=lambda: dict.fromkeys(SATURATION_KEYS, 0))


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

    seed_path = PathTrait(
        default_value=None,
        allow_none=True,
        exists=True,
        directory_ok=False,
        help=(
            "DL1 file of an earlier run of the same telescope and night (written with this"
            " monitor, e.g. by sst1m-r0-dl1). Its last sky-pedestal statistics stand in for"
            " the pedestal window until this run's own pedestals arrive, instead of shower-free"
            " events (which read the NSB level 5-10 % high)."
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
            "File that the monitoring tables are appended to; None uses"
            " DataWriter.output_path of the configuration (the ctapipe-process output)."
        ),
    ).tag(config=True)

    write_at_tool_exit = Bool(
        default_value=True,
        help=(
            "When the monitor is built inside a ctapipe Tool (e.g. by the event source inside"
            " ctapipe-process), register a MonitoringTablesOutput with the tool so that the"
            " tables are appended to the output file when the tool exits (see output_path)."
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
        self._reclean = None
        if self.reclean_path:
            self._reclean = read_pedestal_windows(
                self.reclean_path, self.subarray.tel_ids, self.min_events
            )
        self._seeds = None
        if self.seed_path is not None:
            self._seeds = read_seed_statistics(self.seed_path, self.subarray.tel_ids)
            self.seeding = f"seed: last sky-pedestal statistics of {Path(self.seed_path).name}"
        #: the context that writes the tables at tool exit, if the monitor registered one
        self.tables_output = None
        tool = self._parent_tool()
        if tool is not None and self.write_at_tool_exit:
            # closed after everything the tool enters later (LIFO exit stack): built with the
            # event source, the monitor writes after ctapipe-process's DataWriter has closed
            self.tables_output = tool.enter_context(MonitoringTablesOutput(self, self.output_path))

    def _parent_tool(self):
        parent = self.parent
        while parent is not None and not isinstance(parent, Tool):
            parent = getattr(parent, "parent", None)
        return parent

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
            if self._seeds is not None:
                state.seed = self._seeds.get(tel_id)
                if state.seed is None:
                    self.log.warning(
                        "tel %d: %s holds no pedestal statistics of this telescope; not seeded",
                        tel_id,
                        self.seed_path,
                    )
            self._states[tel_id] = state
        return state

    def _windows(self, state):
        """Windows for (mean, std): interleaved pedestals first, shower-free data before.

        The mean (and so the NSB level) comes from the pedestal window as soon as it holds
        one image: one image of 1296 pixels already gives the camera average. The per-pixel
        std needs ``min_events`` images; until the pedestal window has them it comes from the
        seed (`seed_path`) or else the fallback window, if that one has enough.
        """
        ped, fallback, seed = state.pedestal, state.fallback, state.seed
        if len(ped) > 0:
            mean_window = ped
        elif seed is not None:
            mean_window = seed
        else:
            mean_window = fallback if len(fallback) > 0 else None
        if len(ped) >= self.min_events:
            std_window = ped
        elif seed is not None and seed.has_std:
            std_window = seed
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
            if state.n_events == 1 and state.seed is not None:
                self._check_seed_time(tel_id, state.seed, event.trigger.time)
                state.rows.append(self._rolling_row(state, event.trigger.time))  # the seed
            self._count_saturation(event, tel_id, r1, state)
            if is_pedestal:
                self._add_pedestal(event, tel_id, state)
            elif (
                self.use_shower_free_events
                and state.seed is None
                and len(state.pedestal) < self.min_events
            ):
                self._add_fallback(event, tel_id, state)
            self._fill_container(event, tel_id, state)

    def _check_seed_time(self, tel_id, seed, time):
        """Warn once if the seed is not from an earlier run of the same night (12 h)."""
        try:
            delay_h = (time - seed.time).to_value(u.h)
        except (AttributeError, TypeError, ValueError):
            return
        if not 0 <= delay_h <= 12:
            self.log.warning(
                "tel %d: the seed statistics of %s are %.1f h %s this run; give an earlier run"
                " of the same night",
                tel_id,
                self.seed_path,
                abs(delay_h),
                "after" if delay_h < 0 else "before",
            )

    @staticmethod
    def _count_saturation(event, tel_id, r1, state):
        """Run totals of saturated (``PixelStatus.SATURATED``) and re-integrated pixels."""
        counts = state.saturation
        if r1.pixel_status is not None:
            n = int(np.count_nonzero(np.asarray(r1.pixel_status) & _SATURATED))
            counts["n_pixels_saturated"] += n
            counts["n_events_saturated"] += n > 0
        sst1m = getattr(event, "sst1m", None)
        calibration = None if sst1m is None else getattr(sst1m.tel.get(tel_id), "calibration", None)
        if calibration is not None:
            n = int(calibration.n_reintegrated)
            counts["n_pixels_reintegrated"] += n
            counts["n_events_reintegrated"] += n > 0
            failed = calibration.reintegration_failed
            counts["n_pixels_not_reintegrated"] += 0 if failed is None else int(failed.sum())

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
                names = {
                    id(state.pedestal): SOURCE_PEDESTAL,
                    id(state.fallback): None,
                    id(state.seed): SOURCE_SEED,
                }
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
    @property
    def telescopes(self):
        """Sorted ids of the telescopes the monitor has seen events of."""
        return sorted(self._states)

    def summary(self, tel_id):
        """Run summary of ``tel_id`` as a dict (empty if the telescope was never seen).

        Keys: ``nsb_level`` (p.e. or None), ``nsb_rate``, ``source`` (of the current
        statistics), ``n_events``, ``n_pedestal_events``, ``n_shower_free_events`` (images
        in the fallback window so far) and the saturation totals ``n_events_saturated``,
        ``n_pixels_saturated``, ``n_events_reintegrated``, ``n_pixels_reintegrated``,
        ``n_pixels_not_reintegrated``.
        """
        state = self._states.get(tel_id)
        if state is None:
            return {}
        return {
            "nsb_level": self.nsb_level(tel_id),
            "nsb_rate": self.nsb_rate(tel_id),
            "source": self.statistics_source(tel_id),
            "n_events": state.n_events,
            "n_pedestal_events": state.n_pedestal_events,
            "n_shower_free_events": state.fallback.n_added,
            **state.saturation,
        }

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

    def tables(self):
        """The monitoring tables as ``{hdf5_path: astropy.table.Table}`` (call at the end of a run).

        The rolling table of each telescope gets a last row with the final state; with
        ``store_pixel_charges`` the open time window is closed.
        """
        tables = {}
        for tel_id, state in sorted(self._states.items()):
            if state.n_updates > state.last_row_update:  # final state of the run
                state.rows.append(self._rolling_row(state, state.last_time))
                state.last_row_update = state.n_updates
            if state.rows:
                rolling = rows_to_table(state.rows)
                rolling["nsb_level"].unit = u.dimensionless_unscaled
                rolling["nsb_level"].description = "camera-average pedestal charge (p.e.)"
                rolling.meta["seeding"] = self.seeding
                rolling.meta["window_size"] = self.window_size
                rolling.meta["min_events"] = self.min_events
                rolling.meta.update(state.saturation)
                tables[table_path(PEDESTAL_MONITORING_GROUP, tel_id)] = rolling
            if self.store_pixel_charges:
                self._close_chunk(state)
                if state.chunk_rows:
                    chunks = rows_to_table(state.chunk_rows)
                    chunks.meta["chunk_duration_s"] = self.chunk_duration
                    tables[table_path(PEDESTAL_CHUNK_GROUP, tel_id)] = chunks
                edges = np.linspace(*self.histogram_range_pe, self.histogram_bins + 1)
                hist = Table(
                    {
                        "bin_low": edges[:-1] * u.dimensionless_unscaled,
                        "bin_high": edges[1:] * u.dimensionless_unscaled,
                        "counts": state.histogram,
                    }
                )
                hist.meta["unit"] = "p.e."
                tables[table_path(PEDESTAL_HISTOGRAM_GROUP, tel_id)] = hist
        return tables

    def default_output_path(self):
        """``output_path``, else ``DataWriter.output_path`` of the configuration, else None.

        The fallback is what lets the monitor built by the event source inside stock
        ``ctapipe-process`` append its tables to the tool's output file.
        """
        if self.output_path is not None:
            return self.output_path
        path = self.config.get("DataWriter", {}).get("output_path")
        return None if path is None else Path(path)

    def write(self, path=None):
        """Append the monitoring tables to ``path`` (default: `default_output_path`).

        Returns
        -------
        pathlib.Path or None
            The file written, or None if no path is known or there is nothing to write.
        """
        path = self.default_output_path() if path is None else Path(path)
        if not self._states:
            return None
        if path is None:
            self.log.warning("no output path for the pedestal monitoring tables; not written")
            return None
        write_tables(self.tables(), path)
        return path

    # ------------------------------------------------------------------ re-cleaning
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
