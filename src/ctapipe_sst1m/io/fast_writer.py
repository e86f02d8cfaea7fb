"""Faster rows for ctapipe's ``DataWriter`` with identical files.

ctapipe's ``HDF5TableWriter`` finds the columns of every row anew (all fields of every
container, filtered against the table's column list, each passed through a transform lookup)
and converts every ``Time`` column with ``time_to_ctao_high_res`` (~60 µs per value, twice per
event for the trigger tables). :func:`speed_up_data_writer` makes a ``DataWriter`` write the
same values into the same tables with

* a column plan computed once per table and container layout (which attribute of which
  container goes to which column, through which transform), and
* :class:`FastTimeColumnTransform`: the same conversion for scalar TAI times, with numpy
  scalars instead of astropy properties of 0-d arrays, and the last result reused when the
  same ``Time`` object is written again (``event.trigger.time`` is also the telescope trigger
  time).

The hook into the writer lives in :mod:`ctapipe_sst1m.compat` (ctapipe private names);
``tests/io/test_fast_writer.py`` compares whole files written both ways.
"""

import numpy as np
from astropy.time import Time
from ctapipe.io.tableio import TimeColumnTransform
from ctapipe.time import DAY_TO_S, EPOCH, MAX_UINT32, S_TO_QNS

from .. import compat

__all__ = ["FastTimeColumnTransform", "speed_up_data_writer", "time_to_ctao_high_res_scalar"]

_EPOCH_JD1 = np.float64(EPOCH.jd1)
_EPOCH_JD2 = np.float64(EPOCH.jd2)


def time_to_ctao_high_res_scalar(jd1, jd2):
    """``ctapipe.time.time_to_ctao_high_res`` of one TAI time given as its two jd values.

    The same numpy operations in the same order on float64 scalars, so the result is equal
    bit for bit: uint32 ``[seconds, quarter nanoseconds]`` since 1970-01-01 TAI.
    """
    fractional_seconds_jd1, seconds_jd1 = np.modf((np.float64(jd1) - _EPOCH_JD1) * DAY_TO_S)
    fractional_seconds_jd2, seconds_jd2 = np.modf((np.float64(jd2) - _EPOCH_JD2) * DAY_TO_S)
    seconds = seconds_jd1 + seconds_jd2
    quarter_nanoseconds = np.round((fractional_seconds_jd1 + fractional_seconds_jd2) * S_TO_QNS)
    result = np.empty(2, np.uint32)
    result[0] = np.asanyarray(np.clip(seconds, 0, MAX_UINT32), dtype=np.uint32)
    result[1] = np.asanyarray(np.clip(0, quarter_nanoseconds, None), dtype=np.uint32)
    return result


class FastTimeColumnTransform(TimeColumnTransform):
    """``TimeColumnTransform`` (TAI, ``ctao_high_res``) with a fast path for scalar times."""

    #: the last (Time, result), shared by the tables (the same object goes to two of them);
    #: holding the Time keeps its id from being reused
    _last = (None, None)

    def __init__(self, scale="tai", format="ctao_high_res"):  # noqa: A002 - ctapipe's name
        super().__init__(scale=scale, format=format)

    def __call__(self, value):
        if self.format != "ctao_high_res" or not isinstance(value, Time) or value.shape != ():
            return super().__call__(value)
        last, result = FastTimeColumnTransform._last
        if value is not last:
            tai = value if value.scale == "tai" else value.tai
            result = time_to_ctao_high_res_scalar(tai.jd1, tai.jd2)
            FastTimeColumnTransform._last = (value, result)
        return result.copy()


def speed_up_data_writer(data_writer):
    """Make ``data_writer`` (a ctapipe ``DataWriter``, before its first event) write faster.

    The tables, their columns, values and metadata stay those of the stock writer.
    """
    compat.use_planned_table_rows(data_writer, FastTimeColumnTransform)
