"""Calibration: DigiCam R0→R1 corrections and pedestal/NSB monitoring."""

from .calibration_files import (
    CalibrationFileError,
    DarkRunCalibration,
    read_dark_run_calibration,
    read_window_transmittance,
)
from .containers import DigiCamCalibrationContainer
from .mc_corrections import SST1MPDECorrection
from .monitoring import PedestalMonitor
from .monitoring_tables import MonitoringTablesOutput
from .nsb_rate import nsb_rate_label
from .pedestal_variance import RollingPedestalRMS, sample_rms
from .r0_corrections import DEFAULT_MODULE_SWAPS, DigiCamR0Corrections
from .rolling import RollingPixelWindow
from .saturation import SaturationReintegration
from .vdrop import VDROP_MODELS, VdropModel, baseline_shift, vdrop_factor

__all__ = [
    "CalibrationFileError",
    "DarkRunCalibration",
    "DEFAULT_MODULE_SWAPS",
    "DigiCamCalibrationContainer",
    "DigiCamR0Corrections",
    "MonitoringTablesOutput",
    "PedestalMonitor",
    "RollingPedestalRMS",
    "RollingPixelWindow",
    "SST1MPDECorrection",
    "SaturationReintegration",
    "VDROP_MODELS",
    "VdropModel",
    "baseline_shift",
    "nsb_rate_label",
    "read_dark_run_calibration",
    "read_window_transmittance",
    "sample_rms",
    "vdrop_factor",
]
