"""θ² analysis: ON and OFF counts from reflected positions around the pointing.

Steps (spec ``irf_dl3_perf.md`` §7.2, §8.1), per observation:

1. ON: angular distance θ of every event to the target; ``N_on`` counts θ < θ_cut (a fixed
   cut, or the observation's ``RAD_MAX`` evaluated at each event's energy and the target's
   offset); θ² is histogrammed.
2. OFF: the target lies at distance d and position angle PA from the pointing; the ``n_off``
   OFF centres lie at the same d, at PA + k·360°/(n_off + 1), k = 1..n_off
   (:func:`reflected_positions`); ``N_off`` and the θ² histogram are summed over them.
3. α = 1/n_off (default), or, as in the reference, the ratio of the counts in a normalisation
   ring (0.5°–0.7°) around the target and around the OFF centres.
4. Excess N_on − α·N_off and the Li & Ma (1983) eq. 17 significance (:func:`li_ma_significance`).

The per-OFF-region counts are kept so that "the OFF regions show no excess" can be tested.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Bool, CaselessStrEnum, Int

from ..core.errors import SST1MInputError

__all__ = [
    "Theta2Analysis",
    "Theta2Result",
    "li_ma_significance",
    "reflected_positions",
    "theta2_counts",
]


def li_ma_significance(n_on, n_off, alpha):
    """Li & Ma (1983) eq. 17 significance, signed by the excess ``n_on − alpha·n_off``.

    Works element-wise on arrays; terms with zero counts are taken at their limit (x ln x → 0).
    """
    n_on, n_off, alpha = np.broadcast_arrays(
        np.asarray(n_on, float), np.asarray(n_off, float), np.asarray(alpha, float)
    )
    total = n_on + n_off
    with np.errstate(divide="ignore", invalid="ignore"):
        term_on = np.where(
            n_on > 0, n_on * np.log((1 + alpha) / alpha * n_on / np.where(total > 0, total, 1)), 0
        )
        term_off = np.where(
            n_off > 0, n_off * np.log((1 + alpha) * n_off / np.where(total > 0, total, 1)), 0
        )
    ts = np.clip(2 * (term_on + term_off), 0, None)
    significance = np.sign(n_on - alpha * n_off) * np.sqrt(ts)
    return significance if significance.ndim else float(significance)


def reflected_positions(target, pointing, n_off):
    """The ``n_off`` OFF centres: the target rotated about the pointing by k·360°/(n_off + 1).

    Parameters
    ----------
    target, pointing : astropy.coordinates.SkyCoord
        Scalar positions (same frame).
    n_off : int
        Number of OFF positions (k = 1..n_off).

    Returns
    -------
    astropy.coordinates.SkyCoord
        Array of ``n_off`` positions at the target's distance from the pointing.
    """
    if n_off < 1:
        raise ValueError(f"n_off must be at least 1, got {n_off}")
    pa = pointing.position_angle(target)
    distance = pointing.separation(target)
    k = np.arange(1, n_off + 1)
    return pointing.directional_offset_by(pa + k * 360 * u.deg / (n_off + 1), distance)


def theta2_counts(event_coord, target, off_centres, theta_cut, theta2_edges, ring=None):
    """Counts of one observation in the ON and OFF regions.

    Parameters
    ----------
    event_coord : SkyCoord
        Event directions.
    target : SkyCoord
        ON centre.
    off_centres : SkyCoord
        OFF centres (array).
    theta_cut : Quantity
        Scalar cut, or one cut per event (energy-dependent RAD_MAX).
    theta2_edges : Quantity
        θ² histogram edges [deg²].
    ring : (Quantity, Quantity) or None
        Inner and outer radius of the normalisation ring.

    Returns
    -------
    dict
        ``n_on``, ``n_off_regions`` (per OFF centre), ``hist_on``, ``hist_off`` (summed over
        OFF centres), ``norm_on``, ``norm_off`` (ring counts, 0 without a ring).
    """
    edges = theta2_edges.to_value(u.deg**2)
    cut = np.broadcast_to(u.Quantity(theta_cut).to_value(u.deg), (len(event_coord),))
    sep_on = event_coord.separation(target).to_value(u.deg)
    result = {
        "n_on": int(np.count_nonzero(sep_on < cut)),
        "hist_on": np.histogram(sep_on**2, edges)[0],
        "n_off_regions": np.zeros(len(off_centres), int),
        "hist_off": np.zeros(len(edges) - 1, int),
        "norm_on": 0,
        "norm_off": 0,
    }
    if ring is not None:
        r_in, r_out = (r.to_value(u.deg) for r in ring)
        result["norm_on"] = int(np.count_nonzero((sep_on > r_in) & (sep_on < r_out)))
    for k, centre in enumerate(off_centres):
        sep = event_coord.separation(centre).to_value(u.deg)
        result["n_off_regions"][k] = np.count_nonzero(sep < cut)
        result["hist_off"] += np.histogram(sep**2, edges)[0]
        if ring is not None:
            result["norm_off"] += int(np.count_nonzero((sep > r_in) & (sep < r_out)))
    return result


class Theta2Result:
    """Accumulated θ² counts: per-observation table, histogram table and summary numbers."""

    def __init__(self, edges, n_off, ring):
        self.edges = edges
        self.n_off = n_off
        self.ring = ring
        self.rows = []
        self.hist_on = np.zeros(len(edges) - 1, int)
        self.hist_off = np.zeros(len(edges) - 1, int)

    def add(self, obs_id, livetime, theta_cut, counts):
        self.hist_on += counts["hist_on"]
        self.hist_off += counts["hist_off"]
        self.rows.append(
            {
                "obs_id": obs_id,
                "livetime": livetime.to(u.s),
                "theta_cut": theta_cut,
                "n_on": counts["n_on"],
                "n_off": int(counts["n_off_regions"].sum()),
                "n_off_regions": counts["n_off_regions"],
                "norm_on": counts["norm_on"],
                "norm_off": counts["norm_off"],
            }
        )

    @property
    def alpha(self):
        """1/n_off, or Σ ring counts ON / Σ ring counts OFF when a ring is used."""
        if self.ring is None:
            return 1.0 / self.n_off
        norm_off = sum(r["norm_off"] for r in self.rows)
        if norm_off == 0:
            raise SST1MInputError("θ²: no event in the OFF normalisation rings; α is undefined")
        return sum(r["norm_on"] for r in self.rows) / norm_off

    def observation_table(self):
        """One row per observation (ECSV-ready)."""
        table = QTable(rows=[[r[k] for k in self.rows[0]] for r in self.rows], names=self.rows[0])
        alpha = self.alpha
        table["excess"] = table["n_on"] - alpha * table["n_off"]
        table["significance"] = li_ma_significance(table["n_on"], table["n_off"], alpha)
        table.meta.update({"ALPHA": alpha, "N_OFF_REG": self.n_off})
        return table

    def histogram_table(self):
        """θ² histogram: ON, OFF, α·OFF, excess and their Poisson errors per bin."""
        alpha = self.alpha
        table = QTable()
        table["theta2_min"] = self.edges[:-1]
        table["theta2_max"] = self.edges[1:]
        table["n_on"] = self.hist_on
        table["n_off"] = self.hist_off
        table["n_off_scaled"] = alpha * self.hist_off
        table["excess"] = self.hist_on - alpha * self.hist_off
        table["n_on_err"] = np.sqrt(self.hist_on)
        table["n_off_scaled_err"] = alpha * np.sqrt(self.hist_off)
        table["excess_err"] = np.hypot(table["n_on_err"], table["n_off_scaled_err"])
        table.meta["ALPHA"] = alpha
        return table

    def summary(self):
        """Key numbers: N_on, N_off, α, excess (with error), Li & Ma σ, livetime [h]."""
        n_on = sum(r["n_on"] for r in self.rows)
        n_off = sum(r["n_off"] for r in self.rows)
        per_region = np.sum([r["n_off_regions"] for r in self.rows], axis=0)
        alpha = self.alpha
        cuts = [np.atleast_1d(u.Quantity(r["theta_cut"]).to_value(u.deg)) for r in self.rows]
        return {
            "n_on": int(n_on),
            "n_off": int(n_off),
            "n_off_regions": [int(n) for n in per_region],
            "alpha": float(alpha),
            "excess": float(n_on - alpha * n_off),
            "excess_error": float(np.sqrt(n_on + alpha**2 * n_off)),
            "significance": float(li_ma_significance(n_on, n_off, alpha)),
            "livetime_h": float(sum(r["livetime"].to_value(u.h) for r in self.rows)),
            "theta_cut_deg": float(np.median(np.concatenate(cuts))),
            "n_observations": len(self.rows),
        }


class Theta2Analysis(Component):
    """θ² distribution of events around the target and reflected OFF positions."""

    theta_cut = AstroQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.physical.angle,
        help="Radius of the ON and OFF regions (the cut on θ).",
    ).tag(config=True)
    theta_cut_from_irf = Bool(
        False,
        help=(
            "Take the θ cut of every event from the observation's RAD_MAX (point-like IRFs) at "
            "the event's energy and the target's offset instead of the fixed theta_cut."
        ),
    ).tag(config=True)
    n_off = Int(5, min=1, help="Number of reflected OFF positions around the pointing.").tag(
        config=True
    )
    theta2_max = AstroQuantity(
        default_value=0.5 * u.deg**2,
        physical_type=u.physical.solid_angle,
        help="Upper edge of the θ² histogram.",
    ).tag(config=True)
    n_bins = Int(30, min=1, help="Number of bins of the θ² histogram.").tag(config=True)
    alpha_method = CaselessStrEnum(
        ["n_off", "ring"],
        default_value="n_off",
        help=(
            "How the OFF counts are scaled: 1/n_off, or the ratio of the counts in the "
            "normalisation ring around the target and around the OFF positions (the reference)."
        ),
    ).tag(config=True)
    ring_inner_radius = AstroQuantity(
        default_value=0.5 * u.deg,
        physical_type=u.physical.angle,
        help="Inner radius of the normalisation ring (alpha_method 'ring').",
    ).tag(config=True)
    ring_outer_radius = AstroQuantity(
        default_value=0.7 * u.deg,
        physical_type=u.physical.angle,
        help="Outer radius of the normalisation ring (alpha_method 'ring').",
    ).tag(config=True)

    def start(self, target):
        """Begin an accumulation for ``target``; returns the `Theta2Result` to :meth:`add` to."""
        self.target = target
        edges = np.linspace(0, self.theta2_max.to_value(u.deg**2), self.n_bins + 1) * u.deg**2
        ring = None
        if self.alpha_method == "ring":
            ring = (self.ring_inner_radius, self.ring_outer_radius)
        self.result = Theta2Result(edges, self.n_off, ring)
        self._warned = set()
        return self.result

    def event_theta_cut(self, observation):
        """The θ cut of ``observation``: fixed, or RAD_MAX per event."""
        if not self.theta_cut_from_irf:
            return self.theta_cut
        if observation.rad_max is None:
            raise SST1MInputError(
                f"observation {observation.obs_id} has no RAD_MAX; use point-like IRFs or"
                " give --theta-cut without theta_cut_from_irf"
            )
        pointing = observation.get_pointing_icrs(observation.tmid)
        offset = pointing.separation(self.target)
        return observation.rad_max.evaluate(energy=observation.events.energy, offset=offset)

    def add(self, observation):
        """Add the counts of one gammapy ``Observation``."""
        pointing = observation.get_pointing_icrs(observation.tmid)
        if pointing.separation(self.target) < 1e-3 * u.deg:
            raise SST1MInputError(
                f"observation {observation.obs_id} points at the target: reflected OFF"
                " positions need wobble observations"
            )
        off = reflected_positions(self.target, pointing, self.n_off)
        ring = self.result.ring
        cut = self.event_theta_cut(observation)
        gap = np.min(off.separation(self.target)) - 2 * np.max(u.Quantity(cut, u.deg))
        if gap <= 0 * u.deg and observation.obs_id not in self._warned:
            self._warned.add(observation.obs_id)
            self.log.warning(
                "obs %d: the nearest OFF region touches the ON region (wobble %.2f, θ cut"
                " %.2f, n_off %d); source events leak into it: lower n_off or the θ cut",
                observation.obs_id,
                pointing.separation(self.target).deg,
                np.max(u.Quantity(cut, u.deg)).value,
                self.n_off,
            )
        counts = theta2_counts(
            observation.events.radec, self.target, off, cut, self.result.edges, ring
        )
        livetime = observation.observation_live_time_duration
        scalar_cut = np.median(np.atleast_1d(u.Quantity(cut).to_value(u.deg))) * u.deg
        self.result.add(observation.obs_id, livetime, scalar_cut, counts)
        return counts
