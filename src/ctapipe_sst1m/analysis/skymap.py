"""Sky maps: ring or FoV background, significance and excess maps, significance distribution.

Steps (spec ``irf_dl3_perf.md`` §8.2), one observation at a time (memory does not grow with
the number of observations):

1. gammapy ``MapDatasetMaker`` on a WCS geometry centred on the target (counts, exposure,
   background from the background IRF), ``SafeMaskMaker`` (offset-max, aeff-max, edisp-bias);
2. ``ring``: the dataset summed over energy (``to_image``) and gammapy's ``RingBackgroundMaker``
   (the background IRF is the acceptance template) → ``MapDatasetOnOff``;
   ``fov``: gammapy's ``FoVBackgroundMaker`` scales the background IRF outside the exclusion
   region (a 3-D dataset);
3. the datasets are stacked; ``ExcessMapEstimator`` (correlation radius 0.1°) gives the
   ``sqrt_ts`` (significance) and ``npred_excess`` (excess) maps;
4. the significances of the pixels outside the exclusion region (excluded and unexposed
   pixels are NaN — the reference put zeros there, quirk 42) are fitted with a Gaussian
   (:func:`significance_distribution`).
"""

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum, Float, Int, List, Unicode
from regions import CircleSkyRegion

__all__ = [
    "SkyMapAnalysis",
    "SkyMapResult",
    "background_coverage",
    "exclusion_mask",
    "exclusion_regions",
    "radial_acceptance",
    "significance_distribution",
]


def exclusion_regions(target, radius, extra=()):
    """Exclusion circles: one of ``radius`` around ``target``, plus each ``extra`` circle given
    as an ``'RA DEC RADIUS'`` string (ICRS degrees), the form of the ``extra_exclusions``
    options of the sky-map and spectrum analyses."""
    from astropy.coordinates import SkyCoord

    regions = [CircleSkyRegion(target, radius)]
    for text in extra:
        ra, dec, size = (float(v) for v in text.split())
        regions.append(CircleSkyRegion(SkyCoord(ra * u.deg, dec * u.deg), size * u.deg))
    return regions


def exclusion_mask(geom, regions):
    """Boolean image, True where a pixel is *outside* every exclusion region (gammapy's
    convention for ``exclusion_mask``)."""
    return ~geom.to_image().region_mask(regions)


def background_coverage(background, offset, offset_max):
    """Fraction of the pixels within ``offset_max`` (deg) of the pointing where the background
    cube (summed over energy) predicts more than 1e-12 counts.

    A background IRF made from enough simulated cosmic rays covers the whole field of view
    (fraction 1); one made from a handful of surviving protons is a few spikes (a few per cent),
    and one interpolated from such nodes is ~1e-80 everywhere (fraction 0). Neither has the
    shape of the background, which is all the ring and FoV methods take from it.
    """
    image = np.nan_to_num(np.asarray(background, float)).sum(axis=0)
    inside = np.asarray(offset) <= offset_max
    if not inside.any():
        return 0.0
    return float(np.count_nonzero(image[inside] > 1e-12) / np.count_nonzero(inside))


def radial_acceptance(counts, offset, outside, bin_width):
    """Background template from the counts themselves, radially symmetric about the pointing.

    Used when the background IRF does not cover the field of view (`background_coverage`: too
    few simulated cosmic rays survive the cuts). In
    rings of ``bin_width`` around the pointing, the mean count per pixel outside the exclusion
    regions is the background rate of every pixel of the ring; the energy dependence is the
    spectrum of the counts outside the exclusions. The source region, excluded, does not
    raise its own acceptance, so a source is not absorbed into the template.

    Parameters
    ----------
    counts : ndarray, shape (n_energy, ny, nx)
        Counts cube of the observation.
    offset : ndarray, shape (ny, nx)
        Pixel distance from the pointing (deg).
    outside : ndarray of bool, shape (ny, nx)
        True outside every exclusion region.
    bin_width : float
        Width of the offset rings (deg).

    Returns
    -------
    ndarray, shape (n_energy, ny, nx)
        Expected background counts per pixel and energy bin (sums to the counts outside the
        exclusions, over the pixels outside the exclusions).
    """
    counts = np.nan_to_num(np.asarray(counts, float))
    outside = np.asarray(outside, bool)
    ring = np.floor(np.asarray(offset) / bin_width).astype(int)
    n_rings = ring.max() + 1
    image = counts.sum(axis=0)
    n_counts = np.bincount(ring[outside], weights=image[outside], minlength=n_rings)
    n_pixels = np.bincount(ring[outside], minlength=n_rings)
    rate = np.divide(n_counts, n_pixels, out=np.zeros(n_rings), where=n_pixels > 0)
    spectrum = counts[:, outside].sum(axis=1)
    total = spectrum.sum()
    if total <= 0:
        return np.zeros_like(counts)
    return (spectrum / total)[:, np.newaxis, np.newaxis] * rate[ring][np.newaxis]


def significance_distribution(significance, mask, n_correlated=1.0):
    """Gaussian fit of the significances of the pixels where ``mask`` is True.

    Parameters
    ----------
    significance : ndarray
        Significance per pixel (NaN where undefined).
    mask : ndarray of bool
        Pixels to use (outside the exclusion region).
    n_correlated : float
        Number of pixels per independent sample (the correlation circle's area in pixels):
        the errors of the mean and width use ``N / n_correlated`` samples.

    Returns
    -------
    dict
        ``mean``, ``sigma`` (maximum-likelihood Gaussian), their errors, ``n_pixels``,
        ``n_independent``.
    """
    values = np.asarray(significance)[np.asarray(mask, bool)]
    values = values[np.isfinite(values)]
    n = values.size
    if n < 2:
        return {"mean": np.nan, "sigma": np.nan, "mean_error": np.nan, "sigma_error": np.nan,
                "n_pixels": int(n), "n_independent": 0.0}  # fmt: skip
    n_eff = max(n / max(n_correlated, 1.0), 2.0)
    mean, sigma = float(np.mean(values)), float(np.std(values))
    return {
        "mean": mean,
        "sigma": sigma,
        "mean_error": sigma / np.sqrt(n_eff),
        "sigma_error": sigma / np.sqrt(2 * (n_eff - 1)),
        "n_pixels": int(n),
        "n_independent": float(n_eff),
    }


class SkyMapResult:
    """Stacked dataset and the estimator's maps."""

    def __init__(self, geom, mask, correlation_radius):
        self.geom = geom
        self.exclusion = mask
        self.correlation_radius = correlation_radius
        self.stacked = None
        self.maps = None

    def add(self, dataset):
        if self.stacked is None:
            self.stacked = dataset.copy(name="stacked")
        else:
            self.stacked.stack(dataset)

    def significance_map(self):
        """Significance (``sqrt_ts``) with NaN where it is undefined (no exposure)."""
        return self.maps["sqrt_ts"]

    def off_distribution(self):
        """Gaussian fit of the significances outside the exclusion region."""
        sig = self.significance_map().data[0]
        outside = self.exclusion.data
        pixel = self.geom.pixel_scales.mean().to_value(u.deg)
        n_corr = np.pi * (self.correlation_radius.to_value(u.deg) / pixel) ** 2
        return significance_distribution(sig, outside, n_corr)

    def masked_significance(self):
        """Significances with excluded pixels NaN (for the distribution plot)."""
        sig = self.significance_map().data[0].astype(float).copy()
        outside = self.exclusion.data
        sig[~outside] = np.nan
        return sig


class SkyMapAnalysis(Component):
    """Significance and excess maps with the ring (or FoV) background method."""

    width = AstroQuantity(
        default_value=5 * u.deg, physical_type=u.physical.angle, help="Width of the square map."
    ).tag(config=True)
    pixel_size = AstroQuantity(
        default_value=0.02 * u.deg, physical_type=u.physical.angle, help="Pixel size of the map."
    ).tag(config=True)
    n_energy_bins = Int(
        20, min=1, help="Number of reconstructed-energy bins (log) within the energy range."
    ).tag(config=True)
    background_method = CaselessStrEnum(
        ["ring", "fov"],
        default_value="ring",
        help=(
            "Background method: 'ring' (RingBackgroundMaker on the energy-summed image, the "
            "background IRF as acceptance) or 'fov' (background IRF normalised outside the "
            "exclusion region by FoVBackgroundMaker)."
        ),
    ).tag(config=True)
    ring_inner_radius = AstroQuantity(
        default_value=0.6 * u.deg,
        physical_type=u.physical.angle,
        help="Inner radius of the background ring.",
    ).tag(config=True)
    ring_width = AstroQuantity(
        default_value=0.2 * u.deg, physical_type=u.physical.angle, help="Width of the ring."
    ).tag(config=True)
    exclusion_radius = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.physical.angle,
        help="Radius of the exclusion circle around the target.",
    ).tag(config=True)
    extra_exclusions = List(
        Unicode(),
        default_value=[],
        help="More exclusion circles as 'RA DEC RADIUS' strings (ICRS degrees).",
    ).tag(config=True)
    correlation_radius = AstroQuantity(
        default_value=0.1 * u.deg,
        physical_type=u.physical.angle,
        help="Correlation radius of the excess and significance maps.",
    ).tag(config=True)
    offset_max = AstroQuantity(
        default_value=2.5 * u.deg,
        physical_type=u.physical.angle,
        help="Pixels further than this from the pointing are masked (safe mask offset-max).",
    ).tag(config=True)
    acceptance_bin_width = AstroQuantity(
        default_value=0.1 * u.deg,
        physical_type=u.physical.angle,
        help=(
            "Width of the offset rings of the acceptance taken from the counts when the "
            "background IRF does not cover the field of view."
        ),
    ).tag(config=True)
    min_background_coverage = Float(
        0.9,
        min=0,
        max=1,
        help=(
            "Fraction of the pixels within offset_max where the background IRF must predict a"
            " background for its shape to be used; below it the acceptance is taken from the"
            " run's own counts (radial, around the pointing)."
        ),
    ).tag(config=True)
    safe_mask_methods = List(
        Unicode(),
        default_value=["offset-max", "aeff-max", "edisp-bias"],
        help="Methods of gammapy's SafeMaskMaker (offset-max, aeff-max, edisp-bias, ...).",
    ).tag(config=True)
    aeff_percent = Float(
        1.0, help="Safe mask aeff-max: energies where the area is below this percentage."
    ).tag(config=True)
    bias_percent = Float(
        30.0, help="Safe mask edisp-bias: energies where the energy bias exceeds this percentage."
    ).tag(config=True)

    def geometry(self, target, energy_range):
        from gammapy.maps import MapAxis, WcsGeom

        axis = MapAxis.from_energy_bounds(*energy_range, nbin=self.n_energy_bins, name="energy")
        return WcsGeom.create(
            skydir=target,
            width=self.width,
            binsz=self.pixel_size.to_value(u.deg),
            frame="icrs",
            proj="TAN",
            axes=[axis],
        )

    def start(self, target, energy_range):
        """Begin an accumulation; returns the `SkyMapResult`."""
        from gammapy.datasets import MapDataset
        from gammapy.makers import (
            FoVBackgroundMaker,
            MapDatasetMaker,
            RingBackgroundMaker,
            SafeMaskMaker,
        )

        self.geom = self.geometry(target, energy_range)
        regions = exclusion_regions(target, self.exclusion_radius, self.extra_exclusions)
        mask = exclusion_mask(self.geom, regions)
        e_true = self.geom.axes["energy"].copy(name="energy_true")
        self.empty = MapDataset.create(self.geom, energy_axis_true=e_true, name="empty")
        # the energy dispersion is only needed by the edisp-bias safe mask
        selection = ["counts", "exposure", "background"]
        if "edisp-bias" in self.safe_mask_methods:
            selection.append("edisp")
        self.maker = MapDatasetMaker(selection=selection)
        self.safe = SafeMaskMaker(
            methods=list(self.safe_mask_methods),
            offset_max=self.offset_max,
            aeff_percent=self.aeff_percent,
            bias_percent=self.bias_percent,
        )
        if self.background_method == "ring":
            self.background = RingBackgroundMaker(
                r_in=self.ring_inner_radius, width=self.ring_width, exclusion_mask=mask
            )
        else:
            self.background = FoVBackgroundMaker(method="scale", exclusion_mask=mask)
        self.result = SkyMapResult(self.geom, mask, self.correlation_radius)
        return self.result

    def add(self, observation):
        """Reduce one observation and stack it."""
        dataset = self.maker.run(self.empty.copy(name=f"obs_{observation.obs_id}"), observation)
        pointing = observation.get_pointing_icrs(observation.tmid)
        offset = self.geom.to_image().separation(pointing).to_value(u.deg)
        coverage = background_coverage(
            dataset.background.data, offset, self.offset_max.to_value(u.deg)
        )
        if coverage < self.min_background_coverage:
            # a background IRF of too few surviving cosmic rays (spikes, or ~0 everywhere)
            # would leave the ring without acceptance and mask most pixels: the acceptance
            # is taken from the observation's own counts outside the exclusions
            self.log.warning(
                "obs %d: the background IRF predicts a background in %.0f %% of the field of"
                " view (SkyMapAnalysis.min_background_coverage %.0f %%); radial acceptance from"
                " the run's counts",
                observation.obs_id,
                100 * coverage,
                100 * self.min_background_coverage,
            )
            dataset.background.data = radial_acceptance(
                dataset.counts.data, offset, self.result.exclusion.data,
                self.acceptance_bin_width.to_value(u.deg),
            )  # fmt: skip
        dataset = self.safe.run(dataset, observation)
        if self.background_method == "ring":
            dataset = self.background.run(dataset.to_image())
        else:
            dataset = self.background.run(dataset)
        self.result.add(dataset)

    def finish(self):
        """Excess and significance maps of the stacked data."""
        from gammapy.datasets import MapDatasetOnOff
        from gammapy.estimators import ExcessMapEstimator

        result = self.result
        if result.stacked is None:
            return result
        estimator = ExcessMapEstimator(
            correlation_radius=self.correlation_radius, selection_optional=[]
        )
        stacked = result.stacked
        if self.background_method == "fov":
            stacked = stacked.to_image()
        maps = estimator.run(stacked)
        sqrt_ts = maps["sqrt_ts"]
        undefined = ~np.isfinite(sqrt_ts.data)
        if stacked.mask_safe is not None:
            undefined |= ~stacked.mask_safe_image.data[np.newaxis]
        if isinstance(stacked, MapDatasetOnOff):  # no OFF counts in the ring: no estimate
            undefined |= ~(stacked.acceptance_off.data.sum(axis=0) > 0)[np.newaxis]
        for name in ("sqrt_ts", "npred_excess"):
            maps[name].data = maps[name].data.astype(float)
            maps[name].data[undefined] = np.nan
        result.maps = {"sqrt_ts": sqrt_ts, "npred_excess": maps["npred_excess"]}
        result.stacked_image = stacked
        return result
