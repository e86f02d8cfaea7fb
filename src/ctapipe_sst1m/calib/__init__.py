"""Calibration: DigiCam R0→R1 corrections and pedestal/NSB monitoring."""
