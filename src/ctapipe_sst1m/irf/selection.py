"""`EventSelection`: the gammaness, θ and multiplicity cuts of one IRF set, from a cuts file
(ctapipe `~ctapipe.irf.OptimizationResult`) or a global gammaness cut.

The header cards it reports say which cuts were applied: ``GH_CUT`` (global) or ``GH_EFF``
(energy-dependent table, with the efficiency it was built for, or ``-1`` if the table came
from a sensitivity optimisation), ``RAD_MAX`` (global θ) or ``TH_CONT`` (θ table).
"""

import operator

import astropy.units as u
import numpy as np
from ctapipe.irf import OptimizationResult

from ..core.errors import SST1MInputError
from .cuts import constant_cut_table, global_cut_mask, table_cut_mask

__all__ = ["EventSelection"]


class EventSelection:
    """Cuts applied to DL2 events.

    Parameters
    ----------
    cuts_file : path or None
        An `OptimizationResult` FITS file (``sst1m-optimize-cuts``, ``ctapipe-optimize-event-
        selection``).
    global_gammaness : float or None
        Global cut ``g > value`` (used when no cuts file is given).
    global_theta : Quantity or None
        θ cut used for point-like IRFs when the cuts file has no θ table.
    min_multiplicity : int
        Events need at least this many telescopes (1 for mono, 2 for stereo).
    """

    def __init__(
        self, cuts_file=None, global_gammaness=None, global_theta=None, min_multiplicity=1
    ):
        if (cuts_file is None) == (global_gammaness is None):
            raise SST1MInputError("give either a cuts file (--cuts) or --global-gammaness")
        self.min_multiplicity = min_multiplicity
        self.gh_table = self.theta_table = self.result = None
        self.global_gammaness = self.global_cut_value = global_gammaness
        self.global_theta = global_theta
        self.header = {}
        if cuts_file is not None:
            try:
                self.result = OptimizationResult.read(cuts_file)
            except (OSError, KeyError) as err:
                raise SST1MInputError(
                    f"{cuts_file}: not a cuts file ({err}); make one with sst1m-optimize-cuts"
                ) from None
            self.gh_table = self.result.gh_cuts
            self.theta_table = self.result.spatial_selection_table
            if "GH_CUT" in self.gh_table.meta:  # a global cut stored as a table
                self.global_cut_value = float(self.gh_table.meta["GH_CUT"])
                self.header["GH_CUT"] = (self.global_cut_value, "global gammaness cut (g > cut)")
            else:
                self.header["GH_EFF"] = (
                    float(self.gh_table.meta.get("GH_EFF", -1.0)),
                    "efficiency of the G/H cut table (-1: optimised)",
                )
            if self.result.multiplicity_cuts is not None:
                self.min_multiplicity = max(
                    min_multiplicity, int(np.min(self.result.multiplicity_cuts["cut"]))
                )
        else:
            self.header["GH_CUT"] = (float(global_gammaness), "global gammaness cut (g > cut)")

    @property
    def energy_dependent(self):
        """True if the gammaness cut is a table (not a global cut stored as one)."""
        return self.gh_table is not None and "GH_CUT" not in self.header

    def theta_cut_table(self, reco_energy_bins):
        """The θ table (from the cuts file, or the global θ in every bin)."""
        if self.theta_table is not None:
            return self.theta_table
        if self.global_theta is None:
            raise SST1MInputError(
                "point-like IRFs need a θ cut: a cuts file with θ cuts or --global-theta"
            )
        return constant_cut_table(u.Quantity(self.global_theta, u.deg), reco_energy_bins)

    def theta_header(self):
        """``TH_CONT`` for a θ table, ``RAD_MAX`` for a global θ."""
        if self.theta_table is not None:
            cont = float(self.theta_table.meta.get("TH_CONT", -1.0))
            return {"TH_CONT": (cont, "RAD_MAX table containment (-1: optimised)")}
        return {"RAD_MAX": (u.Quantity(self.global_theta, u.deg).value, "global theta cut [deg]")}

    def gh_mask(self, events):
        """Events passing the gammaness and multiplicity cuts."""
        if self.gh_table is not None:
            mask = table_cut_mask(
                events["gh_score"], events["reco_energy"], self.gh_table, operator.ge
            )
        else:
            mask = global_cut_mask(events["gh_score"], self.global_gammaness)
        return mask & (np.asarray(events["multiplicity"]) >= self.min_multiplicity)

    def theta_mask(self, events, reco_energy_bins):
        """Events passing the θ cut (``θ ≤ cut(E_reco)``)."""
        table = self.theta_cut_table(reco_energy_bins)
        return table_cut_mask(events["theta"], events["reco_energy"], table, operator.le)
