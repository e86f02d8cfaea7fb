"""Light curve: integral flux above a threshold per run and per night, upper limits.

Steps:

1. every observation is cut into its runs (:func:`run_intervals`: the GTI rows, contiguous
   rows closer than ``max_gap`` merged; a per-wobble SST-1M DL3 file has one GTI row per
   run) with ``Observation.select_time``, and each run is reduced to a 1-D reflected-region
   dataset by the spectrum component (same ON/OFF regions, safe masks and IRFs);
2. gammapy's ``LightCurveEstimator`` fits the norm of the spectral model (the fitted model of
   the spectrum analysis, shape frozen) in [threshold, energy max] per run, and per night
   (time intervals from noon to noon UTC, :func:`night_intervals`);
3. bins with √TS below ``ul_threshold`` are upper limits (``n_sigma_ul`` confidence).
"""

import astropy.units as u
import numpy as np
from astropy.time import Time
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Float

__all__ = ["LightCurveAnalysis", "night_intervals", "run_intervals"]


def run_intervals(gti_start, gti_stop, max_gap=1 * u.s):
    """Merge GTI rows separated by less than ``max_gap``; returns a list of (start, stop)."""
    order = np.argsort(gti_start.mjd)
    start, stop = gti_start[order], gti_stop[order]
    intervals = [[start[0], stop[0]]]
    for t0, t1 in zip(start[1:], stop[1:], strict=True):
        if (t0 - intervals[-1][1]).to(u.s) < max_gap:
            intervals[-1][1] = max(intervals[-1][1], t1)
        else:
            intervals.append([t0, t1])
    return [tuple(i) for i in intervals]


def night_intervals(times):
    """Noon-to-noon UTC intervals containing ``times`` (one per observing night), sorted;
    labelled by the evening date as in SST-1M file names."""
    utc = Time(times).utc
    noon = np.unique(np.floor(utc.mjd - 0.5)) + 0.5
    return [
        (Time(m, format="mjd", scale="utc"), Time(m + 1, format="mjd", scale="utc")) for m in noon
    ]


class LightCurveAnalysis(Component):
    """Integral flux above a threshold per run and per night."""

    energy_threshold = AstroQuantity(
        default_value=1 * u.TeV,
        physical_type=u.physical.energy,
        help="Lower edge of the integral flux (the upper edge is the analysis energy maximum).",
    ).tag(config=True)
    ul_threshold = Float(
        2.0, help="Bins with a significance (√TS) below this are reported as upper limits."
    ).tag(config=True)
    n_sigma_ul = Float(2.0, help="Confidence of the upper limits in σ (2: 95 %).").tag(config=True)
    max_gap = AstroQuantity(
        default_value=1 * u.s,
        physical_type=u.physical.time,
        help="GTI rows closer than this belong to one run.",
    ).tag(config=True)

    def start(self, spectrum):
        """Begin; ``spectrum`` is the started `SpectrumAnalysis` that reduces each run."""
        self.spectrum = spectrum
        self.datasets = []
        self.runs = []
        return self

    def add(self, observation):
        """Reduce every run of ``observation``."""
        gti = observation.gti
        for k, (t0, t1) in enumerate(run_intervals(gti.time_start, gti.time_stop, self.max_gap)):
            sliced = observation.select_time(Time([t0, t1]))
            name = f"obs_{observation.obs_id}_run{k}"
            self.datasets.append(self.spectrum.reduce(sliced, name=name))
            self.runs.append({"obs_id": observation.obs_id, "run": k, "start": t0, "stop": t1})

    def _estimate(self, datasets, model, time_intervals=None):
        from gammapy.estimators import LightCurveEstimator

        energy_max = self.spectrum.energy_range[1]
        fixed = model.copy(name="source")
        for par in fixed.spectral_model.parameters:
            par.frozen = True
        # the estimator scales a norm of the model; the shape stays the fitted one
        for dataset in datasets:
            dataset.models = [fixed]
        estimator = LightCurveEstimator(
            energy_edges=u.Quantity([self.energy_threshold, energy_max]),
            source="source",
            time_intervals=time_intervals,
            selection_optional=["ul"],
            n_sigma_ul=self.n_sigma_ul,
            reoptimize=False,
            stack_over_time_interval=time_intervals is not None,
        )
        lc = estimator.run(datasets)
        lc.sqrt_ts_threshold_ul = self.ul_threshold
        return lc

    def finish(self, model):
        """Per-run and per-night light curves (gammapy ``FluxPoints``) for the fitted ``model``."""
        from gammapy.datasets import Datasets

        if not self.datasets:
            return None, None
        datasets = Datasets(self.datasets)
        per_run = self._estimate(datasets, model)
        starts = Time([r["start"] for r in self.runs])
        per_night = self._estimate(datasets, model, night_intervals(starts))
        return per_run, per_night

    @staticmethod
    def table(lightcurve):
        """Flat table: time bin, integral flux with errors, √TS, upper limit, is_ul."""
        from astropy.table import QTable

        full = lightcurve.to_table(sed_type="flux", format="lightcurve")
        table = QTable()
        axis = lightcurve.geom.axes["time"]
        table["time_min"] = axis.time_min.utc
        table["time_max"] = axis.time_max.utc
        for name in ("flux", "flux_err", "flux_ul", "sqrt_ts", "ts"):
            if name in full.colnames:
                table[name] = full[name].reshape(len(full), -1)[:, 0]
        for name in ("counts", "npred"):  # one column per dataset: the sum of the bin
            if name in full.colnames:
                table[name] = np.nansum(np.asarray(full[name]).reshape(len(full), -1), axis=1)
        table["is_ul"] = np.asarray(table["sqrt_ts"]) < lightcurve.sqrt_ts_threshold_ul
        table.meta["E_MIN"] = str(lightcurve.energy_axis.edges[0])
        table.meta["E_MAX"] = str(lightcurve.energy_axis.edges[-1])
        table.meta["N_SIG_UL"] = float(lightcurve.n_sigma_ul)
        return table
