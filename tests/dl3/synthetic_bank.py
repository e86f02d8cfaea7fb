"""Helpers of the DL3 tests: a synthetic IRF bank in the layout of ``ctapipe_sst1m.irf.bank``.

The node files are written with pyirf's GADF HDU functions from analytic responses whose
zenith dependence is known (effective area ∝ cos Z, energy dispersion and PSF Gaussians whose
width grows with zenith, background ∝ cos² Z, gammaness cut and RAD_MAX linear in cos Z), so
the interpolation tests can compare with exact values. End-to-end tests use the shared
``chain`` products instead.
"""

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from pyirf.io import (
    create_aeff2d_hdu,
    create_background_2d_hdu,
    create_energy_dispersion_hdu,
    create_psf_table_hdu,
    create_rad_max_hdu,
)

from ctapipe_sst1m.irf.bank import irf_file_name, node_name

ENERGY = np.geomspace(0.1, 100, 13) * u.TeV
OFFSET = np.linspace(0, 4, 5) * u.deg
MIGRA = np.linspace(0.2, 3, 57)
RAD = np.linspace(0, 1, 101) * u.deg


def _gauss_pdf(centres, mean, sigma):
    pdf = np.exp(-0.5 * ((centres - mean) / sigma) ** 2)
    return pdf


def node_arrays(zenith):
    """The analytic responses of a node at ``zenith`` [deg] (pyirf shapes)."""
    cz = np.cos(np.deg2rad(zenith))
    n_e, n_t = len(ENERGY) - 1, len(OFFSET) - 1
    e = np.sqrt(ENERGY[:-1] * ENERGY[1:]).to_value(u.TeV)
    aeff = (1e4 * cz * (e / (e + 1.0)))[:, None] * np.ones(n_t) * u.m**2
    mc = 0.5 * (MIGRA[:-1] + MIGRA[1:])
    edisp = _gauss_pdf(mc, 1.0, 0.1 + 0.2 * (1 - cz))[None, :, None] * np.ones((n_e, 1, n_t))
    edisp /= (edisp * np.diff(MIGRA)[None, :, None]).sum(axis=1, keepdims=True)
    rc = 0.5 * (RAD[:-1] + RAD[1:]).to_value(u.deg)
    sigma = 0.1 + 0.3 * (1 - cz)
    psf = _gauss_pdf(rc, 0.0, sigma) * rc  # per degree, then normalise over solid angle
    omega = np.pi * np.diff(RAD.to_value(u.rad) ** 2)
    psf = psf / rc / (psf / rc * omega).sum()
    psf = psf[None, None, :] * np.ones((n_e, n_t, 1)) / u.sr
    bkg = (1e-3 * cz**2 * e[:, None] ** -2.0) * np.ones(n_t) * u.Unit("MeV-1 s-1 sr-1")
    rad_max = np.full((n_e, n_t), 0.1 + 0.2 * cz) * u.deg
    gh = 0.5 + 0.3 * cz * np.ones(n_e)
    return {"aeff": aeff, "edisp": edisp, "psf": psf, "bkg": bkg, "rad_max": rad_max, "gh": gh}


def write_node(bank, setup, zenith, point_like=False, gh_table=False, azimuth=0.0, axes=None):
    """Write one node file; returns its path."""
    arr = node_arrays(zenith)
    energy = ENERGY if axes is None else axes
    node = node_name(zenith, azimuth)
    cards = {
        "TELESCOP": "SST-1M",
        "INSTRUME": "SST1M-1,2",
        "TELSETUP": setup,
        "ZEN_PNT": float(zenith),
        "AZ_PNT": float(azimuth),
        "NSB": "none",
        "EVTCLASS": "all",
    }
    cards.update({"GH_EFF": 0.7} if gh_table else {"GH_CUT": 0.6})
    hdus = [
        fits.PrimaryHDU(),
        create_aeff2d_hdu(arr["aeff"], energy, OFFSET, point_like=point_like, **cards),
        create_energy_dispersion_hdu(
            arr["edisp"],
            energy,
            MIGRA,
            OFFSET,
            point_like=point_like,
            extname="ENERGY DISPERSION",
            **cards,
        ),  # fmt: skip
    ]
    if point_like:
        hdus.append(create_rad_max_hdu(arr["rad_max"], energy, OFFSET, **cards))
    else:
        hdus.append(create_psf_table_hdu(arr["psf"], energy, RAD, OFFSET, **cards))
    hdus.append(create_background_2d_hdu(arr["bkg"], energy, OFFSET, **cards))
    if gh_table:
        table = QTable()
        table["low"], table["high"] = energy[:-1], energy[1:]
        table["center"] = np.sqrt(energy[:-1] * energy[1:])
        table["cut"] = arr["gh"]
        hdu = fits.BinTableHDU(table, name="GH_CUTS")
        hdu.header.update(cards)
        hdus.append(hdu)
    directory = bank / setup / node
    directory.mkdir(parents=True, exist_ok=True)
    tag = "eff0.70" if gh_table else "gc0.6"
    path = directory / irf_file_name(setup, node, tag, point_like)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def make_bank(bank, zeniths=(20.0, 30.0, 40.0), setup="stereo", **kwargs):
    """A synthetic bank with one file per zenith node."""
    for z in zeniths:
        write_node(bank, setup, z, **kwargs)
    return bank
