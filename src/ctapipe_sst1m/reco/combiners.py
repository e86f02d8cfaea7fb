"""Stereo combiners for SST-1M: weighted means and the MARS-like disp direction.

Both are ctapipe `~ctapipe.reco.StereoCombiner` subclasses, so they work inside the stock
reconstructors (``stereo_combiner_cls``), with ``ctapipe-apply-models`` and event-wise in
``ctapipe-process``. They are imported by the ``ctapipe_reco`` entry point of this package.

* `SST1MMeanCombiner`: weighted mean of energy (optionally in log) or gammaness with weights
  ``none``, ``intensity`` or ``inverse-variance`` (the "simple / intensity / variance" means
  of the MAGIC+LST-1 analysis). Inverse-variance weights read the per-telescope spread written
  by `~ctapipe_sst1m.reco.SST1MEnergyRegressor` / `~ctapipe_sst1m.reco.SST1MParticleClassifier`.
* `MarsLikeDispCombiner`: for every telescope the two disp candidates, the sign combination
  whose directions lie closest together, and the weighted unit-vector mean of the chosen
  directions; keeps the minimum distance and the chosen combination as quality columns.
"""

import astropy.units as u
import numpy as np
from astropy.table import Table
from ctapipe.containers import (
    ArrayEventContainer,
    ParticleClassificationContainer,
    ReconstructedEnergyContainer,
    ReconstructedGeometryContainer,
)
from ctapipe.core.traits import Bool, CaselessStrEnum, Int
from ctapipe.reco.reconstructor import ReconstructionProperty
from ctapipe.reco.stereo_combination import StereoCombiner
from ctapipe.reco.utils import add_defaults_and_meta

from .directions import (
    choose_sign_combination,
    disp_candidates,
    unit_vectors_to_altaz,
)

__all__ = [
    "SST1MMeanCombiner",
    "MarsLikeDispCombiner",
    "grouped_weighted_mean",
    "UNCERT_SUFFIX",
]

#: Column suffix of the per-telescope prediction spread used for inverse-variance weights.
UNCERT_SUFFIX = "uncert"

#: Smallest variance used for inverse-variance weights (avoids division by zero).
_MIN_VARIANCE = 1e-12


def _filled(column, fill_value):
    """Plain ndarray of a (possibly masked, possibly Quantity) table column."""
    data = getattr(column, "filled", None)
    values = data(fill_value) if data is not None else column
    return np.asarray(getattr(values, "value", values))


def grouped_weighted_mean(values, weights, group_index, n_groups):
    """Weighted mean and weighted population standard deviation per group.

    Parameters
    ----------
    values, weights : numpy.ndarray
        One entry per telescope event; rows with non-finite value or weight are ignored.
    group_index : numpy.ndarray
        Array-event index of each telescope event.
    n_groups : int
        Number of array events.

    Returns
    -------
    mean, std : numpy.ndarray
        NaN for groups without any usable row.
    """
    use = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    idx = group_index[use]
    w = weights[use]
    v = values[use]
    sum_w = np.bincount(idx, weights=w, minlength=n_groups)
    sum_wv = np.bincount(idx, weights=w * v, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(sum_w > 0, sum_wv / sum_w, np.nan)
        resid = v - mean[idx]
        var = np.bincount(idx, weights=w * resid**2, minlength=n_groups) / sum_w
    return mean, np.sqrt(var)


def _angle_deg(column):
    """Column values in degrees (columns without unit are taken as degrees)."""
    unit = getattr(column, "unit", None)
    values = _filled(column, np.nan).astype(np.float64)
    if unit is not None and str(unit):
        values = u.Quantity(values, unit).to_value(u.deg)
    return u.Quantity(values, u.deg)


def _subarray_index(table):
    """Array events of consecutive telescope rows, like `ctapipe` ``get_subarray_index``.

    Returns the obs_id and event_id of each array event, its multiplicity and the array-event
    index of every row. Plain numpy (ctapipe's version is a numba function compiled at its
    first call in every process, about a second).
    """
    obs = _filled(table["obs_id"], -1).astype(np.int64)
    event = _filled(table["event_id"], -1).astype(np.int64)
    starts = np.ones(len(obs), dtype=bool)
    starts[1:] = (obs[1:] != obs[:-1]) | (event[1:] != event[:-1])
    index = np.cumsum(starts, dtype=np.intp) - 1
    first = np.flatnonzero(starts)
    multiplicity = np.diff(np.append(first, len(obs)))
    return obs[first], event[first], multiplicity, index


def _telescope_lists(tel_ids, group_index, valid, n_groups):
    """``n_groups`` lists of the tel_ids that contributed to each array event."""
    lists = [[] for _ in range(n_groups)]
    for index, tel_id in zip(group_index[valid].tolist(), tel_ids[valid].tolist(), strict=True):
        lists[index].append(tel_id)
    return lists


def _telescopes(tel_ids, group_index, valid, n_groups, subarray=None):
    """Contributing telescopes per array event.

    Lists of tel_ids (the `~ctapipe.reco.StereoCombiner` table API) or, if ``subarray`` is
    given, the ``(n_groups, n_tels)`` boolean mask that ctapipe stores in DL2 files — built
    without a Python loop over events.
    """
    if subarray is None:
        return _telescope_lists(tel_ids, group_index, valid, n_groups)
    mask = np.zeros((n_groups, subarray.n_tels), dtype=bool)
    mask[group_index[valid], subarray.tel_ids_to_indices(tel_ids[valid])] = True
    return mask


def _event_table(event, prefix, property_):
    """Telescope-event table built from an event container, for the event-wise path."""
    rows = {
        "obs_id": [],
        "event_id": [],
        "tel_id": [],
        "hillas_intensity": [],
        "hillas_fov_lon": [],
        "hillas_fov_lat": [],
        "hillas_psi": [],
        "telescope_pointing_altitude": [],
        "telescope_pointing_azimuth": [],
        f"{prefix}_tel_is_valid": [],
        f"{prefix}_tel_value": [],
        f"{prefix}_tel_{UNCERT_SUFFIX}": [],
    }
    for tel_id, dl2 in event.dl2.tel.items():
        if property_ is ReconstructionProperty.ENERGY:
            mono = dl2.energy[prefix]
            value, uncert = mono.energy.to_value(u.TeV), mono.energy_uncert.to_value(u.TeV)
        elif property_ is ReconstructionProperty.PARTICLE_TYPE:
            mono = dl2.particle_type[prefix]
            value, uncert = mono.prediction, np.nan
        else:
            mono = dl2.disp[prefix]
            value, uncert = mono.parameter.to_value(u.deg), np.nan
        hillas = event.dl1.tel[tel_id].parameters.hillas
        pointing = event.monitoring.tel[tel_id].pointing
        valid = bool(np.isfinite(value)) and bool(getattr(mono, "is_valid", True))
        rows["obs_id"].append(event.index.obs_id)
        rows["event_id"].append(event.index.event_id)
        rows["tel_id"].append(tel_id)
        rows["hillas_intensity"].append(hillas.intensity)
        rows["hillas_fov_lon"].append(hillas.fov_lon.to_value(u.deg))
        rows["hillas_fov_lat"].append(hillas.fov_lat.to_value(u.deg))
        rows["hillas_psi"].append(hillas.psi.to_value(u.deg))
        rows["telescope_pointing_altitude"].append(pointing.altitude.to_value(u.deg))
        rows["telescope_pointing_azimuth"].append(pointing.azimuth.to_value(u.deg))
        rows[f"{prefix}_tel_is_valid"].append(valid)
        rows[f"{prefix}_tel_value"].append(value)
        rows[f"{prefix}_tel_{UNCERT_SUFFIX}"].append(uncert)
    table = Table(rows)
    for name in ("hillas_fov_lon", "hillas_fov_lat", "hillas_psi"):
        table[name].unit = u.deg
    table["telescope_pointing_altitude"].unit = u.deg
    table["telescope_pointing_azimuth"].unit = u.deg
    return table


class SST1MMeanCombiner(StereoCombiner):
    """Weighted mean of per-telescope energies or gammaness scores.

    With ``log_target`` the mean is taken over ln(E) (identical to SST-1M's mean of log10 E).
    ``inverse-variance`` weights are 1/σ² of each telescope's prediction, σ being the spread of
    the individual trees of the forest (columns ``<prefix>_tel_energy_uncert`` or
    ``<prefix>_tel_prediction_uncert``, written by the SST-1M reconstructors).
    """

    weights = CaselessStrEnum(
        ["none", "intensity", "inverse-variance"],
        default_value="intensity",
        help=(
            "Weights of the telescope predictions: ``none`` (plain mean), ``intensity``"
            " (Hillas intensity) or ``inverse-variance`` (1/σ² of each telescope's forest"
            " spread, needs the SST-1M reconstructors)."
        ),
    ).tag(config=True)

    log_target = Bool(
        True,
        help="If true, average ln(energy) and return exp(mean); ignored for gammaness.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        supported = {ReconstructionProperty.ENERGY, ReconstructionProperty.PARTICLE_TYPE}
        if self.property not in supported:
            raise NotImplementedError(
                f"{self.__class__.__name__} combines energy or particle type,"
                f" not {self.property}; use MarsLikeDispCombiner for directions."
            )

    def _value_column(self):
        if self.property is ReconstructionProperty.ENERGY:
            return f"{self.prefix}_tel_energy"
        return f"{self.prefix}_tel_prediction"

    def _weights(self, table, values, uncert):
        """Per-row weights; ``uncert`` is the per-telescope σ in the unit of ``values``."""
        if self.weights == "intensity":
            return _filled(table["hillas_intensity"], np.nan).astype(np.float64)
        if self.weights == "inverse-variance":
            if uncert is None:
                raise KeyError(
                    f"inverse-variance weights need column {self._value_column()}_{UNCERT_SUFFIX}"
                    " (train with SST1MEnergyRegressor / SST1MParticleClassifier)"
                )
            return 1.0 / np.maximum(uncert**2, _MIN_VARIANCE)
        return np.ones(len(table))

    def _combine(self, table, value_column, uncert_column):
        valid = _filled(table[f"{self.prefix}_tel_is_valid"], False).astype(bool)
        obs_ids, event_ids, _, group_index = _subarray_index(table)
        n_groups = len(obs_ids)
        values = _filled(table[value_column], np.nan).astype(np.float64)
        uncert = None
        if uncert_column in table.colnames:
            uncert = _filled(table[uncert_column], np.nan).astype(np.float64)

        is_energy = self.property is ReconstructionProperty.ENERGY
        use_log = is_energy and self.log_target
        if use_log:
            with np.errstate(invalid="ignore", divide="ignore"):
                if uncert is not None:
                    uncert = uncert / values  # σ of ln E
                values = np.log(values)
        weights = self._weights(table, values, uncert)
        weights = np.where(valid, weights, np.nan)
        mean, std = grouped_weighted_mean(values, weights, group_index, n_groups)
        if use_log:
            mean = np.exp(mean)
            std = mean * std  # first-order propagation back to TeV

        result = Table({"obs_id": obs_ids, "event_id": event_ids})
        has_value = np.isfinite(values) & np.isfinite(weights)
        tel_ids = np.asarray(table["tel_id"])
        return result, mean, std, (tel_ids, group_index, has_value, n_groups)

    def predict_table(self, mono_predictions: Table, subarray=None) -> Table:
        """Array-event-wise weighted mean of the telescope predictions in ``mono_predictions``.

        With ``subarray``, the ``<prefix>_telescopes`` column is the boolean telescope mask of
        ctapipe's DL2 files instead of lists of tel_ids.
        """
        value_column = self._value_column()
        result, mean, std, used = self._combine(
            mono_predictions, value_column, f"{value_column}_{UNCERT_SUFFIX}"
        )
        telescopes = _telescopes(*used, subarray=subarray)
        if self.property is ReconstructionProperty.ENERGY:
            result[f"{self.prefix}_energy"] = u.Quantity(mean, u.TeV)
            result[f"{self.prefix}_energy_uncert"] = u.Quantity(std, u.TeV)
            container = ReconstructedEnergyContainer
        else:
            result[f"{self.prefix}_prediction"] = mean
            result[f"{self.prefix}_prediction_std"] = std
            container = ParticleClassificationContainer
        result[f"{self.prefix}_is_valid"] = np.isfinite(mean)
        result[f"{self.prefix}_goodness_of_fit"] = np.full(len(result), np.nan)
        result[f"{self.prefix}_telescopes"] = telescopes
        add_defaults_and_meta(result, container, self.prefix)
        return result

    def __call__(self, event: ArrayEventContainer) -> None:
        """Fill ``event.dl2.stereo`` from the telescope predictions of one event."""
        table = _event_table(event, self.prefix, self.property)
        if len(table) == 0:
            mean, std, telescopes = np.array([np.nan]), np.array([np.nan]), [[]]
        else:
            _, mean, std, used = self._combine(
                table, f"{self.prefix}_tel_value", f"{self.prefix}_tel_{UNCERT_SUFFIX}"
            )
            telescopes = _telescopes(*used)
        valid = bool(np.isfinite(mean[0]))
        if self.property is ReconstructionProperty.ENERGY:
            event.dl2.stereo.energy[self.prefix] = ReconstructedEnergyContainer(
                energy=u.Quantity(mean[0], u.TeV),
                energy_uncert=u.Quantity(std[0], u.TeV),
                telescopes=telescopes[0],
                is_valid=valid,
                prefix=self.prefix,
            )
        else:
            event.dl2.stereo.particle_type[self.prefix] = ParticleClassificationContainer(
                prediction=mean[0], telescopes=telescopes[0], is_valid=valid, prefix=self.prefix
            )


class MarsLikeDispCombiner(StereoCombiner):
    """MARS-like stereo direction from the per-telescope disp predictions.

    Every valid telescope offers two source candidates, cog ± ``|disp|`` along the image axis.
    Of all sign combinations the one with the smallest (sum of pairwise) angular distance
    between the telescopes' candidates is kept; for two telescopes the combinations are
    tried in the order pp, mm, mp, pm (first letter: lower tel_id) and the first minimum wins.
    The chosen directions are averaged as weighted unit vectors. The classifier's sign is only
    used for events with a single valid telescope when ``min_multiplicity`` is 1.

    Extra output columns: ``<prefix>_min_distance`` (deg) and ``<prefix>_sign_combination``
    (index into `~ctapipe_sst1m.reco.directions.sign_combinations`, -1 if none).
    """

    weights = CaselessStrEnum(
        ["none", "intensity"],
        default_value="intensity",
        help="Weights of the chosen telescope directions: ``none`` or ``intensity``.",
    ).tag(config=True)

    min_multiplicity = Int(
        2,
        min=1,
        help=(
            "Minimum number of valid telescopes for a stereo direction; 2 reproduces SST-1M"
            " (events with one valid telescope are invalid), 1 falls back to the mono"
            " direction with the classified disp sign."
        ),
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        if "property" not in kwargs:
            kwargs["property"] = ReconstructionProperty.GEOMETRY
        super().__init__(*args, **kwargs)
        if self.property is not ReconstructionProperty.GEOMETRY:
            raise NotImplementedError(
                f"{self.__class__.__name__} only combines GEOMETRY, not {self.property}"
            )

    def combine(self, table, disp_column, subarray=None):
        """Vectorised combination; returns a dict of plain arrays, one entry per array event.

        ``table`` needs ``obs_id, event_id, tel_id, hillas_fov_lon, hillas_fov_lat,
        hillas_psi`` (deg), the pointing ``telescope_pointing_altitude/azimuth``, the signed
        disp ``disp_column`` (deg), ``<prefix>_tel_is_valid`` and, for intensity weights,
        ``hillas_intensity``.
        """
        obs_ids, event_ids, _, group_index = _subarray_index(table)
        n_events = len(obs_ids)
        disp = _angle_deg(table[disp_column]).value
        valid = _filled(table[f"{self.prefix}_tel_is_valid"], False).astype(bool)
        valid &= np.isfinite(disp)
        tel_ids = np.asarray(_filled(table["tel_id"], -1))

        alt = np.full(n_events, np.nan)
        az = np.full(n_events, np.nan)
        min_distance = np.full(n_events, np.nan)
        combination = np.full(n_events, -1, dtype=np.int16)

        rows = np.flatnonzero(valid)
        # valid telescope events ordered by array event, then tel_id
        rows = rows[np.lexsort((tel_ids[rows], group_index[rows]))]
        if len(rows) > 0:
            sub = table[rows]
            candidates = disp_candidates(
                _angle_deg(sub["hillas_fov_lon"]),
                _angle_deg(sub["hillas_fov_lat"]),
                _angle_deg(sub["hillas_psi"]),
                u.Quantity(disp[rows], u.deg),
                _angle_deg(sub["telescope_pointing_altitude"]),
                _angle_deg(sub["telescope_pointing_azimuth"]),
            )
            if self.weights == "intensity":
                weights = _filled(sub["hillas_intensity"], np.nan).astype(np.float64)
            else:
                weights = np.ones(len(rows))
            events = group_index[rows]
            n_valid = np.bincount(events, minlength=n_events)
            first = np.cumsum(n_valid) - n_valid  # offset of each event's first row in `rows`
            for multiplicity in np.unique(n_valid[n_valid >= self.min_multiplicity]):
                event_sel = np.flatnonzero(n_valid == multiplicity)
                row_sel = first[event_sel, None] + np.arange(multiplicity)
                if multiplicity == 1:
                    sign_index = (disp[rows[row_sel[:, 0]]] < 0).astype(np.intp)
                    chosen = candidates[row_sel[:, 0], sign_index][:, None, :]
                else:
                    best, distance, chosen = choose_sign_combination(candidates[row_sel])
                    min_distance[event_sel] = np.rad2deg(distance)
                    combination[event_sel] = best
                mean_vector = np.sum(weights[row_sel][..., None] * chosen, axis=1)
                event_alt, event_az = unit_vectors_to_altaz(mean_vector)
                alt[event_sel] = event_alt.to_value(u.deg)
                az[event_sel] = event_az.to_value(u.deg)

        used = valid & np.isin(group_index, np.flatnonzero(np.isfinite(alt)))
        return {
            "obs_id": obs_ids,
            "event_id": event_ids,
            "alt": alt,
            "az": az,
            "min_distance": min_distance,
            "sign_combination": combination,
            "telescopes": _telescopes(tel_ids, group_index, used, n_events, subarray),
        }

    def predict_table(self, mono_predictions: Table, subarray=None) -> Table:
        """Array-event-wise MARS-like direction from a table of telescope disp predictions.

        With ``subarray``, ``<prefix>_telescopes`` is a boolean telescope mask (see
        `SST1MMeanCombiner.predict_table`).
        """
        res = self.combine(mono_predictions, f"{self.prefix}_tel_parameter", subarray)
        p = self.prefix
        result = Table({"obs_id": res["obs_id"], "event_id": res["event_id"]})
        result[f"{p}_alt"] = u.Quantity(res["alt"], u.deg)
        result[f"{p}_az"] = u.Quantity(res["az"], u.deg)
        result[f"{p}_ang_distance_uncert"] = u.Quantity(res["min_distance"] / 2, u.deg)
        result[f"{p}_is_valid"] = np.isfinite(res["alt"])
        result[f"{p}_goodness_of_fit"] = res["min_distance"]
        result[f"{p}_min_distance"] = u.Quantity(res["min_distance"], u.deg)
        result[
            f"{p}_min_distance"
        ].description = "Angular distance between the chosen disp candidates (sum over pairs)"
        result[f"{p}_sign_combination"] = res["sign_combination"]
        result[
            f"{p}_sign_combination"
        ].description = "Chosen disp sign combination (2 tels: 0=pp, 1=mm, 2=mp, 3=pm; -1: none)"
        result[f"{p}_telescopes"] = res["telescopes"]
        add_defaults_and_meta(result, ReconstructedGeometryContainer, p)
        return result

    def __call__(self, event: ArrayEventContainer) -> None:
        """Fill ``event.dl2.stereo.geometry[prefix]`` for one event."""
        table = _event_table(event, self.prefix, ReconstructionProperty.DISP)
        if len(table) == 0:
            alt = az = dist = np.nan
            telescopes = []
        else:
            res = self.combine(table, f"{self.prefix}_tel_value")
            alt, az, dist = res["alt"][0], res["az"][0], res["min_distance"][0]
            telescopes = res["telescopes"][0]
        event.dl2.stereo.geometry[self.prefix] = ReconstructedGeometryContainer(
            alt=u.Quantity(alt, u.deg),
            az=u.Quantity(az, u.deg),
            ang_distance_uncert=u.Quantity(dist / 2, u.deg),
            goodness_of_fit=dist,
            telescopes=telescopes,
            is_valid=bool(np.isfinite(alt)),
            prefix=self.prefix,
        )
