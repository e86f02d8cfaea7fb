"""SST-1M image cleaning: tail cuts with NSB-binned parameter sets and pedestal-raised thresholds.

The SST-1M cleaning keeps a list of parameter sets per telescope. Each set applies from a
minimum NSB level (the camera-average charge of sky-pedestal images, in p.e.) upwards; the set
with the largest ``min_nsb_level`` not above the current NSB level is used, whatever the order
written in the configuration. Within a set the picture threshold of every pixel is raised to
``pedestal_mean + stdev_scaling * pedestal_std`` where that exceeds the nominal threshold (stars,
noisy pixels), then ctapipe's tail cuts, time-delta cleaning and, optionally, the main-island
selection are applied.

The pedestal statistics come from the ctapipe monitoring container that
`ctapipe.image.ImageProcessor` hands to every cleaner
(``event.monitoring.tel[tel_id].camera.pixel_statistics.pedestal_image``), so the cleaner has no
mutable state and works with any producer of those statistics: the SST-1M
`~ctapipe_sst1m.calib.PedestalMonitor`, ctapipe's ``HDF5MonitoringSource`` or a user's own code.
"""

from dataclasses import dataclass, field, fields

import astropy.units as u
import numpy as np
from ctapipe.containers import CameraMonitoringContainer
from ctapipe.core.telescope_component import TelescopeParameter
from ctapipe.core.traits import FloatTelescopeParameter
from ctapipe.image.cleaning import ImageCleaner, tailcuts_clean
from ctapipe.image.morphology import largest_island, number_of_islands
from numba import njit
from traitlets import TraitError, TraitType, observe

__all__ = [
    "CleaningSet",
    "CleaningSetList",
    "CleaningSetsParameter",
    "DEFAULT_CLEANING_SETS",
    "ImageCleanerSST",
    "nsb_level_from_monitoring",
    "pedestal_picture_thresholds",
    "select_cleaning_set",
    "sst1m_clean",
    "time_delta_clean",
]


#: sst1mpipe name of a set key -> (key of this package, unit of the bare number)
LEGACY_KEYS = {"time_limit_ns": ("time_limit", u.ns)}


@dataclass(frozen=True)
class CleaningSet:
    """One SST-1M cleaning parameter set, valid from ``min_nsb_level`` (p.e.) upwards.

    The field names are those of the sst1mpipe JSON configuration, except ``time_limit``, a
    duration (``"8 ns"``, an astropy quantity); sst1mpipe's ``time_limit_ns`` (a number of ns)
    is still read, so old configurations can be pasted unchanged.
    """

    min_nsb_level: float = 0.0
    stdev_scaling: float = 2.5
    picture_threshold_pe: float = 8.0
    boundary_threshold_pe: float = 4.0
    min_picture_neighbors: int = 2
    keep_isolated: bool = False
    min_time_neighbors: int = 1
    time_limit: u.Quantity = field(default_factory=lambda: 8.0 * u.ns, hash=False)
    only_main_island: bool = False

    def __post_init__(self):
        object.__setattr__(self, "time_limit", _duration("time_limit", self.time_limit))

    @property
    def time_limit_ns(self):
        """``time_limit`` in ns (a float, for the numerics)."""
        return float(self.time_limit.to_value(u.ns))

    @classmethod
    def from_dict(cls, values):
        """Build a set from a mapping, filling missing keys with the defaults.

        Raises
        ------
        traitlets.TraitError
            If a key is unknown or a value has the wrong type.
        """
        if isinstance(values, CleaningSet):
            return values
        if not isinstance(values, dict):
            raise TraitError(f"a cleaning set must be a mapping, got {values!r}")
        known = {f.name: getattr(f.type, "__name__", f.type) for f in fields(cls)}
        unknown = sorted(set(values) - set(known) - set(LEGACY_KEYS))
        if unknown:
            raise TraitError(
                f"unknown cleaning-set key(s) {unknown}; allowed keys are {sorted(known)}"
            )
        converted = {}
        for name, value in values.items():
            if name in LEGACY_KEYS:
                new_name, unit = LEGACY_KEYS[name]
                if new_name in values:
                    raise TraitError(f"cleaning set has both {name!r} and {new_name!r}; keep one")
                converted[new_name] = _convert(name, "float", value) * unit
            else:
                converted[name] = _convert(name, known[name], value)
        return cls(**converted)

    def to_dict(self):
        """Return the set as a plain dict (for configs, provenance and logs)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["time_limit"] = f"{self.time_limit_ns!r} ns"
        return values


def _duration(name, value):
    """A time quantity from a quantity or a string with its unit ("8 ns")."""
    try:
        quantity = u.Quantity(value)
    except (TypeError, ValueError):
        raise TraitError(f"cleaning-set key {name!r} must be a duration, got {value!r}") from None
    if quantity.unit.physical_type != "time" or not quantity.isscalar:
        raise TraitError(
            f"cleaning-set key {name!r} must be a duration with its unit (e.g. '8 ns'),"
            f" got {value!r}"
        )
    return quantity.to(u.ns)


def _convert(name, type_name, value):
    """Convert a config value to the field type, rejecting lossy conversions."""
    if name == "time_limit":
        return _duration(name, value)
    if type_name == "bool":
        if not isinstance(value, bool | np.bool_):
            raise TraitError(f"cleaning-set key {name!r} must be true or false, got {value!r}")
        return bool(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TraitError(f"cleaning-set key {name!r} must be a number, got {value!r}")
    if type_name == "int":
        if float(value) != int(value):
            raise TraitError(f"cleaning-set key {name!r} must be an integer, got {value!r}")
        return int(value)
    return float(value)


def _default_sets(*edges):
    return [CleaningSet(min_nsb_level=edge).to_dict() for edge in edges]


#: The sst1mpipe default sets: a "low" set from 0 p.e. and a "med" set from the NSB edge
#: of the telescope (2.3554 p.e. for tel 21 / MC tel 1, 2.4287 p.e. for tel 22 / MC tel 2).
#: Both sets hold the same thresholds; production configurations tune them per NSB bin.
DEFAULT_CLEANING_SETS = [
    ("type", "*", _default_sets(0.0)),
    ("id", 1, _default_sets(0.0, 2.3554)),
    ("id", 21, _default_sets(0.0, 2.3554)),
    ("id", 2, _default_sets(0.0, 2.4287)),
    ("id", 22, _default_sets(0.0, 2.4287)),
]


class CleaningSetList(TraitType):
    """Trait holding a non-empty list of cleaning sets (dicts), normalised and sorted.

    Each entry is validated with `CleaningSet.from_dict`; the stored value is a list of plain
    dicts with every key present, sorted by ``min_nsb_level`` so that the order written in a
    configuration file does not matter.
    """

    info_text = "a list of cleaning-set mappings"
    default_value = []

    def validate(self, obj, value):
        if isinstance(value, dict | CleaningSet):
            value = [value]
        if not isinstance(value, list | tuple) or len(value) == 0:
            self.error(obj, value)
        sets = sorted(
            (CleaningSet.from_dict(entry) for entry in value), key=lambda s: s.min_nsb_level
        )
        levels = [s.min_nsb_level for s in sets]
        if len(set(levels)) != len(levels):
            raise TraitError(f"two cleaning sets share the same min_nsb_level: {levels}")
        return [s.to_dict() for s in sets]


class CleaningSetsParameter(TelescopeParameter):
    """`~ctapipe.core.telescope_component.TelescopeParameter` of cleaning-set lists.

    Accepts the usual ``[(command, argument, sets), ...]`` patterns and, as a shortcut, a bare
    list of sets that then applies to every telescope.
    """

    def __init__(self, default_value=DEFAULT_CLEANING_SETS, **kwargs):
        super().__init__(CleaningSetList(), default_value=default_value, **kwargs)

    @staticmethod
    def _is_bare_set_list(value):
        return (
            isinstance(value, list | tuple)
            and len(value) > 0
            and all(isinstance(v, dict | CleaningSet) for v in value)
        )

    def validate(self, obj, value):
        if self._is_bare_set_list(value):
            value = [("type", "*", list(value))]
        return super().validate(obj, value)

    def set(self, obj, value):
        if self._is_bare_set_list(value):
            value = [("type", "*", list(value))]
        super().set(obj, value)


def select_cleaning_set(sets, nsb_level):
    """Pick the set with the largest ``min_nsb_level`` not above ``nsb_level``.

    Parameters
    ----------
    sets : list of CleaningSet or dict
        Candidate sets, in any order.
    nsb_level : float or None
        Current NSB level in p.e.; None or NaN (unknown) selects the lowest set.

    Returns
    -------
    CleaningSet
        The selected set. If the level is below every ``min_nsb_level`` the lowest set is used.
    """
    ordered = sorted((CleaningSet.from_dict(s) for s in sets), key=lambda s: s.min_nsb_level)
    if nsb_level is None or not np.isfinite(nsb_level):
        return ordered[0]
    chosen = ordered[0]
    for candidate in ordered:
        if candidate.min_nsb_level <= nsb_level:
            chosen = candidate
    return chosen


def nsb_level_from_monitoring(monitoring):
    """Camera-average pedestal charge (p.e.) in a ctapipe camera monitoring container.

    This is the SST-1M "NSB level": the mean over the valid pixels of the per-pixel mean charge
    of sky-pedestal images. It grows with the NSB because the local peak search picks up the
    largest NSB fluctuation in each pixel.

    Parameters
    ----------
    monitoring : ctapipe.containers.CameraMonitoringContainer or None
        Container with ``pixel_statistics.pedestal_image.mean`` (p.e. per pixel, NaN = invalid).

    Returns
    -------
    float or None
        The NSB level, or None when no pedestal statistics are available.
    """
    if monitoring is None:
        return None
    mean = monitoring.pixel_statistics.pedestal_image.mean
    if mean is None:
        return None
    mean = np.asarray(mean, dtype=np.float64)
    if not np.any(np.isfinite(mean)):
        return None
    return float(np.nanmean(mean))


def pedestal_picture_thresholds(picture_threshold_pe, stdev_scaling, pedestal_mean, pedestal_std):
    """Per-pixel picture thresholds ``max(picture, mean + stdev_scaling * std)`` in p.e.

    Pixels without valid statistics (NaN mean or std) keep the nominal threshold; the
    sst1mpipe implementation made them unable to be picture pixels instead.
    """
    if pedestal_mean is None or pedestal_std is None:
        return picture_threshold_pe
    raised = np.asarray(pedestal_mean) + stdev_scaling * np.asarray(pedestal_std)
    return np.fmax(picture_threshold_pe, raised)


@njit(cache=True)
def _time_delta_keep(indptr, indices, mask, times, min_neighbors, time_limit):
    keep = mask.copy()
    for pixel in range(mask.shape[0]):
        if not mask[pixel]:
            continue
        count = 0
        for k in range(indptr[pixel], indptr[pixel + 1]):
            neighbor = indices[k]
            if mask[neighbor] and abs(times[pixel] - times[neighbor]) < time_limit:
                count += 1
        keep[pixel] = count >= min_neighbors
    return keep


def time_delta_clean(geom, mask, arrival_times, min_number_neighbors, time_limit):
    """Keep the selected pixels with enough selected neighbours close in time.

    Same result as `ctapipe.image.apply_time_delta_cleaning` (a selected pixel survives if at
    least ``min_number_neighbors`` selected neighbours arrived less than ``time_limit`` ns from
    it, all compared with the mask before this step), computed with a compiled loop over the
    sparse neighbour lists: O(selected pixels x 6) instead of a dense
    (selected pixels x n_pixels) comparison, which dominated the cleaning time of large images.

    Parameters
    ----------
    geom : ctapipe.instrument.CameraGeometry
        Camera geometry (its ``neighbor_matrix_sparse`` is used).
    mask : numpy.ndarray
        Boolean mask of the pixels selected so far.
    arrival_times : numpy.ndarray
        Pixel peak times in ns.
    min_number_neighbors : int
        Minimum number of selected neighbours within ``time_limit``.
    time_limit : float
        Maximum arrival-time difference in ns.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the pixels that survive.
    """
    neighbors = geom.neighbor_matrix_sparse
    return _time_delta_keep(
        neighbors.indptr,
        neighbors.indices,
        np.ascontiguousarray(mask, dtype=np.bool_),
        np.ascontiguousarray(arrival_times, dtype=np.float64),
        int(min_number_neighbors),
        float(time_limit),
    )


def sst1m_clean(
    geom,
    image,
    arrival_times,
    cleaning_set,
    pedestal_mean=None,
    pedestal_std=None,
    picture_thresholds=None,
):
    """Clean one image with one SST-1M parameter set.

    Steps: per-pixel picture thresholds raised by the pedestal statistics
    (`pedestal_picture_thresholds`), `ctapipe.image.tailcuts_clean`,
    `time_delta_clean` (same result as ``ctapipe.image.apply_time_delta_cleaning``; if
    ``min_time_neighbors > 0`` and arrival times are given) and, if ``only_main_island``, the
    island with the most pixels.

    Parameters
    ----------
    geom : ctapipe.instrument.CameraGeometry
        Camera geometry.
    image : numpy.ndarray
        Pixel charges in p.e.
    arrival_times : numpy.ndarray or None
        Pixel peak times in ns.
    cleaning_set : CleaningSet
        Thresholds to use.
    pedestal_mean, pedestal_std : numpy.ndarray or None
        Per-pixel pedestal charge mean and standard deviation in p.e.
    picture_thresholds : numpy.ndarray or float or None
        Precomputed result of `pedestal_picture_thresholds` for this set and these statistics
        (the cleaner caches it while the statistics do not change); None computes it.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the pixels that survive.
    """
    picture = picture_thresholds
    if picture is None:
        picture = pedestal_picture_thresholds(
            cleaning_set.picture_threshold_pe,
            cleaning_set.stdev_scaling,
            pedestal_mean,
            pedestal_std,
        )
    mask = tailcuts_clean(
        geom,
        image,
        picture_thresh=picture,
        boundary_thresh=cleaning_set.boundary_threshold_pe,
        keep_isolated_pixels=cleaning_set.keep_isolated,
        min_number_picture_neighbors=cleaning_set.min_picture_neighbors,
    )
    if not mask.any():
        return mask
    if cleaning_set.min_time_neighbors > 0 and arrival_times is not None:
        mask = time_delta_clean(
            geom,
            mask,
            arrival_times,
            min_number_neighbors=cleaning_set.min_time_neighbors,
            time_limit=cleaning_set.time_limit_ns,
        )
    if cleaning_set.only_main_island and mask.any():
        _, labels = number_of_islands(geom, mask)
        mask = largest_island(labels)
    return mask


def _per_pixel(values, image):
    """Bring single-channel ``(1, n_pixels)`` monitoring arrays to the image's shape."""
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != np.shape(image) and values.size == np.size(image):
        values = values.reshape(np.shape(image))
    return values


def _is_frozen(values):
    """True for None or a read-only numpy array (safe to cache results on its identity)."""
    return values is None or (isinstance(values, np.ndarray) and not values.flags.writeable)


class ImageCleanerSST(ImageCleaner):
    """SST-1M cleaning: NSB-binned tail cuts, pedestal-raised picture thresholds, time cleaning.

    The NSB level and the per-pixel pedestal statistics are read from the ``monitoring``
    argument (``event.monitoring.tel[tel_id].camera``, filled by
    `~ctapipe_sst1m.calib.PedestalMonitor` or by a ctapipe ``MonitoringSource``). Without
    pedestal statistics (e.g. simulations processed without the monitor) the NSB level is
    ``default_nsb_level`` and the picture threshold is not raised. See `sst1m_clean`.
    """

    cleaning_sets = CleaningSetsParameter(
        help=(
            "Per-telescope list of cleaning parameter sets. Each set is a mapping with the keys"
            " min_nsb_level (p.e.), stdev_scaling, picture_threshold_pe, boundary_threshold_pe,"
            " min_picture_neighbors, keep_isolated, min_time_neighbors, time_limit (a duration,"
            " e.g. '8 ns'; sst1mpipe's time_limit_ns in ns is read too) and only_main_island"
            " (missing keys take the sst1mpipe defaults). The set with the"
            " largest min_nsb_level not above the current NSB level is used; the order of the"
            " sets does not matter. Give [[command, argument, sets], ...] patterns (command"
            " 'type' or 'id') or a bare list of sets for all telescopes."
        ),
    ).tag(config=True)

    default_nsb_level = FloatTelescopeParameter(
        default_value=None,
        allow_none=True,
        help=(
            "NSB level in p.e. used to choose the cleaning set when the monitoring carries no"
            " pedestal statistics (typically simulations: set it to the NSB level the"
            " simulation was tuned to). None selects the lowest set."
        ),
    ).tag(config=True)

    def __init__(self, subarray, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        self._set_cache = {}
        self._threshold_cache = {}

    @observe("cleaning_sets", "default_nsb_level")
    def _clear_set_cache(self, change):
        self._set_cache = {}
        self._threshold_cache = {}

    def __call__(
        self,
        tel_id: int,
        image: np.ndarray,
        arrival_times: np.ndarray = None,
        *,
        monitoring: CameraMonitoringContainer = None,
    ) -> np.ndarray:
        """Return the mask of pixels that survive SST-1M cleaning; see `ImageCleanerSST`."""
        cleaning_set, picture = self.thresholds_for(tel_id, image, monitoring)
        return sst1m_clean(
            self.subarray.tel[tel_id].camera.geometry,
            image,
            arrival_times,
            cleaning_set,
            picture_thresholds=picture,
        )

    def thresholds_for(self, tel_id, image, monitoring):
        """Return the `CleaningSet` and per-pixel picture thresholds for this image.

        The NSB level, the set selection and the raised thresholds only change when the
        pedestal statistics change, so the result is cached per telescope while the
        monitoring holds the *same read-only* mean and std arrays (the
        `~ctapipe_sst1m.calib.PedestalMonitor` hands out read-only arrays and replaces them
        when a pedestal event updates its window). Statistics in writeable arrays (other
        producers, which may change them in place) are re-evaluated on every call.
        """
        stats = None if monitoring is None else monitoring.pixel_statistics.pedestal_image
        mean = None if stats is None else stats.mean
        std = None if stats is None else stats.std
        shape = np.shape(image)
        cached = self._threshold_cache.get(tel_id)
        if cached is not None and cached[0] is mean and cached[1] is std and cached[2] == shape:
            return cached[3]
        nsb_level = nsb_level_from_monitoring(monitoring)
        pedestal_mean = pedestal_std = None
        if nsb_level is None:
            nsb_level = self.default_nsb_level.tel[tel_id]
        else:
            pedestal_mean = _per_pixel(mean, image)
            pedestal_std = _per_pixel(std, image)
        cleaning_set = self.cleaning_set_for(tel_id, nsb_level)
        picture = pedestal_picture_thresholds(
            cleaning_set.picture_threshold_pe,
            cleaning_set.stdev_scaling,
            pedestal_mean,
            pedestal_std,
        )
        result = (cleaning_set, picture)
        if _is_frozen(mean) and _is_frozen(std):
            self._threshold_cache[tel_id] = (mean, std, shape, result)
        else:
            self._threshold_cache.pop(tel_id, None)
        return result

    def cleaning_set_for(self, tel_id, nsb_level):
        """Return the `CleaningSet` used for telescope ``tel_id`` at ``nsb_level`` p.e."""
        if tel_id not in self._set_cache:
            self._set_cache[tel_id] = [
                CleaningSet.from_dict(s) for s in self.cleaning_sets.tel[tel_id]
            ]
        return select_cleaning_set(self._set_cache[tel_id], nsb_level)
