"""The high-level analysis of one target: the four analyses in one pass over the observations,
and their product files.

`HighLevelAnalysis` owns `~.theta2.Theta2Analysis`, `~.skymap.SkyMapAnalysis`,
`~.spectrum.SpectrumAnalysis` and `~.lightcurve.LightCurveAnalysis`; every observation is read
once and handed to each requested analysis, then dropped. :meth:`HighLevelAnalysis.products`
names the files before anything runs (so that a Tool checks them first) and
:meth:`HighLevelAnalysis.write` writes them into the paths it is given.

Files (``OUT/``): ``theta2.ecsv``, ``theta2_observations.ecsv``, ``theta2.png``;
``skymap_significance.fits``, ``skymap_excess.fits``, their PNGs,
``significance_distribution.png``; ``spectrum_datasets.fits`` (stacked ON/OFF dataset, gammapy
``gadf`` format), ``spectrum_cumulative.ecsv``, ``fit_result.yaml``, ``flux_points.fits``,
``sed.png``; ``lightcurve_runs.ecsv``, ``lightcurve_nights.ecsv``, ``lightcurve.png``;
``gammapy_spectrum.yaml``, ``gammapy_skymap.yaml`` (gammapy ``AnalysisConfig``);
``summary.json``.
"""

import astropy.units as u
import numpy as np
import yaml
from ctapipe.core import Component
from ctapipe.core.traits import Float, List, Unicode

from . import plots
from .config import skymap_config, spectrum_config
from .lightcurve import LightCurveAnalysis
from .skymap import SkyMapAnalysis
from .spectrum import SpectrumAnalysis
from .summary import provenance_record, write_json
from .theta2 import Theta2Analysis

__all__ = ["ANALYSES", "PRODUCTS", "HighLevelAnalysis"]

ANALYSES = ("theta2", "skymap", "spectrum", "lightcurve")
PRODUCTS = {
    "theta2": ["theta2.ecsv", "theta2_observations.ecsv", "theta2.png"],
    "skymap": [
        "skymap_significance.fits",
        "skymap_excess.fits",
        "skymap_significance.png",
        "skymap_excess.png",
        "significance_distribution.png",
        "gammapy_skymap.yaml",
    ],
    "spectrum": [
        "spectrum_datasets.fits",
        "spectrum_cumulative.ecsv",
        "fit_result.yaml",
        "flux_points.fits",
        "sed.png",
        "gammapy_spectrum.yaml",
    ],
    "lightcurve": ["lightcurve_runs.ecsv", "lightcurve_nights.ecsv", "lightcurve.png"],
}


class HighLevelAnalysis(Component):
    """θ², sky map, spectrum and light curve of one target in one pass over the data."""

    analyses = List(
        Unicode(),
        default_value=list(ANALYSES),
        help="Analyses to run, any of theta2, skymap, spectrum, lightcurve.",
    ).tag(config=True)
    energy_range = List(
        Float(),
        default_value=[1.0, 100.0],
        minlen=2,
        maxlen=2,
        help="Reconstructed-energy range [TeV] of the sky map, the spectrum and its fit.",
    ).tag(config=True)
    classes = [Theta2Analysis, SkyMapAnalysis, SpectrumAnalysis, LightCurveAnalysis]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # "--analyses theta2,spectrum" arrives as one word
        self.analyses = [a.strip() for v in self.analyses for a in v.split(",") if a.strip()]
        unknown = sorted(set(self.analyses) - set(ANALYSES))
        if unknown:
            raise ValueError(f"unknown analyses {unknown}; choose from {', '.join(ANALYSES)}")
        self.theta2 = Theta2Analysis(parent=self)
        self.skymap = SkyMapAnalysis(parent=self)
        self.spectrum = SpectrumAnalysis(parent=self)
        self.lightcurve = LightCurveAnalysis(parent=self)

    @property
    def energy_bounds(self):
        e_min, e_max = (float(e) for e in self.energy_range)
        if not 0 < e_min < e_max:
            raise ValueError(f"energy range {self.energy_range}: need 0 < min < max (TeV)")
        return e_min * u.TeV, e_max * u.TeV

    def products(self):
        """File names of the requested analyses, plus ``summary.json``."""
        names = [n for a in ANALYSES if a in self.analyses for n in PRODUCTS[a]]
        return [*names, "summary.json"]

    def start(self, target, target_name, point_like):
        self.target, self.target_name, self.point_like = target, target_name, point_like
        energy = self.energy_bounds
        self.fitted = "spectrum" in self.analyses or "lightcurve" in self.analyses
        if "theta2" in self.analyses:
            self.theta2_result = self.theta2.start(target)
        if "skymap" in self.analyses:
            if point_like:
                raise ValueError(
                    "sky maps need full-enclosure IRFs (PSF and background); the observations"
                    " have point-like IRFs: leave skymap out of --analyses"
                )
            self.skymap_result = self.skymap.start(target, energy)
        if self.fitted:
            self.spectrum_result = self.spectrum.start(target, energy, point_like)
        if "lightcurve" in self.analyses:
            self.lightcurve.start(self.spectrum)

    def add(self, observation):
        """Hand one observation to every requested analysis."""
        if "theta2" in self.analyses:
            self.theta2.add(observation)
        if "skymap" in self.analyses:
            self.skymap.add(observation)
        if self.fitted:
            self.spectrum.add(observation)
        if "lightcurve" in self.analyses:
            self.lightcurve.add(observation)

    def finish(self):
        if "skymap" in self.analyses:
            self.skymap.finish()
        if self.fitted:
            self.spectrum.finish()
        self.lightcurves = (None, None)
        if "lightcurve" in self.analyses and self.spectrum_result.model is not None:
            self.lightcurves = self.lightcurve.finish(self.spectrum_result.model)

    # ------------------------------------------------------------------ writing
    def write(self, paths, selection, index_dirs):
        """Write every product; ``paths`` maps each name of :meth:`products` to a path."""
        summary = {"target": {"name": self.target_name, "ra_deg": self.target.icrs.ra.deg,
                              "dec_deg": self.target.icrs.dec.deg},  # fmt: skip
                   "irf_type": "point-like" if self.point_like else "full-enclosure",
                   "energy_range_TeV": [e.to_value(u.TeV) for e in self.energy_bounds],
                   "obs_ids": selection.obs_ids}  # fmt: skip
        if "theta2" in self.analyses:
            summary["theta2"] = self._write_theta2(paths)
        if "skymap" in self.analyses:
            summary["skymap"] = self._write_skymap(paths, selection, index_dirs)
        if "spectrum" in self.analyses:
            summary["spectrum"] = self._write_spectrum(paths, selection, index_dirs)
        if "lightcurve" in self.analyses:
            summary["lightcurve"] = self._write_lightcurve(paths)
        summary["provenance"] = provenance_record(index_dirs, selection.event_files)
        write_json(paths["summary.json"], summary)
        return summary

    def _write_theta2(self, paths):
        result = self.theta2_result
        histogram = result.histogram_table()
        per_obs = result.observation_table()
        per_obs["n_off_regions"] = [list(r) for r in per_obs["n_off_regions"]]
        histogram.write(paths["theta2.ecsv"], format="ascii.ecsv")
        per_obs.write(paths["theta2_observations.ecsv"], format="ascii.ecsv")
        summary = result.summary()
        plots.plot_theta2(histogram, summary, paths["theta2.png"], f"θ² — {self.target_name}")
        return summary

    def _write_skymap(self, paths, selection, index_dirs):
        result = self.skymap_result
        significance, excess = result.maps["sqrt_ts"], result.maps["npred_excess"]
        significance.write(paths["skymap_significance.fits"])
        excess.write(paths["skymap_excess.fits"])
        radius = self.skymap.exclusion_radius
        plots.plot_map(significance, self.target, paths["skymap_significance.png"],
                       "significance", f"{self.target_name}: significance", radius)  # fmt: skip
        plots.plot_map(excess, self.target, paths["skymap_excess.png"], "excess counts",
                       f"{self.target_name}: excess", radius)  # fmt: skip
        fit = result.off_distribution()
        plots.plot_significance_distribution(
            significance.data[0].ravel(), result.masked_significance().ravel(), fit,
            paths["significance_distribution.png"],
        )  # fmt: skip
        config = skymap_config(index_dirs[0], self.target, selection.obs_ids, self.skymap,
                               self.energy_bounds)  # fmt: skip
        config.write(paths["gammapy_skymap.yaml"], overwrite=True)
        peak = np.nanmax(significance.data) if np.isfinite(significance.data).any() else np.nan
        return {"background_method": self.skymap.background_method,
                "max_significance": peak, "off_distribution": fit}  # fmt: skip

    def _write_spectrum(self, paths, selection, index_dirs):
        result = self.spectrum_result
        if result.model is None:
            return {"fit": None}
        result.stacked_dataset.write(paths["spectrum_datasets.fits"], format="gadf")
        result.cumulative_table().write(paths["spectrum_cumulative.ecsv"], format="ascii.ecsv")
        with open(paths["fit_result.yaml"], "w") as stream:
            yaml.safe_dump(result.fit, stream, sort_keys=False)
        result.flux_points.write(paths["flux_points.fits"], sed_type="dnde")
        plots.plot_sed(result.flux_points, result.model, paths["sed.png"], self.energy_bounds,
                       f"{self.target_name} ({self.spectrum.model})")  # fmt: skip
        config = spectrum_config(index_dirs[0], self.target, selection.obs_ids, self.spectrum,
                                 self.energy_bounds)  # fmt: skip
        config.write(paths["gammapy_spectrum.yaml"], overwrite=True)
        info = result.cumulative_table()
        livetime = u.Quantity(info["livetime"][-1], info["livetime"].unit)
        return {**result.fit, "n_on": info["counts"][-1], "n_off": info["counts_off"][-1],
                "excess": info["excess"][-1], "livetime_h": livetime.to_value(u.h)}  # fmt: skip

    def _write_lightcurve(self, paths):
        per_run, per_night = self.lightcurves
        out = {}
        for name, lc in (("lightcurve_runs.ecsv", per_run), ("lightcurve_nights.ecsv", per_night)):
            table = self.lightcurve.table(lc) if lc is not None else None
            if table is not None:
                table.write(paths[name], format="ascii.ecsv")
                key = "runs" if "runs" in name else "nights"
                out[key] = [{"time_min": t["time_min"].isot, "flux": t["flux"].value,
                             "flux_err": t["flux_err"].value, "is_ul": bool(t["is_ul"]),
                             "flux_ul": t["flux_ul"].value} for t in table]  # fmt: skip
                out["flux_unit"] = str(table["flux"].unit)
        tables = [self.lightcurve.table(lc) if lc is not None else None for lc in self.lightcurves]
        title = f"{self.target_name}: flux above {self.lightcurve.energy_threshold}"
        plots.plot_lightcurve(*tables, paths["lightcurve.png"], title)
        return out
