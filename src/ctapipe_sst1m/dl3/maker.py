"""`DL3Maker`: from the runs of one observation to its DL3 HDUs.

Per observation: the time-weighted mean pointing, the IRFs at its cos(zenith) from the bank
(`~ctapipe_sst1m.dl3.irf_interpolation`), the cuts *of those IRFs* applied to the events
(``GH_CUT``: g > cut; ``GH_CUTS`` table: g ≥ cut(E_reco), events outside the table rejected;
multiplicity ≥ 2 for stereo), the live fraction (`~ctapipe_sst1m.dl3.livetime`) and the HDUs
(`~ctapipe_sst1m.dl3.writer`).
"""

import operator
import os
import warnings

import astropy.units as u
import numpy as np
from astropy.table import vstack
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum, Unicode

from ..core.errors import SST1MInputError
from ..irf.cuts import global_cut_mask, table_cut_mask
from .irf_interpolation import IrfGrid, select_nodes, unique_cos_nodes
from .livetime import deadc
from .writer import observation_hdulist

__all__ = ["DL3Maker", "select_events"]


def select_events(events, irfs, tel_setup):
    """Mask of the events passing the IRF set's gammaness cut and the multiplicity."""
    if irfs.gh_table is not None:
        mask = table_cut_mask(
            events["gh_score"], events["reco_energy"] * u.TeV, irfs.gh_table, operator.ge
        )
    elif irfs.gh_cut is not None:
        mask = global_cut_mask(events["gh_score"], irfs.gh_cut)
    else:
        raise SST1MInputError(f"{irfs.source}: IRF file has neither GH_CUT nor GH_CUTS")
    multiplicity = 2 if tel_setup == "stereo" else 1
    return np.asarray(mask) & (np.asarray(events["multiplicity"]) >= multiplicity)


class DL3Maker(Component):
    """IRFs, cuts, livetime and HDUs of one observation."""

    interpolation = CaselessStrEnum(
        ["nearest", "linear", "cubic"], default_value="linear",
        help="Interpolation of the IRFs in cos(zenith) between the bank's nodes.",
    ).tag(config=True)  # fmt: skip
    irf_mode = CaselessStrEnum(
        ["embed", "link"], default_value="embed",
        help="Embed the IRFs in the DL3 file, or link the unmodified node file (nearest only).",
    ).tag(config=True)  # fmt: skip
    irf_type = CaselessStrEnum(
        ["auto", "full-enclosure", "point-like"], default_value="auto",
        help="IRF type taken from the bank; auto: full-enclosure if the bank has it.",
    ).tag(config=True)  # fmt: skip
    cut = Unicode(None, allow_none=True, help="Cut label of the bank's IRFs (e.g. gc0.75,"
                  " eff0.70) when the bank has several.").tag(config=True)  # fmt: skip
    event_class = Unicode("all", help="Event class of the bank's IRFs.").tag(config=True)
    nsb = Unicode(None, allow_none=True, help="NSB label of the bank's IRFs when the bank has"
                  " several.").tag(config=True)  # fmt: skip
    dead_time = AstroQuantity(
        default_value=None, allow_none=True, physical_type=u.physical.time,
        help="Known dead time per recorded event; None estimates it from the time differences.",
    ).tag(config=True)  # fmt: skip

    max_dead_time = AstroQuantity(
        default_value=1 * u.ms, physical_type=u.physical.time,
        help="Cap of the estimated dead time (at low rates the shortest interval between"
        " events is set by the rate, not by the camera).",
    ).tag(config=True)  # fmt: skip

    def __init__(self, bank, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.bank = bank
        if self.irf_mode == "link" and self.interpolation != "nearest":
            raise SST1MInputError(
                "--irf-mode link references an unmodified node file: use --interpolation nearest"
            )
        self._nodes, self._grids = {}, {}

    def nodes(self, tel_setup):
        """IRF nodes of ``tel_setup`` (cached)."""
        if tel_setup not in self._nodes:
            self._nodes[tel_setup] = select_nodes(
                self.bank, tel_setup, self.irf_type, self.cut, self.event_class, self.nsb
            )
        return self._nodes[tel_setup]

    def grid(self, tel_setup, azimuth):
        """`IrfGrid` of ``tel_setup`` (nodes at one zenith told apart by azimuth), cached."""
        nodes = unique_cos_nodes(self.nodes(tel_setup), azimuth)
        key = tuple(str(n.path) for n in nodes)
        if key not in self._grids:
            self._grids[key] = IrfGrid(nodes)
        return self._grids[key]

    def make(self, obs, target, config_hash, out_path):
        """(HDUList, number of selected events) of observation ``obs``."""
        cos_zen, zenith, azimuth = obs.mean_pointing()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = self.grid(obs.tel_setup, azimuth)
            irfs = grid(cos_zen, azimuth, self.interpolation, self.log)
        for w in caught:
            if "IRF" in str(w.message) or "interpolation" in str(w.message):
                self.log.warning("observation %d: %s", obs.obs_id, w.message)
        events = vstack([r.events for r in obs.runs]) if len(obs.runs) > 1 else obs.runs[0].events
        events = events[np.argsort(np.asarray(events["time"]), kind="stable")]
        events = events[select_events(events, irfs, obs.tel_setup)]
        tau = None if self.dead_time is None else self.dead_time.to_value(u.s)
        cap = self.max_dead_time.to_value(u.s)
        live, tau, n = deadc([r.trigger_times for r in obs.runs], tau, cap)
        info = {
            "target": target,
            "deadc": live,
            "dead_time": tau,
            "n_intervals": n,
            "cos_zenith": cos_zen,
            "zenith": zenith,
            "azimuth": azimuth,
            "config_hash": config_hash,
            "irf_file": os.path.relpath(irfs.source, out_path.parent),
        }
        embed = self.irf_mode == "embed"
        return observation_hdulist(obs, events, info, irfs, embed=embed), len(events)
