"""Tuning the noise of simulations to the night-sky background (NSB) of the data to analyse.

The noise of a camera is measured as LST does: the **median over pixels of the standard
deviation of the pixel charge** in signal-free pixels, in p.e., extracted exactly as the DL1
images:

* observed data (a DL1 of ``sst1m-r0-dl1`` or a toy night): the per-pixel std of the
  interleaved pedestal events in the monitoring table (`~ctapipe_sst1m.calib.PedestalMonitor`,
  last valid row); a file without monitoring but with DL1 images uses the image pixels outside
  the cleaning mask dilated by two rings (`data_noise`);
* simulations at DL1 (with images): the image pixels without any Cherenkov photon
  (``true_image == 0``), the estimate the monitor uses for simulations (`image_noise`);
* simulations at R1: the same pixels after charge extraction of the waveforms with the
  configuration's ``CameraCalibrator`` (`R1NoiseSample`).

The missing noise variance is ``data² − mc²`` (nothing is added where the MC is already
noisier). It is added with ctapipe's own hooks, per telescope:

* **image level** (DL1 MC): ctapipe's ``ImageModifier`` inside ``ImageProcessor`` adds Poisson
  noise of mean λ minus λ to every pixel, i.e. the variance λ = data² − mc²
  (`image_modifier_config`);
* **waveform level** (R1 MC): ``ctapipe-process``'s ``add_nsb_in_waveforms`` hook, ctapipe's
  ``WaveformModifier``, adds to each waveform one of the noise waveforms of an NSB file (its
  ``SKY_PEDESTAL`` events). The per-sample standard deviation of that white noise is solved for
  on the MC's own waveforms so that the extracted noise (the peak search included) matches the
  data (`R1NoiseSample.sigma_for`), and the NSB file is written with it
  (`write_nsb_file`, `waveform_modifier_config`).
"""

from dataclasses import dataclass

import numpy as np
import tables
from ctapipe.image import dilate, tailcuts_clean
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import read_table
from ctapipe.io.hdf5dataformat import R1_TEL_GROUP, SIMULATION_IMAGES_GROUP

from ..core.errors import SST1MInputError
from ..io.datamodel import (
    DL1_TEL_IMAGES_GROUP,
    PEDESTAL_MONITORING_GROUP,
    tel_path,
)
from ..io.nsb_waveforms import write_nsb_waveforms

__all__ = [
    "NoiseMeasurement",
    "TelescopeTuning",
    "mc_level",
    "tune_images",
    "tune_r1_file",
    "tune_waveforms",
    "R1NoiseSample",
    "added_variance",
    "data_noise",
    "image_modifier_config",
    "image_noise",
    "pixel_noise",
    "read_true_images",
    "waveform_modifier_config",
    "write_nsb_file",
]

_TRUE_IMAGES = SIMULATION_IMAGES_GROUP
_R1_GROUP = R1_TEL_GROUP


@dataclass(frozen=True)
class NoiseMeasurement:
    """Noise of one telescope: ``value`` (p.e.), where it comes from, how many events."""

    value: float
    source: str
    n_events: int


def pixel_noise(charges, usable=None, min_entries=5):
    """Median over pixels of the per-pixel charge std (ddof 1) over events.

    ``charges`` (n_events, n_pixels); ``usable`` the same shape, True where a charge is
    signal-free. Pixels with fewer than ``min_entries`` usable charges are ignored.
    """
    charges = np.asarray(charges, dtype=np.float64)
    if usable is not None:
        charges = np.where(usable, charges, np.nan)
    n = np.sum(np.isfinite(charges), axis=0)
    good = n >= min_entries
    if not np.any(good):
        return np.nan
    return float(np.median(np.nanstd(charges[:, good], axis=0, ddof=1)))


def added_variance(data, mc):
    """The noise variance (p.e.²) to add to the MC: ``data² − mc²``, never negative."""
    return max(float(data) ** 2 - float(mc) ** 2, 0.0)


def _tel_ids(h5, group):
    if group not in h5.root:
        return []
    return sorted(int(n._v_name[4:]) for n in h5.get_node(group)._f_iter_nodes("Table"))


def _monitoring_noise(path, tel_id):
    table = read_table(path, tel_path(PEDESTAL_MONITORING_GROUP, tel_id))
    valid = np.asarray(table["is_valid"], dtype=bool)
    if not valid.any():
        return None
    row = table[np.flatnonzero(valid)[-1]]
    std = np.asarray(row["std"], dtype=np.float64)
    std = std[np.isfinite(std)]
    if std.size == 0:
        return None
    return NoiseMeasurement(
        float(np.median(std)), f"monitoring:{row['source']}", int(row["n_events"])
    )


def _images(path, tel_id):
    table = read_table(path, tel_path(DL1_TEL_IMAGES_GROUP, tel_id))
    return table


def data_noise(path, subarray=None):
    """``{tel_id: NoiseMeasurement}`` of an observed (or toy-night) DL1 file.

    The pedestal monitoring table is preferred; else the image pixels outside the cleaning
    mask dilated by two rings. Raises `SST1MInputError` if the file has neither.
    """
    out = {}
    with tables.open_file(path) as h5:
        monitored = _tel_ids(h5, PEDESTAL_MONITORING_GROUP)
        with_images = _tel_ids(h5, DL1_TEL_IMAGES_GROUP)
    for tel_id in monitored:
        measured = _monitoring_noise(path, tel_id)
        if measured is not None:
            out[tel_id] = measured
    if any(t not in out for t in with_images):
        for tel_id, measured in image_noise(path, subarray).items():
            out.setdefault(tel_id, measured)
    if not out:
        raise SST1MInputError(
            f"{path}: no pedestal monitoring and no DL1 images to measure the noise; process the"
            " data with sst1m-r0-dl1 (it writes the monitoring)"
        )
    return out


def _outside_mask(geometry, image):
    """Pixels outside the tail-cut (8/4 p.e.) mask of ``image`` dilated by two rings."""
    mask = tailcuts_clean(geometry, image, picture_thresh=8.0, boundary_thresh=4.0)
    return ~dilate(geometry, dilate(geometry, mask))


def image_noise(path, subarray=None):
    """``{tel_id: NoiseMeasurement}`` from the DL1 images of a file: pixels without Cherenkov
    light where true images exist (simulations), else outside the dilated cleaning mask."""
    with tables.open_file(path) as h5:
        tel_ids = _tel_ids(h5, DL1_TEL_IMAGES_GROUP)
        has_truth = set(_tel_ids(h5, _TRUE_IMAGES))
    if not tel_ids:
        raise SST1MInputError(
            f"{path}: no DL1 images to measure the noise; simulate with --write-images"
            " (sst1m-simulate) or process with --DataWriter.write_dl1_images=True"
        )
    truth = read_true_images(path) if has_truth else {}
    subarray = subarray or SubarrayDescription.from_hdf(path)
    out = {}
    for tel_id in tel_ids:
        table = _images(path, tel_id)
        geometry = subarray.tel[tel_id].camera.geometry
        usable, how = [], "image pixels without Cherenkov light"
        for row in table:
            key = (int(row["obs_id"]), int(row["event_id"]), tel_id)
            if key in truth:
                usable.append(truth[key] == 0)
            else:
                how = "image pixels outside the cleaning mask"
                mask = np.asarray(row["image_mask"], dtype=bool)
                usable.append(~dilate(geometry, dilate(geometry, mask)))
        value = pixel_noise(np.asarray(table["image"]), np.array(usable))
        if np.isfinite(value):
            out[tel_id] = NoiseMeasurement(value, how, len(table))
    return out


def read_true_images(path):
    """``{(obs_id, event_id, tel_id): true_image}`` of a simulation file (empty if none)."""
    out = {}
    with tables.open_file(path) as h5:
        tel_ids = _tel_ids(h5, _TRUE_IMAGES)
    for tel_id in tel_ids:
        table = read_table(path, tel_path(_TRUE_IMAGES, tel_id))
        if "true_image" not in table.colnames:  # only the sums stored (e.g. toy R1 files)
            continue
        for obs_id, event_id, image in zip(
            table["obs_id"], table["event_id"], table["true_image"], strict=True
        ):
            out[(int(obs_id), int(event_id), tel_id)] = np.asarray(image)
    return out


class R1NoiseSample:
    """Simulated R1 events held in memory to measure and tune their extracted noise.

    Parameters
    ----------
    events : list of ArrayEventContainer
        Events with R1 waveforms (read by ctapipe's ``HDF5EventSource``).
    true_images : dict
        ``{(obs_id, event_id, tel_id): true_image}`` (`read_true_images`); events without
        one use the pixels outside their tail-cut cleaning mask (8/4 p.e.) dilated by two
        rings, found on the extraction without added noise.
    calibrator : ctapipe.calib.CameraCalibrator
        The charge extraction of the processing configuration.
    seed : int
        Seed of the fixed standard-normal draws scaled by the trial noise (one seed, one
        answer: the measured noise is then a smooth function of the added sigma).
    """

    def __init__(self, events, true_images, calibrator, seed=1):
        self.calibrator = calibrator
        rng = np.random.default_rng(seed)
        self._items = {}
        for event in events:
            for tel_id, r1 in event.r1.tel.items():
                key = (int(event.index.obs_id), int(event.index.event_id), int(tel_id))
                if r1.waveform is None:
                    continue
                waveform = np.asarray(r1.waveform, dtype=np.float32)
                normal = rng.standard_normal(waveform.shape).astype(np.float32)
                if key in true_images:
                    free = np.asarray(true_images[key]) == 0
                else:
                    self.calibrator(event)
                    geometry = calibrator.subarray.tel[int(tel_id)].camera.geometry
                    free = _outside_mask(geometry, event.dl1.tel[tel_id].image)
                self._items.setdefault(int(tel_id), []).append(
                    (event, tel_id, waveform, normal, free)
                )
        if not self._items:
            raise SST1MInputError("no simulated R1 events with true images to measure the noise")

    @property
    def tel_ids(self):
        """Telescopes with events."""
        return sorted(self._items)

    def noise(self, tel_id, sigma=0.0):
        """Extracted noise (p.e.) of ``tel_id`` with white noise of per-sample std ``sigma``."""
        charges, usable = [], []
        for event, key, waveform, normal, free in self._items[tel_id]:
            event.r1.tel[key].waveform = waveform + np.float32(sigma) * normal
            self.calibrator(event)
            charges.append(np.asarray(event.dl1.tel[key].image, dtype=np.float64))
            usable.append(free)
            event.r1.tel[key].waveform = waveform
        return pixel_noise(np.array(charges), np.array(usable))

    def n_events(self, tel_id):
        """Number of events of ``tel_id``."""
        return len(self._items[tel_id])

    def sigma_for(self, tel_id, target, tolerance=0.002, max_iterations=12):
        """Per-sample std of the white noise that brings the extracted noise to ``target``.

        The extracted variance grows almost linearly with the added sample variance; the
        secant method on it converges in a few steps. Returns 0 if the MC is already at or
        above the target.
        """
        base = self.noise(tel_id)
        if not np.isfinite(base) or base >= target:
            return 0.0
        v0, f0 = 0.0, base**2 - target**2
        v1 = (target**2 - base**2) / 7.0  # a window of ~7 samples as first guess
        f1 = self.noise(tel_id, np.sqrt(v1)) ** 2 - target**2
        for _ in range(max_iterations):
            if abs(f1) <= 2 * tolerance * target**2 or f1 == f0:
                break
            v0, v1, f0 = v1, max(v1 - f1 * (v1 - v0) / (f1 - f0), 1e-6), f1
            f1 = self.noise(tel_id, np.sqrt(v1)) ** 2 - target**2
        return float(np.sqrt(v1))


def image_modifier_config(variances):
    """Configuration adding ``{tel_id: variance}`` (p.e.²) with ctapipe's ``ImageModifier``."""
    levels = [["id", int(t), float(v)] for t, v in sorted(variances.items())]
    return {
        "ImageProcessor": {"apply_image_modifier": True},
        "ImageModifier": {
            "noise_level_dim_pixels": [["type", "*", 0.0], *levels],
            "noise_level_bright_pixels": [["type", "*", 0.0], *levels],
            "noise_bias_dim_pixels": [["type", "*", 0.0]],
            "noise_correct_bias": [["type", "*", True]],
        },
    }


def waveform_modifier_config(nsb_file, n_noise_realizations):
    """Configuration of ``ctapipe-process``'s waveform hook reading ``nsb_file``."""
    return {
        "ProcessorTool": {"add_nsb_in_waveforms": True},
        "WaveformModifier": {
            "nsb_file": str(nsb_file),
            "nsb_level": 1,
            "n_noise_realizations": int(n_noise_realizations),
            "sample_pixels_independently": True,
        },
    }


def write_nsb_file(path, subarray, sigmas, n_events, n_samples, seed=1):
    """Write an NSB waveform file of ``n_events`` white-noise waveforms (``{tel_id: sigma}``).

    Every telescope of ``subarray`` gets waveforms (zero where nothing is added), shape
    (1, n_pixels, ``n_samples``), read back by
    `~ctapipe_sst1m.io.nsb_waveforms.SST1MNSBWaveformSource` for ctapipe's ``WaveformModifier``.
    """
    rng = np.random.default_rng(seed)
    waveforms = {}
    for tel_id in sorted(subarray.tel_ids):
        n_pixels = subarray.tel[tel_id].camera.geometry.n_pixels
        sigma = float(sigmas.get(tel_id, 0.0))
        waveforms[tel_id] = sigma * rng.standard_normal((n_events, 1, n_pixels, n_samples))
    return write_nsb_waveforms(path, subarray, waveforms)


def mc_level(path):
    """``"waveform"`` for a file with R1 waveforms, ``"image"`` for DL1 images; else raise."""
    with tables.open_file(path) as h5:
        if _tel_ids(h5, _R1_GROUP):
            return "waveform"
        if _tel_ids(h5, DL1_TEL_IMAGES_GROUP):
            return "image"
    raise SST1MInputError(
        f"{path}: neither R1 waveforms nor DL1 images; simulate with --r1 or --write-images"
    )


@dataclass(frozen=True)
class TelescopeTuning:
    """The tuning of one MC telescope: measured noise, what is added."""

    tel_id: int
    data_tel_id: int
    data: NoiseMeasurement
    mc: NoiseMeasurement
    variance: float  # p.e.² added to the charge
    sigma: float | None = None  # per-sample std of the added waveform noise (waveform level)

    def line(self, level):
        """One line for the tool's printout."""
        added = (
            f"waveform noise {self.sigma:.3f} p.e./sample"
            if level == "waveform"
            else f"ImageModifier Poisson level {self.variance:.3f} p.e."
        )
        return (
            f"tel {self.tel_id} (data tel {self.data_tel_id}): data noise {self.data.value:.3f}"
            f" p.e. ({self.data.source}, {self.data.n_events} events), MC noise"
            f" {self.mc.value:.3f} p.e. ({self.mc.source}, {self.mc.n_events} events), added"
            f" variance {self.variance:.3f} p.e.^2 -> {added}"
        )


def _data_for(tel_id, data, telescope_map, log):
    inverse = {int(m): int(d) for d, m in telescope_map.items()}
    for candidate in (inverse.get(tel_id), tel_id):
        if candidate in data:
            return candidate, data[candidate]
    mean = float(np.mean([m.value for m in data.values()]))
    ids = ", ".join(str(t) for t in sorted(data))
    if log is not None:
        log.warning(
            "no data noise for MC telescope %d: using the mean of data telescopes %s", tel_id, ids
        )
    n = sum(m.n_events for m in data.values())
    return next(iter(sorted(data))), NoiseMeasurement(mean, f"mean of data telescopes {ids}", n)


def tune_waveforms(events, true_images, calibrator, data, telescope_map, log=None, seed=1):
    """`TelescopeTuning` per MC telescope of R1 ``events`` (solving for the added sigma)."""
    sample = R1NoiseSample(events, true_images, calibrator, seed=seed)
    out = []
    for tel_id in sample.tel_ids:
        data_tel, measured = _data_for(tel_id, data, telescope_map, log)
        base = sample.noise(tel_id)
        sigma = sample.sigma_for(tel_id, measured.value)
        mc = NoiseMeasurement(base, "R1 extracted, pixels without signal", sample.n_events(tel_id))
        variance = added_variance(measured.value, base)
        out.append(TelescopeTuning(tel_id, data_tel, measured, mc, variance, sigma))
    return out


def tune_images(mc, data, telescope_map, log=None):
    """`TelescopeTuning` per MC telescope of DL1 noise measurements ``mc``."""
    out = []
    for tel_id, measured_mc in sorted(mc.items()):
        data_tel, measured = _data_for(tel_id, data, telescope_map, log)
        variance = added_variance(measured.value, measured_mc.value)
        out.append(TelescopeTuning(tel_id, data_tel, measured, measured_mc, variance))
    return out


def tune_r1_file(path, config, data, telescope_map, max_events, log=None):
    """`tune_waveforms` on the first ``max_events`` events of an R1 simulation file.

    ``config`` is the processing configuration (its ``CameraCalibrator``). Returns
    ``(tunings, subarray, n_samples)``.
    """
    from ctapipe.calib import CameraCalibrator
    from ctapipe.io import EventSource

    with EventSource(path, config=config, max_events=max_events) as source:
        events, subarray = list(source), source.subarray
    if not events:
        raise SST1MInputError(f"{path}: no events to measure the MC noise")
    n_samples = next(iter(events[0].r1.tel.values())).waveform.shape[-1]
    calibrator = CameraCalibrator(subarray=subarray, config=config)
    rows = tune_waveforms(events, read_true_images(path), calibrator, data, telescope_map, log)
    return rows, subarray, n_samples
