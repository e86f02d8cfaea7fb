"""`SST1MCutOptimizer`: energy-dependent gammaness (and θ) cuts written as a ctapipe
`~ctapipe.irf.OptimizationResult`, the file stock ``ctapipe-compute-irf --cuts`` reads.

Methods (sst1mpipe's, spec §4.2):

* ``global``: the same cut in every bin. The file stores ``nextafter(cut, 1)`` so that the
  table's ``g ≥ value`` keeps exactly the events of the global ``g > cut``;
* ``efficiency``: per reco-energy bin the cut keeping ``gamma_efficiency`` of the gammas
  (pyirf percentile), bins under ``min_events`` filled from their populated neighbours,
  clipped to ``gh_cut_range``;
* ``significance``: ctapipe's `~ctapipe.irf.PointSourceSensitivityGhOptimizer` (5σ Li & Ma
  point-source sensitivity with weighted protons; needs weighted events).

θ cuts (``theta``): ``none``, ``global`` (``global_theta`` in every bin) or ``containment``
(per bin, ``theta_containment`` of the gammas passing the gammaness cut).
"""

import operator

import astropy.units as u
import numpy as np
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum, Float, Int, List
from ctapipe.irf import OptimizationResult, PointSourceSensitivityGhOptimizer
from ctapipe.irf.binning import DefaultRecoEnergyBins

from ..core.errors import SST1MInputError
from .cuts import constant_cut_table, containment_theta_cuts, efficiency_gh_cuts, table_cut_mask

__all__ = ["SST1MCutOptimizer"]


class SST1MCutOptimizer(DefaultRecoEnergyBins):
    """Gammaness and θ cuts per reconstructed-energy bin."""

    method = CaselessStrEnum(
        ["global", "efficiency", "significance"],
        default_value="efficiency",
        help="How the gammaness cut is chosen in each reconstructed-energy bin.",
    ).tag(config=True)
    global_gammaness = Float(
        0.75, min=0, max=1, help="Gammaness cut of the global method (g > cut)."
    ).tag(config=True)
    gamma_efficiency = Float(
        0.7, min=0.01, max=1, help="Fraction of gammas kept per bin by the efficiency method."
    ).tag(config=True)
    min_events = Int(
        100, min=1, help="Bins with fewer gammas take the cut of their populated neighbours."
    ).tag(config=True)
    gh_cut_range = List(
        Float(),
        default_value=[0.1, 0.95],
        minlen=2,
        maxlen=2,
        help="Lowest and highest gammaness cut allowed (efficiency method).",
    ).tag(config=True)
    theta = CaselessStrEnum(
        ["none", "global", "containment"],
        default_value="none",
        help="θ cut stored with the gammaness cuts (point-like IRFs, sensitivity).",
    ).tag(config=True)
    global_theta = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.physical.angle,
        help="θ cut of theta=global.",
    ).tag(config=True)
    theta_containment = Float(
        0.68, min=0.01, max=1, help="Fraction of gammas inside the θ cut (theta=containment)."
    ).tag(config=True)
    theta_cut_range = List(
        AstroQuantity(physical_type=u.physical.angle),
        default_value=[0.05 * u.deg, 0.5 * u.deg],
        minlen=2,
        maxlen=2,
        help="Smallest and largest θ cut allowed (theta=containment).",
    ).tag(config=True)

    def __call__(self, gammas, protons, quality_criteria, clf_prefix, min_multiplicity=1):
        """`OptimizationResult` from selected gamma (and weighted proton) event tables.

        ``min_multiplicity`` is stored as a MULTIPLICITY_CUTS table (read by stock
        ``ctapipe-compute-irf`` too) when larger than one.
        """
        bins = self.reco_energy_bins
        meta = {"METHOD": self.method}
        if self.method == "significance":
            optimizer = PointSourceSensitivityGhOptimizer(parent=self)
            for name in ("reco_energy_min", "reco_energy_max", "reco_energy_n_bins_per_decade"):
                setattr(optimizer, name, getattr(self, name))
            result = optimizer(
                {"signal": gammas, "background": protons}, quality_criteria, clf_prefix
            )
            result.gh_cuts.meta.update(meta | {"GH_EFF": -1.0})
            return result
        if self.method == "global":
            gh = constant_cut_table(np.nextafter(self.global_gammaness, 1.0), bins)
            meta["GH_CUT"] = self.global_gammaness
        else:
            try:
                gh = efficiency_gh_cuts(
                    gammas["gh_score"],
                    gammas["reco_energy"],
                    bins,
                    self.gamma_efficiency,
                    self.min_events,
                    self.gh_cut_range,
                )
            except ValueError:
                raise SST1MInputError(
                    f"no reconstructed-energy bin has {self.min_events} gammas; use more MC"
                    " or lower --min-events"
                ) from None
            meta["GH_EFF"] = self.gamma_efficiency
        gh.meta.update(meta)
        theta = None
        if self.theta == "global":
            theta = constant_cut_table(self.global_theta, bins)
            theta.meta["RAD_MAX"] = self.global_theta.to_value(u.deg)
        elif self.theta == "containment":
            keep = table_cut_mask(gammas["gh_score"], gammas["reco_energy"], gh, operator.ge)
            theta = containment_theta_cuts(
                gammas["theta"][keep],
                gammas["reco_energy"][keep],
                bins,
                self.theta_containment,
                self.min_events,
                tuple(self.theta_cut_range),
            )
            theta.meta["TH_CONT"] = self.theta_containment
        for table in (gh, theta):
            if table is not None and "populated" in table.colnames:
                table.remove_column("populated")
        return OptimizationResult(
            valid_energy_min=bins[0],
            valid_energy_max=bins[-1],
            valid_offset_min=0 * u.deg,
            valid_offset_max=np.inf * u.deg,
            gh_cuts=gh,
            clf_prefix=clf_prefix,
            quality_query=list(quality_criteria),
            spatial_selection_table=theta,
            multiplicity_cuts=(
                constant_cut_table(min_multiplicity, bins) if min_multiplicity > 1 else None
            ),
        )
