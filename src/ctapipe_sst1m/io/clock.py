"""DigiCam camera clock → TAI nanoseconds and astropy ``Time``, with integer arithmetic.

The clock is ``local_time_sec·10⁹ + local_time_nanosec``. Whether the seconds count UTC or TAI
POSIX seconds is not documented by the camera. The 2018 example file's header (``TIMESYS=UTC``,
``DATE`` and ``TSTARTS``) only agrees with the clock read as **UTC**, while since the White-Rabbit
timing (2023-09-25) the SST-1M analysis reads it as **TAI**. :func:`clock_time_scale` therefore
chooses by date ("auto"), and the choice can be forced. TAI−UTC is a whole number of seconds,
taken once per file from the first event (no leap second has occurred since 2017-01-01).
"""

import numpy as np
from astropy.time import Time

__all__ = [
    "NS_PER_S",
    "WHITE_RABBIT_START",
    "clock_time_scale",
    "tai_minus_utc_seconds",
    "tai_ns_to_time",
]

NS_PER_S = 1_000_000_000
#: date from which the DigiCam clock is White-Rabbit disciplined (and read as TAI by default)
WHITE_RABBIT_START = "2023-09-25T00:00:00"


def clock_time_scale(clock_ns, choice="auto", white_rabbit_start=WHITE_RABBIT_START):
    """Time scale ('tai' or 'utc') of a camera clock value.

    Parameters
    ----------
    clock_ns : int
        Camera clock in ns.
    choice : {'auto', 'tai', 'utc'}
        'auto' picks 'utc' before ``white_rabbit_start`` and 'tai' from then on.
    white_rabbit_start : str
        ISO date (UTC) of the switch.
    """
    if choice in ("tai", "utc"):
        return choice
    if choice != "auto":
        raise ValueError(f"time scale must be 'auto', 'tai' or 'utc', not {choice!r}")
    start = Time(white_rabbit_start, scale="utc")
    start_ns = round(start.unix) * NS_PER_S
    return "utc" if clock_ns < start_ns else "tai"


def tai_minus_utc_seconds(clock_ns):
    """TAI−UTC in whole seconds at a UTC POSIX time given in ns."""
    seconds = clock_ns // NS_PER_S
    t = Time(seconds, format="unix", scale="utc")
    return round(float(t.unix_tai - t.unix))


def tai_ns_to_time(tai_ns):
    """astropy ``Time`` (TAI) from integer ns since 1970-01-01 TAI, keeping ns precision.

    ``tai_ns`` may be a scalar or an array (int64); an array gives an array ``Time``.
    """
    if np.ndim(tai_ns) == 0:
        seconds, nanoseconds = divmod(int(tai_ns), NS_PER_S)
    else:
        seconds, nanoseconds = np.divmod(np.asarray(tai_ns, dtype=np.int64), NS_PER_S)
    return Time(seconds, nanoseconds * 1e-9, format="unix_tai", scale="tai", precision=9)
