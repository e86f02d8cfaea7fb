"""Cosmic-ray rate against the Monte Carlo expectation: a light-yield (transmission) proxy.

The metric
----------
Well above the trigger threshold every image is recorded, and a loss of light by a factor
``T`` (clouds, dust, dirty mirrors, a gain drop) scales every intensity by ``T``. The rate
expected in data in an intensity bin [a, b) is then the MC rate of images with intensity in
[a/T, b/T), both at the zenith of the run:

    mu_i(T) = livetime × (R_MC(> a_i / T) - R_MC(> b_i / T)),

where R_MC(> q) is the MC cosmic-ray rate of images brighter than q (simulated protons
weighted to the configured spectrum, times ``rate_scale``), smoothed by a quadratic in
log q fitted to log R_MC (the raw cumulative curve of a few thousand weighted events has
steps that would make the likelihood rough). ``T`` — the *light yield* relative
to the simulation — is fitted by maximising the Poisson likelihood of the data counts in
``n_bins`` logarithmic bins between ``intensity_min`` and ``intensity_max`` (the last bin open
upwards); its error is the
half-width of the Δ(−2 ln L) = 1 interval, combined in quadrature with the statistical error
of the MC rate (propagated through the local slope of R_MC). ``T = 1`` means the atmosphere and
the telescope deliver the simulated light; the raw rate ratio data/MC above
``intensity_min`` (``cr_rate_ratio``) falls as T^(γ−1) (γ ≈ 2.6–2.7 for cosmic rays), so T is
the more linear, zenith-free proxy.

The reference (sst1mpipe ``make_DQ_table``) fitted a shift along log10 Q of a straight line
fitted to the MC and then divided 10^shift by cos(zenith) although its MC histogram was
already divided by cos(MC zenith): an intensity scale mixed with a rate correction (spec
quirk 43). Here no zenith correction is applied to T at all: the MC reference *is* at the
zenith of the run (MC files at several zenith nodes are interpolated linearly in cos Z).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
import tables
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Float, Int
from ctapipe.io import read_table
from pyirf.simulations import SimulatedEventsInfo
from pyirf.spectral import PowerLaw, calculate_event_weights
from scipy.optimize import brentq, minimize_scalar

from ..core.errors import SST1MInputError
from ..io.datamodel import (
    DL1_TEL_PARAMETERS_GROUP,
    FIXED_POINTING_GROUP,
    SIMULATION_RUN_TABLE,
    SIMULATION_SHOWER_TABLE,
    tel_path,
)
from .events import STEREO

__all__ = [
    "CosmicRayRate",
    "LightYieldFit",
    "MCIntensityNode",
    "MCIntensityReference",
    "fit_light_yield",
    "read_mc_node",
]

#: degree of the polynomial in log q fitted to log R_MC(> q)
SMOOTH_DEGREE = 2
#: light-yield range searched by the fit
LIGHT_YIELD_BOUNDS = (0.1, 2.5)
#: data telescope -> MC telescope id when the MC file has the MC ids 1/2
_MC_TEL_FALLBACK = {21: 1, 22: 2}


@dataclass
class MCIntensityNode:
    """Weighted MC image intensities of one setup at one zenith.

    ``intensity`` ascending, ``rate_above[k]`` = Σ_{j≥k} w_j and ``var_above[k]`` = Σ_{j≥k} w_j²
    (Hz, Hz²).
    """

    zenith: float
    intensity: np.ndarray
    rate_above: np.ndarray
    var_above: np.ndarray
    path: str = ""

    @classmethod
    def from_weights(cls, zenith, intensity, weights, path=""):
        """Node from per-event intensities and rate weights [Hz]."""
        good = np.isfinite(intensity) & (intensity > 0)
        order = np.argsort(intensity[good])
        q = np.asarray(intensity[good][order], dtype=float)
        w = np.asarray(weights[good][order], dtype=float)
        rate = np.cumsum(w[::-1])[::-1]
        var = np.cumsum((w**2)[::-1])[::-1]
        return cls(float(zenith), q, rate, var, path)

    def raw_rate(self, q):
        """R(> q) [Hz] and its variance, piecewise linear between the sorted intensities."""
        q = np.asarray(q, dtype=float)
        if len(self.intensity) == 0:
            return np.zeros(q.shape), np.zeros(q.shape)
        r = np.interp(q, self.intensity, self.rate_above, left=self.rate_above[0], right=0.0)
        v = np.interp(q, self.intensity, self.var_above, left=self.var_above[0], right=0.0)
        return r, v

    def smooth(self, q_low, q_high, degree=SMOOTH_DEGREE, min_events=5):
        """Fit log R(> q) with a polynomial in log q over [q_low, q_high] (kept for `rate`).

        The steps of the cumulative MC rate (a few thousand weighted events) would make the
        likelihood of the light yield rough; the smooth curve keeps the MC normalisation and
        slope. The range stops where fewer than ``min_events`` MC events remain above.
        """
        if len(self.intensity) <= min_events:
            self._poly = None
            return
        q_high = min(q_high, self.intensity[-min_events])
        x = np.linspace(np.log(q_low), np.log(q_high), 40)
        r, v = self.raw_rate(np.exp(x))
        good = (r > 0) & (v > 0)
        sigma = np.sqrt(v[good]) / r[good]
        self._poly = np.polynomial.Polynomial.fit(
            x[good], np.log(r[good]), deg=min(degree, max(int(good.sum()) - 1, 0)), w=1 / sigma
        )

    def rate(self, q):
        """R(> q) [Hz] (the smooth curve if :meth:`smooth` was called) and its variance."""
        r, v = self.raw_rate(q)
        poly = getattr(self, "_poly", None)
        if poly is None:
            return r, v
        smooth = np.exp(poly(np.log(np.asarray(q, dtype=float))))
        # the variance of the raw curve, relative, carried over to the smooth curve
        rel = np.divide(v, r**2, out=np.full(r.shape, np.inf), where=r > 0)
        return smooth, smooth**2 * np.where(np.isfinite(rel), rel, 1.0)


class MCIntensityReference:
    """MC nodes of one telescope setup at several zeniths, interpolated in cos(zenith)."""

    def __init__(self, nodes):
        self.nodes = sorted(nodes, key=lambda n: n.zenith)

    def rate(self, q, zenith, max_distance):
        """(R(> q) [Hz], its variance) at ``zenith`` [deg]; None if no node is close enough.

        Linear in cos Z between the two nodes around ``zenith``; outside the node range the
        nearest node, if within ``max_distance`` degrees.
        """
        if not self.nodes or not np.isfinite(zenith):
            return None
        zeniths = np.array([n.zenith for n in self.nodes])
        if zenith <= zeniths[0] or zenith >= zeniths[-1] or len(self.nodes) == 1:
            k = int(np.argmin(np.abs(zeniths - zenith)))
            if abs(zeniths[k] - zenith) > max_distance:
                return None
            return self.nodes[k].rate(q)
        k = int(np.searchsorted(zeniths, zenith))
        lo, hi = self.nodes[k - 1], self.nodes[k]
        c, c0, c1 = (np.cos(np.deg2rad(z)) for z in (zenith, lo.zenith, hi.zenith))
        f = (c - c0) / (c1 - c0)
        (r0, v0), (r1, v1) = lo.rate(q), hi.rate(q)
        return (1 - f) * r0 + f * r1, (1 - f) ** 2 * v0 + f**2 * v1


def _mc_tel(h5, tel_id):
    for t in (tel_id, _MC_TEL_FALLBACK.get(tel_id)):
        if t is not None and tel_path(DL1_TEL_PARAMETERS_GROUP, t) in h5.root:
            return t
    return None


def read_mc_node(path, tel_setup, spectrum, rate_scale):
    """`MCIntensityNode` of ``tel_setup`` from an MC proton DL1 file (``sst1m-simulate``).

    The thrown spectrum is read from ``/configuration/simulation/run``; events are weighted
    to ``spectrum`` (pyirf `PowerLaw` with sr⁻¹) for 1 s and multiplied by ``rate_scale``.
    """
    with tables.open_file(path, "r") as h5:
        if SIMULATION_RUN_TABLE not in h5.root or SIMULATION_SHOWER_TABLE not in h5.root:
            raise SST1MInputError(
                f"{path}: no {SIMULATION_RUN_TABLE}; --mc-reference takes simulated proton DL1"
                " (sst1m-simulate --particle proton)"
            )
        runs = read_table(h5, SIMULATION_RUN_TABLE)
        showers = read_table(h5, SIMULATION_SHOWER_TABLE)
        wanted = [21, 22] if tel_setup == STEREO else [int(tel_setup.split("_")[1])]
        tels = [_mc_tel(h5, t) for t in wanted]
        if None in tels:
            raise SST1MInputError(
                f"{path}: no parameters of telescope(s) {wanted} for {tel_setup}; simulate with"
                " --telescopes 21 --telescopes 22"
            )
        params = [read_table(h5, tel_path(DL1_TEL_PARAMETERS_GROUP, t)) for t in tels]
        alt = np.nan
        pointing = tel_path(FIXED_POINTING_GROUP, tels[0])
        if pointing in h5.root:
            alt = float(
                np.mean(
                    u.Quantity(read_table(h5, pointing)["telescope_pointing_altitude"]).to_value(
                        u.deg
                    )
                )
            )
    if not np.isfinite(alt):
        alt = float(np.mean(u.Quantity(runs["max_alt"]).to_value(u.deg)))
    row = runs[0]
    n_thrown = int(np.sum(np.asarray(runs["n_showers"]) * np.asarray(runs["shower_reuse"])))
    info = SimulatedEventsInfo(
        n_showers=n_thrown,
        energy_min=u.Quantity(row["energy_range_min"], u.TeV),
        energy_max=u.Quantity(row["energy_range_max"], u.TeV),
        max_impact=u.Quantity(row["max_scatter_range"], u.m),
        spectral_index=float(row["spectral_index"]),
        viewcone_min=u.Quantity(row["min_viewcone_radius"], u.deg),
        viewcone_max=u.Quantity(row["max_viewcone_radius"], u.deg),
    )
    simulated = PowerLaw.from_simulation(info, obstime=1 * u.s)
    key = {
        (int(o), int(e)): k
        for k, (o, e) in enumerate(zip(showers["obs_id"], showers["event_id"], strict=False))
    }
    common = set(zip(params[0]["obs_id"].tolist(), params[0]["event_id"].tolist(), strict=False))
    for p in params[1:]:
        common &= set(zip(p["obs_id"].tolist(), p["event_id"].tolist(), strict=False))
    keys = sorted(common)
    intensity = None
    for p in params:
        index = {
            (int(o), int(e)): k
            for k, (o, e) in enumerate(zip(p["obs_id"], p["event_id"], strict=False))
        }
        q = np.asarray(p["hillas_intensity"], dtype=float)[[index[k] for k in keys]]
        intensity = q if intensity is None else np.minimum(intensity, q)
    energy = u.Quantity(showers["true_energy"], u.TeV)[[key[k] for k in keys]]
    weights = calculate_event_weights(energy, spectrum, simulated) * rate_scale
    return MCIntensityNode.from_weights(90.0 - alt, intensity, np.asarray(weights), str(path))


@dataclass
class LightYieldFit:
    """Result of :func:`fit_light_yield` (NaN values and ``ok=False`` with a ``message``)."""

    light_yield: float = np.nan
    light_yield_error: float = np.nan
    rate_ratio: float = np.nan
    rate_ratio_error: float = np.nan
    chi2_ndf: float = np.nan
    n_data: int = 0
    mc_rate: float = np.nan
    ok: bool = False
    message: str = ""


def fit_light_yield(intensity, livetime, rate, edges, min_events=10, bounds=LIGHT_YIELD_BOUNDS):
    """Fit the light yield T of data intensities against an MC rate function.

    Parameters
    ----------
    intensity : array
        Data image intensities (p.e.) of the run.
    livetime : float
        Livetime of the run (s).
    rate : callable
        ``rate(q) -> (R(> q), var)``, the MC rate above q [Hz] at the run's zenith.
    edges : array
        Data-space bin edges (p.e.), ascending; the last bin is open (all intensities above
        its lower edge), so a bright data event never meets an MC expectation of zero.
    min_events : int
        Fewer data events above the first edge: no fit.
    bounds : (float, float)
        Range of T searched.
    """
    q = np.asarray(intensity, dtype=float)
    q = q[np.isfinite(q)]
    edges = np.asarray(edges, dtype=float)
    # the last bin is open: no data event falls where the MC has no events at all
    counts = np.histogram(q, bins=np.append(edges[:-1], np.inf))[0].astype(float)
    n = int(counts.sum())
    mc0, var0 = rate(np.array([edges[0]]))
    result = LightYieldFit(n_data=n, mc_rate=float(mc0[0]))
    if livetime <= 0 or mc0[0] <= 0:
        result.message = "no livetime or no MC events above the threshold"
        return result
    expected = livetime * mc0[0]
    result.rate_ratio = n / expected
    result.rate_ratio_error = result.rate_ratio * np.sqrt(1.0 / max(n, 1) + var0[0] / mc0[0] ** 2)
    if n < min_events:
        result.message = f"{n} events above {edges[0]:g} p.e. (< {min_events})"
        return result

    def mu(t):
        r, _ = rate(edges[:-1] / t)
        return np.clip(livetime * (r - np.append(r[1:], 0.0)), 1e-12, None)

    def nll(log_t):
        m = mu(np.exp(log_t))
        return float(np.sum(m - counts * np.log(m)))

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    best = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    t_hat, nll_min = float(np.exp(best.x)), float(best.fun)
    if not best.success or not lo + 1e-3 < best.x < hi - 1e-3:
        result.message = f"fit at the edge of the light-yield range {bounds}"
        return result

    def excess(log_t):
        return nll(log_t) - nll_min - 0.5

    try:
        down = np.exp(brentq(excess, lo, best.x)) if excess(lo) > 0 else bounds[0]
        up = np.exp(brentq(excess, best.x, hi)) if excess(hi) > 0 else bounds[1]
    except ValueError:
        result.message = "no likelihood interval"
        return result
    sigma_fit = 0.5 * (up - down)
    # MC statistics: relative error of R at the fitted threshold through the local slope
    q0 = edges[0] / t_hat
    (r_a, v_a), (r_b, _) = (rate(np.array([x])) for x in (q0, q0 * 1.1))
    slope = np.log(r_a[0] / r_b[0]) / np.log(1.1) if r_b[0] > 0 else np.nan
    sigma_mc = t_hat * np.sqrt(v_a[0]) / r_a[0] / slope if slope > 0 else 0.0
    m = mu(t_hat)
    used = m > 0
    chi2 = float(np.sum((counts[used] - m[used]) ** 2 / m[used]))
    result.light_yield = t_hat
    result.light_yield_error = float(np.hypot(sigma_fit, sigma_mc))
    result.chi2_ndf = chi2 / max(int(used.sum()) - 1, 1)
    result.ok = True
    return result


class CosmicRayRate(Component):
    """Light-yield proxy of a run from its cosmic-ray intensity spectrum (module docstring)."""

    intensity_min = Float(
        400.0,
        min=0.0,
        help=(
            "Lowest image intensity (p.e.) of the fit; well above the trigger threshold so that "
            "every image above it is recorded (sst1mpipe: 400 p.e.)."
        ),
    ).tag(config=True)
    intensity_max = Float(
        4000.0, help="Highest image intensity (p.e.) of the fit (sst1mpipe: 4000 p.e.)."
    ).tag(config=True)
    n_bins = Int(8, min=1, help="Logarithmic intensity bins between the two limits.").tag(
        config=True
    )
    min_events = Int(
        10, min=1, help="Fewer data events above intensity_min: no fit (flagged)."
    ).tag(config=True)
    proton_amplitude = AstroQuantity(
        default_value=9.8e-6 * u.Unit("TeV-1 cm-2 s-1 sr-1"),
        physical_type=u.Unit("TeV-1 cm-2 s-1 sr-1"),
        help=(
            "Differential cosmic-ray intensity at 1 TeV the MC protons are weighted to "
            "(power law; default the pyirf/IRF-document proton spectrum used by the toy "
            "nights)."
        ),
    ).tag(config=True)
    proton_index = Float(2.62, help="Spectral index of the cosmic-ray power law.").tag(config=True)
    rate_scale = Float(
        1.0,
        min=0.0,
        help=(
            "Factor on the expected MC rate: e.g. heavier nuclei not simulated, or the "
            "background reduction of a toy night (NightSimulator.background_reduction)."
        ),
    ).tag(config=True)
    max_zenith_distance = AstroQuantity(
        default_value=5.0 * u.deg,
        physical_type=u.deg,
        help="Runs farther than this from every MC zenith node get no light-yield fit.",
    ).tag(config=True)

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.spectrum = PowerLaw(
            normalization=self.proton_amplitude, index=-self.proton_index, e_ref=1 * u.TeV
        )
        self._references = {}
        self.paths = []

    def load(self, paths):
        """Remember the MC proton DL1 files (read per setup when first needed)."""
        self.paths = list(paths)

    def reference(self, tel_setup):
        """`MCIntensityReference` of a setup (None without MC files)."""
        if not self.paths:
            return None
        if tel_setup not in self._references:
            nodes = [read_mc_node(p, tel_setup, self.spectrum, self.rate_scale) for p in self.paths]
            lo, hi = LIGHT_YIELD_BOUNDS
            for node in nodes:
                node.smooth(self.intensity_min / hi, self.intensity_max / lo)
            self._references[tel_setup] = MCIntensityReference(nodes)
        return self._references[tel_setup]

    @property
    def edges(self):
        """Data-space intensity bin edges (p.e.)."""
        return np.geomspace(self.intensity_min, self.intensity_max, self.n_bins + 1)

    def __call__(self, intensity, livetime, zenith, tel_setup):
        """`LightYieldFit` of one run (``ok=False`` and a message when it cannot be fitted)."""
        reference = self.reference(tel_setup)
        if reference is None:
            return LightYieldFit(message="no MC reference")
        limit = self.max_zenith_distance.to_value(u.deg)
        if reference.rate(np.array([self.intensity_min]), zenith, limit) is None:
            return LightYieldFit(
                message=f"no MC reference within {limit:g} deg of {zenith:.1f} deg"
            )
        return fit_light_yield(
            intensity,
            livetime,
            lambda q: reference.rate(q, zenith, limit),
            self.edges,
            min_events=self.min_events,
        )
