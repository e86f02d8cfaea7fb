"""Run-selection criteria: configurable limits, a ``good`` column and the reasons (``flags``).

Defaults follow sst1mpipe's ``DEFAULT_CUTS`` (spec §7.3) where the metric exists here:
zenith ≤ 70°, livetime ≤ 5 h, pedestal survival fraction ≤ 0.05, light yield (the correct
version of its ``MC_rate_ratio``) in [0.7, 1.3] and a successful cosmic-ray fit. Its
``NSB ≤ 600 MHz`` used a telescope-specific charge-variance → MHz calibration this package
does not have; the NSB criteria here are on the pedestal NSB level in p.e. (absolute and
relative to the night). A metric that is NaN (not measured) fails no criterion, except the
cosmic-ray fit when an MC reference was given.
"""

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Bool, Float

__all__ = ["QualityCriteria"]


def _value(table, name, unit=None):
    column = table[name]
    if unit is not None and getattr(column, "unit", None) is not None:
        return u.Quantity(column).to_value(unit)
    return np.asarray(column, dtype=float)


class QualityCriteria(Component):
    """Limits on the DQ metrics; :meth:`__call__` gives ``good`` and ``flags`` per row."""

    max_zenith = AstroQuantity(
        default_value=70.0 * u.deg, physical_type=u.deg, help="Largest mean zenith of a run."
    ).tag(config=True)
    min_livetime = AstroQuantity(
        default_value=0.0 * u.s,
        physical_type=u.s,
        help="Shortest livetime of a run (e.g. to drop runs that stopped at once).",
    ).tag(config=True)
    max_livetime = AstroQuantity(
        default_value=5.0 * u.h, physical_type=u.s, help="Longest livetime of a run."
    ).tag(config=True)
    max_dead_time_fraction = Float(
        0.1, min=0.0, max=1.0, help="Largest dead-time fraction of a run."
    ).tag(config=True)
    max_ped_survival_fraction = Float(
        0.05,
        min=0.0,
        max=1.0,
        help=(
            "Largest fraction of interleaved pedestal events with an image surviving cleaning "
            "(stars, light pollution, a noisy camera); only when the DL1 files keep pedestals."
        ),
    ).tag(config=True)
    max_nsb_level = Float(
        5.0,
        allow_none=True,
        help=(
            "Largest pedestal NSB level (camera-average pedestal charge, p.e.); None: off. "
            "Dark sky: about 1.35 p.e. in the toy, 3.2 p.e. in the 2018 tel-22 example file."
        ),
    ).tag(config=True)
    max_nsb_level_ratio = Float(
        1.4,
        allow_none=True,
        help=(
            "Largest ratio of a run's NSB level to the median over the runs of the same "
            "telescope setup in the table (moonlight, twilight within a night); None: off."
        ),
    ).tag(config=True)
    max_nsb_level_spread = Float(
        None,
        allow_none=True,
        help="Largest spread (std) of the NSB level within a run (p.e.); None: off.",
    ).tag(config=True)
    min_light_yield = Float(
        0.7, help="Smallest light yield relative to the MC (clouds, dust, mirrors)."
    ).tag(config=True)
    max_light_yield = Float(1.3, help="Largest light yield relative to the MC.").tag(config=True)
    require_cr_fit = Bool(
        True,
        help=(
            "With an MC reference, flag runs whose cosmic-ray light-yield fit failed "
            "(sst1mpipe failed_fit)."
        ),
    ).tag(config=True)
    max_moon_altitude = AstroQuantity(
        default_value=None,
        allow_none=True,
        physical_type=u.deg,
        help="Highest Moon altitude during a run; None: off (the NSB criteria see moonlight).",
    ).tag(config=True)
    min_moon_separation = AstroQuantity(
        default_value=None,
        allow_none=True,
        physical_type=u.deg,
        help="Smallest Moon-pointing separation when the Moon is up; None: off.",
    ).tag(config=True)
    max_wr_dt_spread = AstroQuantity(
        default_value=None,
        allow_none=True,
        physical_type=u.ns,
        help="Largest robust spread of the White-Rabbit Δt of stereo pairs; None: off.",
    ).tag(config=True)

    def __call__(self, table):
        """(good bool array, flags list of str) for a DQ table (rows of the same night)."""
        n = len(table)
        reasons = [[] for _ in range(n)]

        def check(name, values, bad, text):
            for k in np.flatnonzero(bad & np.isfinite(values)):
                reasons[k].append(text(values[k]))

        zen = _value(table, "zenith", u.deg)
        lim = self.max_zenith.to_value(u.deg)
        check("zenith", zen, zen > lim, lambda v: f"zenith {v:.1f} deg > {lim:g} deg")
        live = _value(table, "livetime", u.s)
        lo, hi = self.min_livetime.to_value(u.s), self.max_livetime.to_value(u.s)
        check("livetime", live, live < lo, lambda v: f"livetime {v:.0f} s < {lo:g} s")
        check("livetime", live, live > hi, lambda v: f"livetime {v:.0f} s > {hi:g} s")
        dead = _value(table, "dead_time_fraction")
        lim = self.max_dead_time_fraction
        check("dead", dead, dead > lim, lambda v: f"dead-time fraction {v:.3f} > {lim:g}")
        ped = _value(table, "ped_survival_fraction")
        lim = self.max_ped_survival_fraction
        check("ped", ped, ped > lim, lambda v: f"pedestal survival fraction {v:.3f} > {lim:g}")
        self._nsb(table, check)
        if "light_yield" in table.colnames:
            ly = _value(table, "light_yield")
            a, b = self.min_light_yield, self.max_light_yield
            check("ly", ly, ly < a, lambda v: f"light_yield {v:.2f} < {a:g} (clouds or less light)")
            check("ly", ly, ly > b, lambda v: f"light_yield {v:.2f} > {b:g}")
            if self.require_cr_fit and "cr_fit_ok" in table.colnames:
                for k in np.flatnonzero(~np.asarray(table["cr_fit_ok"], dtype=bool)):
                    reasons[k].append(f"cosmic-ray fit failed ({table['cr_fit_message'][k]})")
        moon_alt = _value(table, "moon_altitude", u.deg)
        if self.max_moon_altitude is not None:
            lim = self.max_moon_altitude.to_value(u.deg)
            check(
                "moon",
                moon_alt,
                moon_alt > lim,
                lambda v: f"moon altitude {v:.0f} deg > {lim:g} deg",
            )
        if self.min_moon_separation is not None:
            sep = np.where(moon_alt > 0, _value(table, "moon_separation", u.deg), np.nan)
            lim = self.min_moon_separation.to_value(u.deg)
            check("moon", sep, sep < lim, lambda v: f"moon separation {v:.0f} deg < {lim:g} deg")
        if self.max_wr_dt_spread is not None:
            dt = _value(table, "wr_dt_spread", u.ns)
            lim = self.max_wr_dt_spread.to_value(u.ns)
            check("wr", dt, dt > lim, lambda v: f"WR dt spread {v:.0f} ns > {lim:g} ns")
        flags = ["; ".join(r) for r in reasons]
        good = np.array([not r for r in reasons], dtype=bool)
        return good, flags

    def _nsb(self, table, check):
        level = _value(table, "nsb_level")
        if self.max_nsb_level is not None:
            lim = self.max_nsb_level
            check("nsb", level, level > lim, lambda v: f"nsb_level {v:.2f} p.e. > {lim:g} p.e.")
        if self.max_nsb_level_ratio is not None:
            setups = np.asarray(table["tel_setup"]).astype(str)
            median = np.full(len(level), np.nan)
            for setup in np.unique(setups):
                mine = setups == setup
                median[mine] = (
                    np.nanmedian(level[mine]) if np.isfinite(level[mine]).any() else np.nan
                )
            ratio = level / median
            lim = self.max_nsb_level_ratio
            check(
                "nsb",
                ratio,
                ratio > lim,
                lambda v: f"nsb_level {v:.2f} x the night median of the setup (> {lim:g})",
            )
        if self.max_nsb_level_spread is not None:
            spread = _value(table, "nsb_level_spread")
            lim = self.max_nsb_level_spread
            check("nsb", spread, spread > lim, lambda v: f"nsb_level spread {v:.2f} p.e. > {lim:g}")
