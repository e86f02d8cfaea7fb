"""Say once when observed data are later than the bundled IERS table predicts.

The package keeps astropy offline (`ctapipe_sst1m._offline`): Earth-orientation parameters
come from the installed ``astropy-iers-data`` package. Beyond the table's last (predicted)
date astropy silently keeps the last UT1−UTC value and a mean polar motion, so alt/az ↔ RA/Dec
of later data drift (arc-seconds after weeks, more after months). :func:`check_iers_coverage`
warns once per process, naming the date and the fix.
"""

import logging

from astropy.time import Time

__all__ = ["check_iers_coverage", "iers_table_end"]

log = logging.getLogger(__name__)
_warned = set()


def iers_table_end():
    """Last date (`~astropy.time.Time`, UTC) of the IERS table astropy uses here."""
    from astropy.utils import iers

    table = iers.IERS_Auto.open()
    return Time(float(table["MJD"][-1].value), format="mjd", scale="utc")


def check_iers_coverage(time, logger=None):
    """Warn (once per table end) if ``time`` is after the IERS table; True if it is covered."""
    end = iers_table_end()
    if Time(time).utc.mjd <= end.mjd:
        return True
    if end.mjd not in _warned:
        _warned.add(end.mjd)
        (logger or log).warning(
            "data of %s are later than the bundled IERS table (predictions end %s): pointing"
            " and RA/Dec use extrapolated Earth orientation; update astropy-iers-data"
            " (pip install -U astropy-iers-data)",
            Time(time).utc.strftime("%Y-%m-%d"),
            end.strftime("%Y-%m-%d"),
        )
    return False
