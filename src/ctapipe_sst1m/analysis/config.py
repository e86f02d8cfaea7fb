"""The analysis settings as gammapy ``AnalysisConfig`` files.

``sst1m-high-level`` runs its own loop over observations (one at a time, so memory stays flat,
with NaN outside the valid pixels and per-run light curves); the same settings are written as
gammapy ``AnalysisConfig`` YAML files, so that the 1-D spectrum and the sky map can be redone
with ``gammapy.analysis.Analysis`` directly from the same index (see the user guide):

.. code-block:: python

    from gammapy.analysis import Analysis, AnalysisConfig
    analysis = Analysis(AnalysisConfig.read("OUT/gammapy_spectrum.yaml"))
    analysis.get_observations(); analysis.get_datasets()
"""

import astropy.units as u
import numpy as np

__all__ = ["skymap_config", "spectrum_config"]


def _common(index_dir, target, obs_ids, required_irf):
    from gammapy.analysis import AnalysisConfig

    config = AnalysisConfig()
    config.observations.datastore = str(index_dir)
    config.observations.obs_ids = [int(o) for o in obs_ids]
    config.observations.required_irf = required_irf
    icrs = target.icrs
    config.datasets.geom.wcs.skydir = {"frame": "icrs", "lon": icrs.ra, "lat": icrs.dec}
    return config


def spectrum_config(index_dir, target, obs_ids, spectrum, energy_range):
    """``AnalysisConfig`` of the reflected-region spectrum (full-enclosure settings)."""
    config = _common(index_dir, target, obs_ids, ["aeff", "edisp", "psf"])
    d = config.datasets
    d.type = "1d"
    d.stack = False
    d.containment_correction = True
    d.on_region = {
        "frame": "icrs",
        "lon": target.icrs.ra,
        "lat": target.icrs.dec,
        "radius": spectrum.on_radius,
    }
    decades = float(u.Quantity(energy_range[1] / energy_range[0]).to_value(u.one))
    n_reco = max(int(round(spectrum.bins_per_decade * np.log10(decades))), 1)
    t_min, t_max = spectrum.energy_true_range
    n_true = max(int(round(spectrum.true_bins_per_decade * np.log10(t_max / t_min))), 1)
    d.geom.axes.energy = {"min": energy_range[0], "max": energy_range[1], "nbins": n_reco}
    d.geom.axes.energy_true = {"min": t_min * u.TeV, "max": t_max * u.TeV, "nbins": n_true}
    d.background.method = "reflected"
    d.background.parameters = {"max_region_number": spectrum.max_off_regions}
    d.safe_mask.methods = list(spectrum.safe_mask_methods)
    d.safe_mask.parameters = {
        "aeff_percent": spectrum.aeff_percent,
        "bias_percent": spectrum.bias_percent,
    }
    config.fit.fit_range = {"min": energy_range[0], "max": energy_range[1]}
    config.flux_points.energy = {
        "min": energy_range[0],
        "max": energy_range[1],
        "nbins": spectrum.n_flux_points,
    }
    return config


def skymap_config(index_dir, target, obs_ids, skymap, energy_range):
    """``AnalysisConfig`` of the ring-background sky map (3-D datasets, ring background)."""
    config = _common(index_dir, target, obs_ids, ["aeff", "edisp", "psf", "bkg"])
    d = config.datasets
    d.type = "3d"
    d.stack = True
    d.geom.wcs.binsize = skymap.pixel_size
    d.geom.wcs.width = {"width": skymap.width, "height": skymap.width}
    d.geom.selection.offset_max = skymap.offset_max
    # gammapy's ring background needs one reconstructed-energy bin (the tool sums its bins)
    n_reco = 1 if skymap.background_method == "ring" else skymap.n_energy_bins
    d.geom.axes.energy = {"min": energy_range[0], "max": energy_range[1], "nbins": n_reco}
    d.geom.axes.energy_true = {
        "min": energy_range[0],
        "max": energy_range[1],
        "nbins": skymap.n_energy_bins,
    }
    d.map_selection = ["counts", "exposure", "background", "edisp"]
    if skymap.background_method == "ring":
        d.background.method = "ring"
        d.background.parameters = {
            "r_in": str(skymap.ring_inner_radius),
            "width": str(skymap.ring_width),
        }
    else:
        d.background.method = "fov_background"
        d.background.parameters = {"method": "scale"}
    if skymap.background_method == "ring":
        # with a single reconstructed-energy bin, aeff-max/edisp-bias would mask all of it
        d.safe_mask.methods = ["offset-max"]
        d.safe_mask.parameters = {"offset_max": str(skymap.offset_max)}
    else:
        d.safe_mask.methods = ["offset-max", "aeff-max", "edisp-bias"]
        d.safe_mask.parameters = {
            "offset_max": str(skymap.offset_max),
            "aeff_percent": skymap.aeff_percent,
            "bias_percent": skymap.bias_percent,
        }
    config.excess_map.correlation_radius = skymap.correlation_radius
    return config
