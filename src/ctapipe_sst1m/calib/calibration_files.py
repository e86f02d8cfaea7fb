"""Readers for the DigiCam calibration inputs: dark-run dc→p.e. tables and window factors.

Neither kind of file ships with the package: they are instrument data, found through the
per-telescope traits of :class:`~ctapipe_sst1m.calib.DigiCamR0Corrections`.

* **Dark-run calibration** (``averaged_calib_param_v2_2023_2024_tel{1,2}.h5`` or the per-night
  ``…_fitted_parameters.h5`` files): a pandas "fixed"-format table written by the SST-1M dark-run
  fitter, one row per software pixel id. It is read here with PyTables (no pandas needed): the
  columns ``dc_to_pe`` (ADC·sample per p.e., optical cross-talk included) and ``calib_flag``
  (1 = good fit) are used, row *i* being pixel *i*.
* **Window transmittance** (``corr_factor_{1st,2nd}_wdw.txt``): tab-separated text, one header
  line, then ``pixel_id  factor`` for the 1296 pixels, normalised to mean 1.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tables

from ..instrument import N_PIXELS

__all__ = [
    "CalibrationFileError",
    "DarkRunCalibration",
    "read_dark_run_calibration",
    "read_window_transmittance",
]


class CalibrationFileError(ValueError):
    """A calibration input file is missing or does not have the expected content."""


@dataclass(frozen=True)
class DarkRunCalibration:
    """Per-pixel dc→p.e. factors from a dark-run fit.

    Attributes
    ----------
    dc_to_pe : np.ndarray
        float64 (n_pixels,), ADC·sample per p.e.; pixels with a bad fit carry the mean of the
        good pixels so that calibrated values stay finite.
    good : np.ndarray
        bool (n_pixels,), True where the fit was flagged good (``calib_flag == 1``) and finite.
    path : pathlib.Path
        The file the numbers were read from.
    """

    dc_to_pe: np.ndarray
    good: np.ndarray
    path: Path


def _pandas_fixed_columns(h5file):
    """Columns of the single pandas 'fixed'-format frame stored in an open PyTables file."""
    groups = [g for g in h5file.root._f_iter_nodes("Group") if "axis0" in g]
    if len(groups) != 1:
        raise CalibrationFileError("expected exactly one pandas table (group with 'axis0')")
    group = groups[0]
    columns = {}
    block = 0
    while f"block{block}_items" in group:
        names = [n.decode() for n in group[f"block{block}_items"].read()]
        values = group[f"block{block}_values"].read()
        for i, name in enumerate(names):
            columns[name] = values[:, i]
        block += 1
    return columns


def read_dark_run_calibration(path, n_pixels=N_PIXELS):
    """Read dc→p.e. factors and good-fit flags from a dark-run calibration file.

    Parameters
    ----------
    path : str or pathlib.Path
        HDF5 file in the SST-1M dark-run fitter format.
    n_pixels : int
        Expected number of rows.

    Returns
    -------
    DarkRunCalibration

    Raises
    ------
    CalibrationFileError
        If the file does not exist, is not HDF5, or lacks ``dc_to_pe``/``calib_flag`` columns.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationFileError(f"calibration file {path} does not exist")
    try:
        with tables.open_file(path, "r") as h5file:
            columns = _pandas_fixed_columns(h5file)
    except CalibrationFileError as err:
        raise CalibrationFileError(f"calibration file {path}: {err}") from None
    except (OSError, tables.HDF5ExtError) as err:
        raise CalibrationFileError(
            f"calibration file {path} is not readable HDF5 ({err})"
        ) from None

    missing = {"dc_to_pe", "calib_flag"} - set(columns)
    if missing:
        raise CalibrationFileError(
            f"calibration file {path} lacks the column(s) {sorted(missing)}; "
            "expected the SST-1M dark-run fit format"
        )
    dc_to_pe = np.asarray(columns["dc_to_pe"], dtype=np.float64)
    flags = np.asarray(columns["calib_flag"], dtype=np.float64)
    if len(dc_to_pe) != n_pixels:
        raise CalibrationFileError(
            f"calibration file {path} has {len(dc_to_pe)} rows, expected {n_pixels}"
        )
    good = (flags == 1) & np.isfinite(dc_to_pe) & (dc_to_pe > 0)
    if not np.any(good):
        raise CalibrationFileError(f"calibration file {path} has no pixel with a good fit")
    dc_to_pe = np.where(good, dc_to_pe, dc_to_pe[good].mean())
    return DarkRunCalibration(dc_to_pe=dc_to_pe, good=good, path=path)


def read_window_transmittance(path, n_pixels=N_PIXELS):
    """Read the per-pixel window-transmittance factors (mean 1) of one telescope.

    Parameters
    ----------
    path : str or pathlib.Path
        Text file ``pixel_id<TAB>factor`` with one header line.
    n_pixels : int
        Expected number of pixels.

    Returns
    -------
    np.ndarray
        float64 (n_pixels,) factors in software pixel id order.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationFileError(f"window transmittance file {path} does not exist")
    try:
        table = np.loadtxt(path, skiprows=1, ndmin=2)
    except ValueError as err:
        raise CalibrationFileError(
            f"window transmittance file {path} is malformed ({err})"
        ) from None
    if table.shape != (n_pixels, 2):
        raise CalibrationFileError(
            f"window transmittance file {path} has shape {table.shape}, expected ({n_pixels}, 2)"
        )
    pixel_id = table[:, 0].astype(int)
    factors = np.empty(n_pixels)
    factors[pixel_id] = table[:, 1]
    if np.any(~np.isfinite(factors)) or np.any(factors <= 0) or len(set(pixel_id)) != n_pixels:
        raise CalibrationFileError(
            f"window transmittance file {path} must give one positive factor per pixel"
        )
    return factors
