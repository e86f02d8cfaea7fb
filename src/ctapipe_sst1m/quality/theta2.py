"""θ² counts with reflected OFF regions and the Li & Ma significance (night summary).

ON region: events within ``theta_cut`` of the target. OFF: ``n_off`` regions at the same
distance from the pointing as the target, at position angles rotated by k·360°/(n_off + 1),
k = 1 … n_off, each of radius ``theta_cut``; α = 1/n_off (equal acceptance at equal offset).
The sst1mpipe night summary took α from a normalisation ring instead (spec §7.2).
"""

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

__all__ = [
    "Theta2Counts",
    "li_ma_significance",
    "reflected_positions",
    "theta2_counts",
]


def li_ma_significance(n_on, n_off, alpha):
    """Li & Ma (1983) equation 17; signed (negative for a deficit), 0 without counts."""
    n_on, n_off = float(n_on), float(n_off)
    if n_on <= 0 and n_off <= 0:
        return 0.0
    total = n_on + n_off
    term_on = n_on * np.log((1 + alpha) / alpha * n_on / total) if n_on > 0 else 0.0
    term_off = n_off * np.log((1 + alpha) * n_off / total) if n_off > 0 else 0.0
    value = np.sqrt(max(2 * (term_on + term_off), 0.0))
    return float(np.sign(n_on - alpha * n_off) * value)


def reflected_positions(target, pointing, n_off):
    """OFF-region centres: the target rotated about the pointing by k·360°/(n_off + 1)."""
    separation = pointing.separation(target)
    angle = pointing.position_angle(target)
    steps = np.arange(1, n_off + 1) * 360.0 / (n_off + 1) * u.deg
    return pointing.directional_offset_by(angle + steps, separation)


@dataclass
class Theta2Counts:
    """θ² histograms (ON, summed OFF) and counts inside ``theta_cut`` of one setup."""

    edges: np.ndarray
    theta_cut: float
    n_off_regions: int
    on: np.ndarray = field(default=None)
    off: np.ndarray = field(default=None)
    n_on: int = 0
    n_off: int = 0
    livetime: float = 0.0
    n_runs: int = 0
    source: str = "DL2"

    def __post_init__(self):
        if self.on is None:
            self.on = np.zeros(len(self.edges) - 1)
            self.off = np.zeros(len(self.edges) - 1)

    @property
    def alpha(self):
        """Exposure ratio ON/OFF."""
        return 1.0 / self.n_off_regions

    @property
    def excess(self):
        """N_on − α N_off."""
        return self.n_on - self.alpha * self.n_off

    @property
    def significance(self):
        """Li & Ma significance of the excess."""
        return li_ma_significance(self.n_on, self.n_off, self.alpha)

    def add(self, ra, dec, target, pointing, livetime):
        """Add the events (deg arrays) of one run/observation pointed at ``pointing``."""
        good = np.isfinite(ra) & np.isfinite(dec)
        events = SkyCoord(np.asarray(ra)[good] * u.deg, np.asarray(dec)[good] * u.deg)
        cut2 = self.theta_cut**2
        if len(events):
            t2 = events.separation(target).deg ** 2
            self.on += np.histogram(t2, self.edges)[0]
            self.n_on += int(np.count_nonzero(t2 < cut2))
            for off in reflected_positions(target, pointing, self.n_off_regions):
                t2 = events.separation(off).deg ** 2
                self.off += np.histogram(t2, self.edges)[0]
                self.n_off += int(np.count_nonzero(t2 < cut2))
        self.livetime += float(livetime)
        self.n_runs += 1


def theta2_counts(theta_cut=0.2, n_off=5, theta2_max=0.5, n_bins=10):
    """Empty `Theta2Counts` with the night summary's axis (sst1mpipe: 0–0.5 deg², 10 bins)."""
    return Theta2Counts(np.linspace(0, theta2_max, n_bins + 1), float(theta_cut), int(n_off))
