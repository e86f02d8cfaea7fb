"""The time system of the DL3 files: seconds of TT since 2001-01-01 00:00:00 TT.

``TIMESYS='TT'``, ``MJDREFI=51910``, ``MJDREFF=0.0`` (MJD 51910.0 TT), ``TIMEUNIT='s'``,
``TIMEREF='LOCAL'`` (times at the telescopes, GADF for ground-based instruments). TT is a
uniform scale (TT = TAI + 32.184 s), so no leap second enters the TIME column, and the
conversion from ctapipe's trigger times (TAI, ``ctao_high_res``: integer seconds and quarter
nanoseconds since ctapipe's epoch, ``unix_tai`` 0) is one constant subtraction, done on the
integer seconds first: TIME keeps the trigger time to better than 0.2 µs (float64 at 10⁹ s).
Date strings (``DATE-OBS`` …) are UTC.
"""

import astropy.units as u
import numpy as np
from astropy.time import Time, TimeDelta

__all__ = [
    "MJDREF",
    "TIME_HEADER",
    "from_dl3_seconds",
    "high_res_to_dl3_seconds",
    "to_dl3_seconds",
    "utc_strings",
]

#: reference epoch of the TIME columns
MJDREF = Time(51910, format="mjd", scale="tt")
#: header cards of every table with a time column
TIME_HEADER = {
    "MJDREFI": (51910, "integer part of the reference MJD (TT)"),
    "MJDREFF": (0.0, "fractional part of the reference MJD (TT)"),
    "TIMEUNIT": ("s", "unit of TIME, TSTART, TSTOP"),
    "TIMESYS": ("TT", "time system of TIME, TSTART, TSTOP"),
    "TIMEREF": ("LOCAL", "times at the telescopes"),
}

_TAI_EPOCH = Time(0, format="unix_tai", scale="tai")
#: seconds from ctapipe's TAI epoch to MJDREF (integer and fractional parts)
_OFFSET = (MJDREF.tai - _TAI_EPOCH).to_value(u.s)
_OFFSET_INT = int(np.floor(_OFFSET))
_OFFSET_FRAC = _OFFSET - _OFFSET_INT


def to_dl3_seconds(time):
    """TIME [s] of `~astropy.time.Time` values (any scale)."""
    delta = time.tai - MJDREF.tai
    return np.asarray(delta.jd1, dtype=np.float64) * 86400.0 + delta.jd2 * 86400.0


def high_res_to_dl3_seconds(raw):
    """TIME [s] of the raw ``ctao_high_res`` column of a ctapipe HDF5 table, shape (n, 2)."""
    raw = np.asarray(raw)
    seconds = raw[..., 0].astype(np.int64) - _OFFSET_INT
    return seconds.astype(np.float64) + (raw[..., 1] * 0.25e-9 - _OFFSET_FRAC)


def from_dl3_seconds(seconds):
    """`~astropy.time.Time` (TT) of TIME values."""
    return MJDREF + TimeDelta(np.asarray(seconds, dtype=np.float64), format="sec")


def utc_strings(seconds):
    """(date, time) UTC strings of one TIME value, for ``DATE-OBS``/``TIME-OBS``."""
    iso = from_dl3_seconds(seconds).utc.isot
    date, clock = iso.split("T")
    return date, clock
