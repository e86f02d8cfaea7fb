"""1-D spectrum with reflected OFF regions, forward-folded fit, flux points and detection TS.

Steps (spec ``irf_dl3_perf.md`` §8.3), one observation at a time:

1. ON region: with full-enclosure IRFs a circle of ``on_radius`` at the target and
   ``SpectrumDatasetMaker(containment_correction=True)`` (the PSF fraction inside the circle
   corrects the exposure); with point-like IRFs a point region whose radius is the
   observation's ``RAD_MAX`` (energy-dependent, gammapy applies it), no containment correction;
2. OFF: gammapy's ``ReflectedRegionsBackgroundMaker`` (full-enclosure: as many reflected
   circles as fit outside the exclusion region, at most ``max_off_regions``; point-like:
   ``WobbleRegionsFinder`` with the regions that fit at the RAD_MAX);
3. ``SafeMaskMaker`` (aeff-max 1 %, edisp-bias 30 %);
4. a joint W-stat likelihood of the per-observation datasets (equivalent to the stacked one,
   and defined without OFF counts, where gammapy's stacking gives NaN OFF acceptances); the
   background-only W₀ and the fit of a power law or a log-parabola W₁ give TS = W₀ − W₁ with
   as many degrees of freedom as free spectral parameters, p = χ²_sf(TS, dof),
   σ = Φ⁻¹(1 − p/2) (:func:`detection_significance`);
5. flux points with ``FluxPointsEstimator`` in ``n_flux_points`` log bins of the energy range.
"""

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum, Float, Int, List, Unicode
from regions import CircleSkyRegion, PointSkyRegion
from scipy import stats

from ..core.errors import SST1MInputError
from .skymap import exclusion_regions

__all__ = [
    "SpectrumAnalysis",
    "SpectrumResult",
    "detection_significance",
    "fit_result_dict",
    "max_wobble_regions",
    "spectral_model",
]


def detection_significance(ts, dof):
    """Gaussian-equivalent two-sided significance of a likelihood-ratio ``ts`` with ``dof``."""
    p = stats.chi2.sf(max(float(ts), 0.0), dof)
    return float(stats.norm.isf(p / 2)), float(p)


def max_wobble_regions(offset, radius):
    """How many circles of ``radius`` besides the ON one fit on the circle of radius
    ``offset`` around the pointing without touching (angular step > 2 arcsin(r/d), with a 2 %
    margin for gammapy's pixel-based placement)."""
    ratio = 1.02 * (radius / offset).to_value(u.one)
    if ratio >= 1:
        return 0
    return max(int(np.floor(np.pi / np.arcsin(ratio))) - 1, 0)


def spectral_model(name, reference):
    """A gammapy power law or log-parabola with the reference pipeline's start values."""
    from gammapy.modeling.models import LogParabolaSpectralModel, PowerLawSpectralModel

    amplitude = 1e-12 * u.Unit("cm-2 s-1 TeV-1")
    if name == "powerlaw":
        return PowerLawSpectralModel(amplitude=amplitude, index=2.0, reference=reference)
    if name == "logparabola":
        return LogParabolaSpectralModel(
            amplitude=amplitude, alpha=2.0, beta=0.1, reference=reference
        )
    raise ValueError(f"unknown spectral model {name!r}")


def fit_result_dict(model, fit_result, ts, dof):
    """Parameters, errors, covariance and the detection test of a fitted ``SkyModel``."""
    spectral = model.spectral_model
    free = [p for p in spectral.parameters if not p.frozen]
    covariance = spectral.covariance.get_subcovariance(free).data if free else np.zeros((0, 0))
    err = np.sqrt(np.diag(covariance))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = covariance / np.outer(err, err)
    sigma, p = detection_significance(ts, dof)
    return {
        "model": spectral.tag[0],
        "parameters": {
            p.name: {
                "value": float(p.value),
                "error": float(p.error),
                "unit": str(p.unit),
                "frozen": bool(p.frozen),
            }
            for p in spectral.parameters
        },
        "covariance": {
            "parameters": [p.name for p in free],
            "units": [str(p.unit) for p in free],
            "matrix": covariance.tolist(),
            "correlation": np.nan_to_num(correlation).tolist(),
        },
        "fit": {
            "success": bool(fit_result.success),
            "message": str(fit_result.message),
            "total_stat": float(fit_result.total_stat),
        },
        "detection": {"ts": float(ts), "dof": int(dof), "p_value": p, "significance": sigma},
    }


class SpectrumResult:
    """Per-observation datasets, the stacked dataset, the fit and the flux points."""

    def __init__(self):
        self.datasets = []
        self.model = None
        self.fit = None
        self.flux_points = None

    def add(self, dataset):
        self.datasets.append(dataset)

    @property
    def stacked(self):
        from gammapy.datasets import Datasets

        return Datasets(self.datasets).stack_reduce(name="stacked")

    def cumulative_table(self):
        """gammapy's cumulative info table (excess, √TS, livetime, … after each observation)."""
        from gammapy.datasets import Datasets

        return Datasets(self.datasets).info_table(cumulative=True)


class SpectrumAnalysis(Component):
    """Reflected-region spectrum of the target, forward-folded fit and flux points."""

    irf_type = CaselessStrEnum(
        ["auto", "full-enclosure", "point-like"],
        default_value="auto",
        help=(
            "IRF type of the analysis: 'auto' takes point-like when the observation has a "
            "RAD_MAX and no PSF, else full-enclosure."
        ),
    ).tag(config=True)
    on_radius = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.physical.angle,
        help="Radius of the ON circle with full-enclosure IRFs (point-like uses RAD_MAX).",
    ).tag(config=True)
    exclusion_radius = AstroQuantity(
        default_value=0.25 * u.deg,
        physical_type=u.physical.angle,
        help="Radius of the exclusion circle around the target for the OFF regions.",
    ).tag(config=True)
    extra_exclusions = List(
        Unicode(),
        default_value=[],
        help="More exclusion circles as 'RA DEC RADIUS' strings (ICRS degrees).",
    ).tag(config=True)
    max_off_regions = Int(
        99, min=1, help="Largest number of reflected OFF regions per observation."
    ).tag(config=True)
    bins_per_decade = Int(
        12, min=1, help="Reconstructed-energy bins per decade within the energy range."
    ).tag(config=True)
    energy_true_range = List(
        Float(),
        default_value=[0.2, 150.0],
        minlen=2,
        maxlen=2,
        help="True-energy range of the response [TeV].",
    ).tag(config=True)
    true_bins_per_decade = Int(41, min=1, help="True-energy bins per decade.").tag(config=True)
    safe_mask_methods = List(
        Unicode(),
        default_value=["aeff-max", "edisp-bias"],
        help="Methods of gammapy's SafeMaskMaker (e.g. aeff-max, edisp-bias, aeff-default).",
    ).tag(config=True)
    aeff_percent = Float(
        1.0, help="Safe mask aeff-max: energies where the area is below this percentage."
    ).tag(config=True)
    bias_percent = Float(
        30.0, help="Safe mask edisp-bias: energies where the energy bias exceeds this percentage."
    ).tag(config=True)
    model = CaselessStrEnum(
        ["powerlaw", "logparabola"],
        default_value="powerlaw",
        help="Spectral model fitted to the stacked spectrum.",
    ).tag(config=True)
    reference_energy = AstroQuantity(
        default_value=5 * u.TeV,
        physical_type=u.physical.energy,
        help="Reference energy of the spectral model.",
    ).tag(config=True)
    n_flux_points = Int(12, min=1, help="Number of flux points (log bins of the range).").tag(
        config=True
    )
    flux_point_options = List(
        Unicode(),
        default_value=["errn-errp", "ul"],
        help="Optional quantities of the flux points (gammapy selection_optional).",
    ).tag(config=True)

    def start(self, target, energy_range, point_like):
        """Begin an accumulation; returns the `SpectrumResult`."""
        from gammapy.datasets import SpectrumDataset
        from gammapy.makers import (
            ReflectedRegionsBackgroundMaker,
            SafeMaskMaker,
            SpectrumDatasetMaker,
        )
        from gammapy.maps import MapAxis, RegionGeom, WcsGeom

        self.target, self.energy_range, self.point_like = target, energy_range, point_like
        e_reco = MapAxis.from_energy_bounds(
            *energy_range, nbin=self.bins_per_decade, per_decade=True, name="energy"
        )
        e_true = MapAxis.from_energy_bounds(
            *(self.energy_true_range * u.TeV),
            nbin=self.true_bins_per_decade,
            per_decade=True,
            name="energy_true",
        )
        region = PointSkyRegion(target) if point_like else CircleSkyRegion(target, self.on_radius)
        geom = RegionGeom.create(region=region, axes=[e_reco])
        self.empty = SpectrumDataset.create(geom=geom, energy_axis_true=e_true)
        self.maker = SpectrumDatasetMaker(
            containment_correction=not point_like, selection=["counts", "exposure", "edisp"]
        )
        self.safe = SafeMaskMaker(
            methods=list(self.safe_mask_methods),
            aeff_percent=self.aeff_percent,
            bias_percent=self.bias_percent,
        )
        mask_geom = WcsGeom.create(skydir=target, binsz=0.02, width=8 * u.deg, frame="icrs")
        regions = exclusion_regions(target, self.exclusion_radius, self.extra_exclusions)
        self.exclusion = ~mask_geom.region_mask(regions)
        self._reflected = ReflectedRegionsBackgroundMaker
        self.background = ReflectedRegionsBackgroundMaker(
            exclusion_mask=self.exclusion, max_region_number=self.max_off_regions
        )
        self.result = SpectrumResult()
        return self.result

    def _background_maker(self, observation):
        if not self.point_like:
            return self.background
        from gammapy.makers import WobbleRegionsFinder

        offset = observation.get_pointing_icrs(observation.tmid).separation(self.target)
        n_fit = max_wobble_regions(offset, np.max(observation.rad_max.quantity))
        if n_fit < 1:
            raise SST1MInputError(
                f"observation {observation.obs_id}: no OFF region of the RAD_MAX fits at the"
                f" wobble offset {offset:.2f}"
            )
        finder = WobbleRegionsFinder(n_off_regions=min(n_fit, self.max_off_regions))
        return self._reflected(region_finder=finder, exclusion_mask=self.exclusion)

    def reduce(self, observation, name=None):
        """One ``SpectrumDatasetOnOff`` for ``observation`` (safe mask applied)."""
        name = name or f"obs_{observation.obs_id}"
        dataset = self.maker.run(self.empty.copy(name=name), observation)
        dataset_on_off = self._background_maker(observation).run(dataset, observation)
        return self.safe.run(dataset_on_off, observation)

    def add(self, observation):
        dataset = self.reduce(observation)
        self.result.add(dataset)
        return dataset

    def finish(self):
        """Fit the stacked dataset, compute TS/σ and the flux points."""
        from gammapy.datasets import Datasets
        from gammapy.estimators import FluxPointsEstimator
        from gammapy.modeling import Fit
        from gammapy.modeling.models import SkyModel

        result = self.result
        if not result.datasets:
            return result
        # a joint likelihood of the per-observation datasets: the same as the stacked fit,
        # and defined when OFF counts are zero (stacking then gives NaN OFF acceptances)
        datasets = Datasets([d.copy(name=d.name) for d in result.datasets])
        for dataset in datasets:
            dataset.models = None
        w0 = datasets.stat_sum()
        model = SkyModel(
            spectral_model=spectral_model(self.model, self.reference_energy), name="source"
        )
        datasets.models = [model]
        fit_result = Fit().run(datasets=datasets)
        dof = len([p for p in model.spectral_model.parameters if not p.frozen])
        ts = w0 - fit_result.total_stat
        result.stacked_dataset = result.stacked
        result.fit_datasets = datasets
        result.model = model
        result.fit = fit_result_dict(model, fit_result, ts, dof)
        e_min, e_max = self.energy_range
        edges = np.geomspace(e_min.to_value(u.TeV), e_max.to_value(u.TeV), self.n_flux_points + 1)
        estimator = FluxPointsEstimator(
            energy_edges=edges * u.TeV,
            source="source",
            selection_optional=list(self.flux_point_options),
        )
        result.flux_points = estimator.run(datasets=datasets)
        return result
