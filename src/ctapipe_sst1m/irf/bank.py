"""The IRF bank: where each node's file lives, the header cards it carries, and its listing.

Layout (one GADF file per telescope setup, node and selection)::

    BANK/<tel_setup>/<node>/SST1M_<tel_setup>_<node>_<cut>[_pointlike][_ec<k>].fits.gz
    node = zen<ZZ.Z>_az<AAA.A>_nsb<label>          e.g. stereo/zen20.0_az000.0_nsbnone/

The node name is rounded to 0.1°; the exact MC pointing is in ``ZEN_PNT``/``AZ_PNT``. There is
no index file: `list_bank` derives the nodes from the files' headers, so concurrent writers of
different nodes (each writes its own file atomically) cannot corrupt anything.
"""

import hashlib
import json
from pathlib import Path

from astropy.io import fits
from astropy.table import Table

from ..version import __version__

__all__ = [
    "node_name",
    "irf_file_name",
    "cut_tag",
    "irf_header",
    "config_hash",
    "list_bank",
    "check_axes",
    "AXIS_COLUMNS",
]

#: Bin-edge columns that must be identical across the nodes of one setup (interpolation).
AXIS_COLUMNS = (
    "ENERG_LO",
    "ENERG_HI",
    "THETA_LO",
    "THETA_HI",
    "MIGRA_LO",
    "MIGRA_HI",
    "RAD_LO",
    "RAD_HI",
)


def node_name(zenith_deg, azimuth_deg, nsb="none"):
    """Directory name of an MC node, e.g. ``zen20.0_az000.0_nsbnone``."""
    return f"zen{zenith_deg:04.1f}_az{azimuth_deg % 360:05.1f}_nsb{nsb}"


def cut_tag(global_gammaness=None, gamma_efficiency=None):
    """``gc0.75`` for a global cut, ``eff0.70`` for an efficiency table, ``edep`` otherwise."""
    if global_gammaness is not None:
        return f"gc{global_gammaness:g}"
    if gamma_efficiency is not None:
        return f"eff{gamma_efficiency:.2f}"
    return "edep"


def irf_file_name(tel_setup, node, tag, point_like=False, event_class=None):
    """File name of one IRF set inside ``BANK/<tel_setup>/<node>/``."""
    parts = ["SST1M", tel_setup, node, tag]
    if point_like:
        parts.append("pointlike")
    if event_class is not None:
        parts.append(f"ec{event_class}")
    return "_".join(parts) + ".fits.gz"


def config_hash(config):
    """SHA-256 (first 16 hex digits) of a JSON-serialisable configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def irf_header(
    tel_setup, instrument, meta, cuts, config, point_like, event_class=None, obs_time=None
):
    """Header cards of every IRF HDU (GADF plus SST-1M provenance).

    ``meta`` is `SST1MDL2EventReader.metadata` of the gamma file; ``cuts`` holds either
    ``GH_CUT`` or ``GH_EFF`` (and ``RAD_MAX``/``TH_CONT`` for point-like IRFs).
    """
    header = {
        "TELESCOP": "SST-1M",
        "INSTRUME": instrument,
        "TELSETUP": tel_setup,
        "ZEN_PNT": (round(meta["ZEN_PNT"], 6), "MC pointing zenith [deg]"),
        "AZ_PNT": (round(meta["AZ_PNT"], 6), "MC pointing azimuth [deg]"),
        "NSB": (meta["NSB"], "NSB level of the MC node"),
        "EVTCLASS": ("all" if event_class is None else str(event_class), "event class"),
        "CREATOR": f"ctapipe-sst1m v{__version__}",
        "SST1MVER": __version__,
        "CFGHASH": (config_hash(config), "SHA-256[:16] of the tool configuration"),
        "IRFTYPE": "POINT-LIKE" if point_like else "FULL-ENCLOSURE",
    }
    for kind, key in (("energy", "E_SHA256"), ("disp", "D_SHA256"), ("classifier", "C_SHA256")):
        header[key] = meta["hashes"].get(kind, "unknown")
    header.update(cuts)
    if obs_time is not None:
        header["OBS_TIME"] = (obs_time, "[s] time the background weights are scaled to")
    return header


def _row(path, bank):
    with fits.open(path) as hdul:
        h = hdul["EFFECTIVE AREA"].header
        names = [hdu.name for hdu in hdul[1:]]
    return {
        "tel_setup": h.get("TELSETUP", ""),
        "node": path.parent.name,
        "zenith": h.get("ZEN_PNT"),
        "azimuth": h.get("AZ_PNT"),
        "nsb": str(h.get("NSB", "")),
        "type": h.get("HDUCLAS3", ""),
        "cut": str(h.get("GH_CUT", h.get("GH_EFF", "table"))),
        "evtclass": str(h.get("EVTCLASS", "")),
        "hdus": ",".join(names),
        "file": str(path.relative_to(bank)),
    }


def list_bank(bank):
    """Table of the IRF files of a bank, one row per file, read from their headers."""
    bank = Path(bank)
    rows = [_row(p, bank) for p in sorted(bank.glob("*/*/SST1M_*.fits.gz"))]
    names = [
        "tel_setup",
        "node",
        "zenith",
        "azimuth",
        "nsb",
        "type",
        "cut",
        "evtclass",
        "hdus",
        "file",
    ]
    if not rows:
        return Table(names=names, dtype=[str, str, float, float, str, str, str, str, str, str])
    return Table(rows=rows, names=names)


def check_axes(paths):
    """Names of the axis columns that differ between the IRF files ``paths`` (empty: same)."""
    reference, differ = None, set()
    for path in paths:
        with fits.open(path) as hdul:
            axes = {
                (hdu.name, col): hdu.data[col].tobytes()
                for hdu in hdul[1:]
                if hdu.name != "GH_CUTS" and hdu.data is not None
                for col in AXIS_COLUMNS
                if col in hdu.columns.names
            }
        if reference is None:
            reference = axes
        else:
            differ |= {
                f"{k[0]}:{k[1]}"
                for k in set(reference) | set(axes)
                if reference.get(k) != axes.get(k)
            }
    return sorted(differ)
