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

import logging
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

__all__ = [
    "IRF_HDUS",
    "IrfGrid",
    "IrfNode",
    "IrfSet",
    "interpolate_irfs",
    "select_nodes",
    "unique_cos_nodes",
]

#: IRF HDU names of the bank files and their index HDU_TYPE / HDU_CLASS
IRF_HDUS = {
    "EFFECTIVE AREA": ("aeff", "aeff_2d"),
    "ENERGY DISPERSION": ("edisp", "edisp_2d"),
    "PSF": ("psf", "psf_table"),
    "RAD_MAX": ("rad_max", "rad_max_2d"),
    "BACKGROUND": ("bkg", "bkg_2d"),
}
_METHODS = ("nearest", "linear", "cubic")
#: quantile step of pyirf's quantile interpolation of EDISP and PSF (its default, 1e-3, moves
#: the cumulative distribution by up to ~5e-3 even at a node)
QUANTILE_RESOLUTION = 1e-4
#: floor of the effective area before its logarithm is interpolated
_MIN_AEFF = 1e-6 * u.m**2
#: pyirf adds keys to the interpolator kwargs it is given: pass a copy each time
_QUANTILE = {"quantile_resolution": QUANTILE_RESOLUTION}


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


def unique_cos_nodes(nodes, azimuth):
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


def _deep_copy(hdu):
    """A BinTableHDU with its own copy of the data and header."""
    return fits.BinTableHDU(data=hdu.data.copy(), header=hdu.header.copy(), name=hdu.name)


#: data column of each IRF HDU
_COLUMN = {
    "EFFECTIVE AREA": "EFFAREA",
    "ENERGY DISPERSION": "MATRIX",
    "PSF": "RPSF",
    "RAD_MAX": "RAD_MAX",
    "BACKGROUND": "BKG",
}


class IrfGrid:
    """The nodes of one interpolation grid, read once; estimators built once per method.

    ``grid(cos_zenith, azimuth, method)`` gives the `IrfSet` of an observation: only the
    estimators' evaluation is paid per observation.
    """

    def __init__(self, nodes):
        self.nodes = nodes
        self.cos = np.array([n.cos_zenith for n in nodes])
        self.hdus, self.data = [], []
        for node in nodes:
            with fits.open(node.path, memmap=False) as hdul:
                copies = {h.name: _deep_copy(h) for h in hdul[1:]}
            self.hdus.append(copies)
            self.data.append(
                {
                    name: np.asarray(h.data[_COLUMN[name]][0], dtype=np.float64).T
                    for name, h in copies.items()
                    if name in _COLUMN
                }
            )
        self.names = list(self.hdus[0])
        self._estimators = {}
        self._axes_checked = False

    def _check_axes(self):
        if not self._axes_checked and len(self.nodes) > 1:
            differ = check_axes([n.path for n in self.nodes])
            if differ:
                raise SST1MInputError(
                    f"{self.nodes[0].path.parent.parent}: IRF axes differ between nodes"
                    f" ({', '.join(differ)}); interpolation needs one binning, use"
                    " --interpolation nearest"
                )
        self._axes_checked = True

    def _stack(self, name):
        return np.stack([d[name] for d in self.data])

    def _estimator(self, name, method):
        key = (name, method)
        if key in self._estimators:
            return self._estimators[key]
        grid, kwargs, first = self.cos.reshape(-1, 1), {"method": method}, self.hdus[0]
        if name == "EFFECTIVE AREA":
            est = EffectiveAreaEstimator(
                grid, self._stack(name) * u.m**2, interpolator_kwargs=kwargs,
                min_effective_area=_MIN_AEFF,
            )  # fmt: skip
        elif name == "ENERGY DISPERSION":
            migra = _edges(first[name].data, "MIGRA_LO", "MIGRA_HI")
            est = EnergyDispersionEstimator(
                grid, migra, self._stack(name), axis=-2, interpolator_kwargs=dict(_QUANTILE)
            )
        elif name == "PSF":
            rad = _edges(first[name].data, "RAD_LO", "RAD_HI") * u.deg
            est = PSFTableEstimator(
                grid, rad, self._stack(name) / u.sr, axis=-1, interpolator_kwargs=dict(_QUANTILE)
            )
        elif name == "RAD_MAX":
            est = RadMaxEstimator(grid, self._stack(name), interpolator_kwargs=kwargs)
        elif name == "BACKGROUND":
            bkg = self._stack(name)
            positive = bkg[bkg > 0]
            floor = 1e-6 * positive.min() if len(positive) else 1.0
            log_bkg = GridDataInterpolator(grid, np.log(np.maximum(bkg, floor)), **kwargs)

            def est(point, interp=log_bkg, floor=floor):
                value = np.exp(interp(point))
                value[value <= 2 * floor] = 0.0
                return value
        else:  # GH_CUTS
            cuts = np.stack([np.asarray(h["GH_CUTS"].data["cut"], dtype=float) for h in self.hdus])
            est = GridDataInterpolator(grid, cuts, **kwargs)
        self._estimators[key] = est
        return est

    def _value(self, name, method, target):
        value = self._estimator(name, method)(np.array([[target]]))
        if name == "EFFECTIVE AREA":
            value = u.Quantity(value).to_value(u.m**2)
            value[value <= 2 * _MIN_AEFF.value] = 0.0
        elif name == "PSF":
            value = u.Quantity(value).to_value(1 / u.sr)
        return np.nan_to_num(np.asarray(value, dtype=np.float64))

    def __call__(self, cos_zenith, azimuth=0.0, method="linear", log=None):
        """`IrfSet` at ``cos_zenith`` (see the module docstring)."""
        log = log or logging.getLogger(__name__)
        target = float(np.clip(cos_zenith, self.cos.min(), self.cos.max()))
        clamped = not np.isclose(target, cos_zenith, rtol=0, atol=1e-12)
        if clamped:
            warnings.warn(
                f"observation at zenith {np.rad2deg(np.arccos(cos_zenith)):.2f} deg is outside"
                f" the IRF grid ({self.nodes[0].zenith:.1f}-{self.nodes[-1].zenith:.1f} deg):"
                " the edge node is used",
                stacklevel=2,
            )
        method = _effective_method(method, len(self.nodes), log)
        i_near = int(np.argmin(np.abs(self.cos - target)))
        if method != "nearest":
            self._check_axes()
        result_hdus, gh_table = [], None
        for name in self.names:
            hdu = _deep_copy(self.hdus[i_near][name])
            if name == "GH_CUTS":
                gh_table = QTable.read(hdu)
                if method != "nearest":
                    gh_table["cut"] = self._value(name, method, target).reshape(-1)
                continue
            if name not in IRF_HDUS:
                continue
            if method != "nearest":
                value = self._value(name, method, target)
                column = _COLUMN[name]
                hdu.data[column][0] = value.reshape(self.data[i_near][name].shape).T
                zen = float(np.rad2deg(np.arccos(target)))
                hdu.header["ZEN_PNT"] = (round(zen, 6), "zenith the IRF is interpolated to [deg]")
                hdu.header["AZ_PNT"] = (round(azimuth % 360, 6), "azimuth of the observation")
            result_hdus.append(hdu)
        used = [self.nodes[i_near]] if method == "nearest" else self.nodes
        cards = {
            "IRF_METH": (method, "IRF interpolation in cos(zenith)"),
            "IRF_NODE": ",".join(n.name for n in used)[:68],
            "IRF_COSZ": (round(target, 8), "cos(zenith) the IRFs are evaluated at"),
            "IRFCLAMP": (bool(clamped), "observation outside the IRF grid: edge node used"),
        }
        for hdu in result_hdus:
            for key, value in cards.items():
                hdu.header[key] = value
        ref = self.hdus[i_near]["EFFECTIVE AREA"].header
        gh_cut = ref.get("GH_CUT")
        extra = {k: ref[k] for k in ("GH_CUT", "GH_EFF", "TH_CONT") if k in ref}
        return IrfSet(
            hdus=result_hdus,
            nodes=used,
            method=method,
            clamped=clamped,
            point_like=ref.get("HDUCLAS3") == "POINT-LIKE",
            gh_cut=None if gh_cut is None or gh_table is not None else float(gh_cut),
            gh_table=gh_table,
            header={**cards, **extra},
            source=self.nodes[i_near].path,
        )


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
    """`IrfSet` at ``cos_zenith`` from ``nodes`` (one node per cos zenith, nearest azimuth)."""
    return IrfGrid(unique_cos_nodes(nodes, azimuth))(cos_zenith, azimuth, method, log)
