"""Calibration: DigiCam R0→R1 corrections and pedestal/NSB monitoring."""

from .monitoring import PedestalMonitor, RollingPixelWindow, nsb_rate_label

__all__ = ["PedestalMonitor", "RollingPixelWindow", "nsb_rate_label"]
