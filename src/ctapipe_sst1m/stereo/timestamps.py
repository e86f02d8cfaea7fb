"""Exact conversion between astropy ``Time`` and integer nanoseconds (TAI since 1970).

Event matching compares time stamps at the nanosecond level. A float64 number of UNIX seconds
only resolves about 0.24 µs today, so the matchers work on int64 nanoseconds. astropy keeps a
time as two float64 Julian dates (``jd1`` integral or half-integral, ``jd2`` a fraction of a
day); both parts are converted separately to keep every nanosecond. The inverse is
:func:`ctapipe_sst1m.io.clock.tai_ns_to_time`.
"""

import numpy as np
from astropy.time import Time

__all__ = ["NS_PER_SECOND", "time_to_ns"]

NS_PER_SECOND = 1_000_000_000
_SECONDS_PER_DAY = 86400
_EPOCH = Time(0, format="unix_tai", scale="tai")


def time_to_ns(time):
    """Integer nanoseconds since 1970-01-01T00:00:00 TAI, rounded to the nearest ns.

    Parameters
    ----------
    time : astropy.time.Time
        Scalar or array time in any scale (converted to TAI).

    Returns
    -------
    numpy.ndarray or numpy.int64
        Nanoseconds as int64, same shape as ``time``; the inverse of
        :func:`~ctapipe_sst1m.io.clock.tai_ns_to_time`.
    """
    tai = time.tai
    # jd1 differences are whole (or half) days: exact in float64 and as integer seconds
    day_part = np.asarray(tai.jd1 - _EPOCH.jd1, dtype=np.float64)
    seconds_1 = np.rint(day_part * _SECONDS_PER_DAY).astype(np.int64)
    # jd2 differences are below one day: split whole seconds and the fraction
    frac_days = np.asarray(tai.jd2 - _EPOCH.jd2, dtype=np.float64)
    seconds_2 = frac_days * _SECONDS_PER_DAY
    whole_2 = np.floor(seconds_2)
    ns_2 = np.rint((seconds_2 - whole_2) * NS_PER_SECOND).astype(np.int64)
    result = (seconds_1 + whole_2.astype(np.int64)) * NS_PER_SECOND + ns_2
    return result if result.ndim else np.int64(result)
