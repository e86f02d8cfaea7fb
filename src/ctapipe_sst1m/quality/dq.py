"""The DQ table of a set of DL1/DL2 files: metrics, cosmic-ray light yield, criteria.

:class:`DataQualityMaker` owns the three configurable parts (`~.metrics.RunMetrics`,
`~.cosmic_rate.CosmicRayRate`, `~.criteria.QualityCriteria`) and reads the files one at a
time, keeping one row per run and setup (memory flat in the number of runs).
"""

import astropy.units as u
import numpy as np
import tables
from astropy.coordinates import EarthLocation
from astropy.time import Time
from ctapipe.core import Component

from ..core.errors import SST1MInputError
from ..core.signals import raise_if_interrupted
from ..io.datamodel import INSTRUMENT_LAYOUT_TABLE
from .cosmic_rate import CosmicRayRate
from .criteria import QualityCriteria
from .events import inspect_file, iter_run_events
from .metrics import RunMetrics
from .moon import moon_geometry
from .table import build_table

__all__ = ["DataQualityMaker", "add_moon", "fill_missing", "site_location", "strip_private"]


def _missing(value):
    if isinstance(value, u.Quantity):
        value = value.value
    if isinstance(value, (bool, np.bool_, str)):
        return False
    try:
        return bool(np.isnan(value)) or value == -1
    except TypeError:
        return False


def fill_missing(row, other):
    """Copy into ``row`` the values of ``other`` where ``row`` has NaN (or -1 counts)."""
    for key, value in other.items():
        if key in row and _missing(row[key]) and not _missing(value):
            row[key] = value
    return row


def site_location(path):
    """The array's reference location (ITRS attributes of the subarray layout), or None."""
    try:
        with tables.open_file(path, "r") as h5:
            attrs = h5.get_node(INSTRUMENT_LAYOUT_TABLE).attrs
            xyz = [float(attrs[f"reference_itrs_{c}"]) for c in "xyz"]
    except (OSError, KeyError, tables.NoSuchNodeError, tables.HDF5ExtError):
        return None
    return EarthLocation.from_geocentric(*xyz, unit=u.m)


def strip_private(row):
    """The row without its working keys (names starting with an underscore)."""
    for key in [k for k in row if k.startswith("_")]:
        del row[key]
    return row


def add_moon(rows, location_of_row):
    """Fill the Moon columns of metric rows in one vectorised astropy call per site."""
    by_site = {}
    for row in rows:
        location = location_of_row(row)
        mid = row.get("_mid_time", np.nan)
        if location is None or not np.isfinite(mid) or not np.isfinite(row["zenith"].value):
            continue
        key = tuple(np.round(u.Quantity(location.geocentric).to_value(u.m), 1))
        by_site.setdefault(key, (location, []))[1].append((row, mid))
    for location, items in by_site.values():
        times = Time([mid for _, mid in items], format="unix_tai")
        alt = u.Quantity([90 * u.deg - row["zenith"] for row, _ in items])
        az = u.Quantity([row["azimuth"] for row, _ in items])
        moon_alt, sep, frac = moon_geometry(times, location, alt, az)
        for k, (row, _) in enumerate(items):
            row["moon_altitude"] = moon_alt[k] * u.deg
            row["moon_separation"] = sep[k] * u.deg
            row["moon_illumination"] = float(frac[k])


class DataQualityMaker(Component):
    """Rows of the DQ table from DL1/DL2 files (see the module docstring)."""

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.metrics = RunMetrics(parent=self)
        self.cosmic_rate = CosmicRayRate(parent=self)
        self.criteria = QualityCriteria(parent=self)

    def inspect(self, paths):
        """`FileInfo` of every input; observed-data files only (MC inputs are refused)."""
        infos = [inspect_file(p) for p in paths]
        for info in infos:
            if info.is_simulation:
                raise SST1MInputError(
                    f"{info.path}: simulated events; give observed DL1/DL2 with -i and the MC"
                    " protons with --mc-reference"
                )
        return infos

    def rows(self, infos):
        """One metrics row per (run, setup).

        When several files hold the same run and setup (its DL1 and DL2), the DL2 file gives
        the row and the others only fill what it lacks (e.g. the stereo-matching record that
        ``sst1m-dl1-dl2`` does not copy).
        """
        rows = {}
        for info in sorted(infos, key=lambda i: not i.has_dl2):
            location = site_location(info.path)
            for run in iter_run_events(info, self.metrics.chunk_size):
                raise_if_interrupted()
                key = (run.obs_id, run.tel_setup)
                row = self.row(run)
                row["_location"] = location
                if key in rows:
                    fill_missing(rows[key], row)
                else:
                    rows[key] = row
        rows = list(rows.values())
        add_moon(rows, lambda row: row.get("_location"))
        return [strip_private(row) for row in rows]

    def row(self, run):
        """Metrics row of one `~.events.RunEvents` (with the light yield if MC was given)."""
        row = self.metrics(run)
        if self.cosmic_rate.paths:
            fit = self.cosmic_rate(
                run.intensity,
                row["livetime"].to_value(u.s),
                row["zenith"].to_value(u.deg),
                run.tel_setup,
            )
            row.update(
                light_yield=fit.light_yield,
                light_yield_error=fit.light_yield_error,
                cr_rate_ratio=fit.rate_ratio,
                cr_rate_ratio_error=fit.rate_ratio_error,
                cr_fit_chi2_ndf=fit.chi2_ndf,
                cr_n_events=fit.n_data,
                cr_mc_rate=fit.mc_rate * u.Hz,
                cr_fit_ok=bool(fit.ok),
                cr_fit_message=fit.message,
            )
        return row

    def make_table(self, paths, mc_paths=()):
        """The DQ table (QTable) of ``paths`` with ``mc_paths`` as the MC reference."""
        infos = self.inspect(paths)
        self.cosmic_rate.load(mc_paths)
        rows = self.rows(infos)
        if not rows:
            raise SST1MInputError(
                f"{', '.join(str(p) for p in paths)}: no events in the inputs; nothing to judge"
            )
        table = build_table(rows, self.criteria)
        table.meta["intensity_min"] = self.cosmic_rate.intensity_min
        table.meta["rate_scale"] = self.cosmic_rate.rate_scale
        table.meta["mc_reference"] = [str(p) for p in mc_paths]
        return table
