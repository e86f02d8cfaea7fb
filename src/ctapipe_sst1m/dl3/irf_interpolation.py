"""IRFs of an observation from the IRF bank, interpolated in cos(zenith) with pyirf.

The nodes are the bank's files of one telescope setup, IRF type (full-enclosure or
point-like), cut and event class (`select_nodes`; nodes at the same zenith are told apart by
their azimuth, nearest first: azimuth only breaks ties, as in lstchain). The grid is
cos(ZEN_PNT) of the nodes; the target is the livetime-weighted mean cos(zenith) of the
observation. Methods (`interpolate_irfs`):

* ``nearest``: the HDUs of the node nearest in cos(zenith), unchanged;
* ``linear``: effective area linear in log(A) (pyirf `EffectiveAreaEstimator`), energy
  dispersion and PSF by quantile interpolation of their cumulative distributions
  (`EnergyDispersionEstimator`, `PSFTableEstimator`), RAD_MAX and the gammaness cuts by grid
  interpolation (`RadMaxEstimator`, `GridDataInterpolator`), background by grid interpolation
  of its logarithm (pyirf has no background estimator);
* ``cubic``: as linear with cubic grid interpolation of the parametrised components (needs
  ≥ 4 nodes, else linear with a warning); PDFs are always quantile-interpolated.

Outside the grid the target is clamped to the edge node (warning, header card ``IRFCLAMP``).
The result keeps the nearest node's HDUs (axes, GADF and SST-1M cards) with the interpolated
data and the cards ``ZEN_PNT``/``AZ_PNT`` (the observation's), ``IRF_METH``, ``IRF_NODE``,
``IRF_COSZ``, ``IRFCLAMP``.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from pyirf.interpolation import (
    EffectiveAreaEstimator,
    EnergyDispersionEstimator,
    GridDataInterpolator,
    PSFTableEstimator,
    RadMaxEstimator,
)

from ..core.errors import SST1MInputError
from ..irf.bank import check_axes, list_bank

__all__ = ["IrfNode", "IrfSet", "interpolate_irfs", "select_nodes", "IRF_HDUS"]

#: IRF HDU names of the bank files and their index HDU_TYPE / HDU_CLASS
IRF_HDUS = {
    "EFFECTIVE AREA": ("aeff", "aeff_2d"),
    "ENERGY DISPERSION": ("edisp", "edisp_2d"),
    "PSF": ("psf", "psf_table"),
    "RAD_MAX": ("rad_max", "rad_max_2d"),
    "BACKGROUND": ("bkg", "bkg_2d"),
}
_METHODS = ("nearest", "linear", "cubic")
#: floor of the effective area before its logarithm is interpolated
_MIN_AEFF = 1e-6 * u.m**2


@dataclass
class IrfNode:
    """One IRF file of the bank."""

    path: Path
    name: str
    zenith: float
    azimuth: float

    @property
    def cos_zenith(self):
        """cos(ZEN_PNT)."""
        return float(np.cos(np.deg2rad(self.zenith)))


@dataclass
class IrfSet:
    """The IRFs of one observation and the cuts to apply to its events."""

    hdus: list
    nodes: list
    method: str
    clamped: bool
    point_like: bool
    gh_cut: float | None = None
    gh_table: QTable | None = None
    header: dict = field(default_factory=dict)
    source: Path | None = None


def select_nodes(bank, tel_setup, irf_type="auto", cut=None, event_class="all", nsb=None):
    """Bank nodes of one setup, type, cut, event class and NSB label, by increasing zenith."""
    table = list_bank(bank)
    rows = table[table["tel_setup"] == tel_setup] if len(table) else table
    if len(rows) == 0:
        have = sorted(set(table["tel_setup"])) if len(table) else []
        raise SST1MInputError(
            f"{bank}: no IRFs of {tel_setup} (it has {have or 'none'}); make them with"
            f" sst1m-make-irfs --tel-setup {tel_setup}"
        )
    types = sorted(set(rows["type"]))
    if irf_type == "auto":
        irf_type = "FULL-ENCLOSURE" if "FULL-ENCLOSURE" in types else types[0]
    irf_type = irf_type.upper()
    rows = rows[rows["type"] == irf_type]
    for key, value, option in (
        ("cut", cut, "IrfInterpolator.cut"),
        ("evtclass", event_class, "IrfInterpolator.event_class"),
        ("nsb", nsb, "IrfInterpolator.nsb"),
    ):
        labels = sorted(set(rows[key]))
        if value is not None:
            rows = rows[rows[key] == str(value)]
        elif len(labels) > 1:
            raise SST1MInputError(
                f"{bank}: {tel_setup} {irf_type} IRFs with several {key} values {labels};"
                f" choose one with --{option}=..."
            )
    if len(rows) == 0:
        raise SST1MInputError(
            f"{bank}: no {irf_type} IRFs of {tel_setup} with cut={cut} event class={event_class}"
            f" nsb={nsb} (types {types}); see sst1m-irf-bank {bank}"
        )
    nodes = [
        IrfNode(Path(bank) / r["file"], str(r["node"]), float(r["zenith"]), float(r["azimuth"]))
        for r in rows
    ]
    return sorted(nodes, key=lambda n: (n.zenith, n.azimuth))


def _unique_cos(nodes, azimuth):
    """One node per cos(zenith): the one nearest in azimuth."""
    best = {}
    for node in nodes:
        key = round(node.cos_zenith, 6)
        d = abs((node.azimuth - azimuth + 180) % 360 - 180)
        if key not in best or d < best[key][0]:
            best[key] = (d, node)
    return [best[k][1] for k in sorted(best)]


def _edges(data, lo, hi):
    return np.append(np.asarray(data[lo][0], dtype=float), np.asarray(data[hi][0])[-1])


def _stack(hdus, column):
    return np.stack([np.asarray(h.data[column][0], dtype=np.float64).T for h in hdus])


def _interpolate(name, hdus, grid, target, method):
    """Interpolated data column (file layout) of HDU ``name`` of every node."""
    kwargs = {"method": method}
    point = np.array([[target]])
    if name == "EFFECTIVE AREA":
        est = EffectiveAreaEstimator(
            grid, _stack(hdus, "EFFAREA") * u.m**2, interpolator_kwargs=kwargs,
            min_effective_area=_MIN_AEFF,
        )  # fmt: skip
        value = u.Quantity(est(point)).to_value(u.m**2)
        value[value <= 2 * _MIN_AEFF.value] = 0.0
        return "EFFAREA", value
    if name == "ENERGY DISPERSION":
        migra = _edges(hdus[0].data, "MIGRA_LO", "MIGRA_HI")
        est = EnergyDispersionEstimator(grid, migra, _stack(hdus, "MATRIX"), axis=-2)
        return "MATRIX", np.nan_to_num(np.asarray(est(point)))
    if name == "PSF":
        rad = _edges(hdus[0].data, "RAD_LO", "RAD_HI") * u.deg
        est = PSFTableEstimator(grid, rad, _stack(hdus, "RPSF") / u.sr, axis=-1)
        return "RPSF", np.nan_to_num(u.Quantity(est(point)).to_value(1 / u.sr))
    if name == "RAD_MAX":
        est = RadMaxEstimator(grid, _stack(hdus, "RAD_MAX"), interpolator_kwargs=kwargs)
        return "RAD_MAX", np.asarray(est(point))
    if name == "BACKGROUND":
        bkg = _stack(hdus, "BKG")
        positive = bkg[bkg > 0]
        floor = 1e-6 * positive.min() if len(positive) else 1.0
        interp = GridDataInterpolator(grid, np.log(np.maximum(bkg, floor)), **kwargs)
        value = np.exp(interp(point))
        value[value <= 2 * floor] = 0.0
        return "BKG", value
    raise KeyError(name)


def _gh_table(hdus, grid, target, method):
    table = QTable.read(hdus[0])
    cuts = np.stack([np.asarray(h.data["cut"], dtype=float) for h in hdus])
    table["cut"] = GridDataInterpolator(grid, cuts, method=method)(np.array([[target]])).reshape(-1)
    return table


def _effective_method(method, n_nodes, log):
    if method not in _METHODS:
        raise SST1MInputError(f"interpolation {method!r}: choose one of {_METHODS}")
    if n_nodes == 1 and method != "nearest":
        log.info("one IRF node: its IRFs are used as they are")
        return "nearest"
    if method == "cubic" and n_nodes < 4:
        warnings.warn(
            f"cubic interpolation needs at least 4 IRF nodes, the bank has {n_nodes}: linear used",
            stacklevel=3,
        )
        return "linear"
    return method


def interpolate_irfs(nodes, cos_zenith, azimuth=0.0, method="linear", log=None):
    """`IrfSet` at ``cos_zenith`` from ``nodes`` (see the module docstring)."""
    import logging

    log = log or logging.getLogger(__name__)
    nodes = _unique_cos(nodes, azimuth)
    grid_values = np.array([n.cos_zenith for n in nodes])
    target = float(np.clip(cos_zenith, grid_values.min(), grid_values.max()))
    clamped = not np.isclose(target, cos_zenith, rtol=0, atol=1e-12)
    if clamped:
        warnings.warn(
            f"observation at zenith {np.rad2deg(np.arccos(cos_zenith)):.2f} deg is outside the"
            f" IRF grid ({nodes[-1].zenith:.1f}-{nodes[0].zenith:.1f} deg): the edge node is used",
            stacklevel=2,
        )
    method = _effective_method(method, len(nodes), log)
    nearest = nodes[int(np.argmin(np.abs(grid_values - target)))]
    if method != "nearest":
        differ = check_axes([n.path for n in nodes])
        if differ:
            raise SST1MInputError(
                f"{nodes[0].path.parent.parent}: IRF axes differ between nodes"
                f" ({', '.join(differ)}); interpolation needs one binning, use"
                " --interpolation nearest"
            )
    opened = [fits.open(n.path) for n in nodes]
    try:
        names = [h.name for h in opened[0][1:]]
        result_hdus, gh_table = [], None
        i_near = nodes.index(nearest)
        grid = grid_values.reshape(-1, 1)
        used = [nearest] if method == "nearest" else nodes
        for name in names:
            hdu = opened[i_near][name].copy()
            per_node = [o[name] for o in opened]
            if name == "GH_CUTS":
                gh_table = (
                    QTable.read(hdu)
                    if method == "nearest"
                    else _gh_table(per_node, grid, target, method)
                )
                continue
            if name not in IRF_HDUS:
                continue
            if method != "nearest":
                column, value = _interpolate(name, per_node, grid, target, method)
                hdu.data[column][0] = value.reshape(np.asarray(hdu.data[column][0]).T.shape).T
                zen = float(np.rad2deg(np.arccos(target)))
                hdu.header["ZEN_PNT"] = (round(zen, 6), "zenith the IRF is interpolated to [deg]")
                hdu.header["AZ_PNT"] = (round(azimuth % 360, 6), "azimuth of the observation [deg]")
            result_hdus.append(hdu)
        header_ref = opened[i_near]["EFFECTIVE AREA"].header
    finally:
        for o in opened:
            o.close()
    cards = {
        "IRF_METH": (method, "IRF interpolation in cos(zenith)"),
        "IRF_NODE": ",".join(n.name for n in used)[:68],
        "IRF_COSZ": (round(target, 8), "cos(zenith) the IRFs are evaluated at"),
        "IRFCLAMP": (bool(clamped), "observation outside the IRF grid: edge node used"),
    }
    for hdu in result_hdus:
        for key, value in cards.items():
            hdu.header[key] = value
    point_like = header_ref.get("HDUCLAS3") == "POINT-LIKE"
    gh_cut = header_ref.get("GH_CUT")
    extra = {k: header_ref[k] for k in ("GH_CUT", "GH_EFF", "TH_CONT") if k in header_ref}
    return IrfSet(
        hdus=result_hdus,
        nodes=used,
        method=method,
        clamped=clamped,
        point_like=point_like,
        gh_cut=None if gh_cut is None or gh_table is not None else float(gh_cut),
        gh_table=gh_table,
        header={**cards, **extra},
        source=nearest.path,
    )
