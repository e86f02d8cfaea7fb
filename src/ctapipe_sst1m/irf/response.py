"""IRFs accumulated chunk by chunk with pyirf, written as GADF HDUs with SST-1M headers.

The binning comes from ctapipe's IRF makers (`EffectiveArea2dMaker`, `EnergyDispersion2dMaker`,
`PSF3DMaker`, `BackgroundRate2dMaker`), configured with the same keys as for stock
``ctapipe-compute-irf``. The numbers are pyirf's: effective area and background rate are
linear in the events, so pyirf's functions are summed over chunks; energy dispersion and PSF
histograms are summed and normalised once at the end with pyirf's own normalisation, so the
result equals pyirf's on the whole file while only one chunk is in memory.
"""

import astropy.units as u
import numpy as np
from astropy.io import fits
from pyirf.io import (
    create_aeff2d_hdu,
    create_background_2d_hdu,
    create_energy_dispersion_hdu,
    create_psf_table_hdu,
    create_rad_max_hdu,
)
from pyirf.irf import background_2d, effective_area_per_energy, effective_area_per_energy_and_fov
from pyirf.irf.energy_dispersion import _normalize_hist
from pyirf.irf.psf import _normalize_psf

__all__ = ["IrfAccumulator", "cut_table_hdu"]


class IrfAccumulator:
    """Sums of the IRF histograms of one telescope setup and node.

    Parameters
    ----------
    aeff, edisp, psf, bkg : ctapipe IRF makers
        Only their bin edges are used (each IRF has its maker's own binning, as in stock
        ``ctapipe-compute-irf``).
    sim_info : pyirf.simulations.SimulatedEventsInfo
        Simulated gammas.
    point_like : bool
        Gammas simulated from one direction: their single FoV bin is the makers' range.
    """

    def __init__(self, aeff, edisp, psf, bkg, sim_info, point_like):
        self.bins = {
            "aeff": (aeff.true_energy_bins, aeff.fov_offset_bins),
            "edisp": (edisp.true_energy_bins, edisp.fov_offset_bins),
            "psf": (psf.true_energy_bins, psf.fov_offset_bins),
            "bkg": (bkg.reco_energy_bins, bkg.fov_offset_bins),
        }
        self.true_energy_bins, self.fov_bins = self.bins["aeff"]
        self.migration_bins = np.asarray(edisp.migration_bins)
        self.source_offset_bins = psf.source_offset_bins
        self.reco_energy_bins = bkg.reco_energy_bins
        self.sim_info, self.point_like = sim_info, point_like
        shape = {k: (len(e) - 1, len(f) - 1) for k, (e, f) in self.bins.items()}
        self.aeff = u.Quantity(np.zeros(shape["aeff"]), u.m**2)
        self.n_gamma = np.zeros(shape["aeff"])
        n_e, n_fov = shape["edisp"]
        self.edisp = np.zeros((n_e, len(self.migration_bins) - 1, n_fov))
        self.psf = np.zeros((*shape["psf"], len(self.source_offset_bins) - 1))
        self.background = u.Quantity(np.zeros(shape["bkg"]), "s-1 TeV-1 sr-1")
        self.background_sum_w = np.zeros(shape["bkg"])

    def _coordinates(self, events, kind):
        """(true energy [TeV], FoV offset [deg], edges) of ``events`` for IRF ``kind``."""
        energy_bins, fov_bins = self.bins[kind]
        e = events["true_energy"].to_value(u.TeV)
        fov = events["true_source_fov_offset"].to_value(u.deg)
        if self.point_like:  # one FoV bin: put every event in it
            fov = np.full(len(e), 0.5 * (fov_bins[0] + fov_bins[-1]).to_value(u.deg))
        return e, fov, (energy_bins.to_value(u.TeV), fov_bins.to_value(u.deg))

    def add_gammas(self, selected, psf_selected):
        """Add a chunk of selected gammas (``psf_selected``: without the θ cut)."""
        energy_bins, fov_bins = self.bins["aeff"]
        # bins outside the simulated range have no thrown showers: pyirf gives 0/0 there
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.point_like:
                area = effective_area_per_energy(selected, self.sim_info, energy_bins)
                area = area[:, np.newaxis]
            else:
                area = effective_area_per_energy_and_fov(
                    selected, self.sim_info, energy_bins, fov_bins
                )
        self.aeff += np.nan_to_num(area)
        e, fov, edges = self._coordinates(selected, "aeff")
        self.n_gamma += np.histogram2d(e, fov, bins=edges)[0]
        e, fov, edges = self._coordinates(selected, "edisp")
        mu = (selected["reco_energy"] / selected["true_energy"]).to_value(u.one)
        self.edisp += np.histogramdd(
            np.column_stack([e, mu, fov]), bins=(edges[0], self.migration_bins, edges[1])
        )[0]
        e, fov, edges = self._coordinates(psf_selected, "psf")
        theta = psf_selected["theta"].to_value(u.deg)
        self.psf += np.histogramdd(
            np.column_stack([e, fov, theta]),
            bins=(edges[0], edges[1], self.source_offset_bins.to_value(u.deg)),
        )[0]

    def add_background(self, selected, obs_time):
        """Add a chunk of selected, weighted background events."""
        energy_bins, fov_bins = self.bins["bkg"]
        self.background += background_2d(selected, energy_bins, fov_bins, obs_time)
        self.background_sum_w += np.histogram2d(
            selected["reco_energy"].to_value(u.TeV),
            selected["reco_source_fov_offset"].to_value(u.deg),
            bins=(energy_bins.to_value(u.TeV), fov_bins.to_value(u.deg)),
            weights=selected["weight"],
        )[0]

    def hdus(self, header, point_like_irf, rad_max=None, with_background=True):
        """GADF HDUs: AEFF, EDISP, PSF (full-enclosure) or RAD_MAX (point-like), BKG.

        ``header``: cards added to every HDU; ``rad_max``: θ cut table for point-like IRFs.
        """
        cards = dict(header)
        e_edisp, fov_edisp = self.bins["edisp"]
        hdus = [
            create_aeff2d_hdu(
                self.aeff,
                self.true_energy_bins,
                self.fov_bins,
                point_like=point_like_irf,
                extname="EFFECTIVE AREA",
                **cards,
            ),
            create_energy_dispersion_hdu(
                _normalize_hist(self.edisp, self.migration_bins),
                e_edisp,
                self.migration_bins,
                fov_edisp,
                point_like=point_like_irf,
                extname="ENERGY DISPERSION",
                **cards,
            ),
        ]
        if point_like_irf:
            cut = u.Quantity(rad_max["cut"]).to(u.deg)
            bins = u.Quantity(np.append(rad_max["low"], rad_max["high"][-1]))
            values = np.repeat(cut[:, np.newaxis], len(self.fov_bins) - 1, axis=1)
            hdus.append(create_rad_max_hdu(values, bins, self.fov_bins, extname="RAD_MAX", **cards))
        else:
            e_psf, fov_psf = self.bins["psf"]
            hdus.append(
                create_psf_table_hdu(
                    _normalize_psf(self.psf, self.source_offset_bins),
                    e_psf,
                    self.source_offset_bins,
                    fov_psf,
                    extname="PSF",
                    **cards,
                )
            )
        if with_background:
            e_bkg, fov_bkg = self.bins["bkg"]
            hdus.append(
                create_background_2d_hdu(
                    self.background, e_bkg, fov_bkg, extname="BACKGROUND", **cards
                )
            )
        return hdus


def cut_table_hdu(table, extname, header):
    """A cut table (``low``, ``high``, ``center``, ``cut``) as a BinTableHDU."""
    columns = [c for c in ("low", "high", "center", "cut", "n_events") if c in table.colnames]
    hdu = fits.table_to_hdu(table[columns])
    hdu.name = extname
    for key, value in header.items():
        hdu.header[key] = value
    return hdu
