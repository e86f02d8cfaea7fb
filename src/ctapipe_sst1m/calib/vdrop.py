"""NSB-induced voltage drop (Vdrop): gain and PDE loss estimated from the pedestal variance.

Under night-sky background the SiPM photocurrent lowers the bias voltage across the bias
resistor, which lowers gain and photon-detection efficiency. DigiCam subtracts a moving baseline
that follows the NSB, so the NSB level is read from the *variance* of pedestal samples instead:

1. ``VAR`` — per-pixel variance of pedestal samples (ADC²), either per pixel or its camera
   median ("global");
2. ``BLS = S_tel(VAR)`` — the baseline shift (ADC) a spline calibrated on lab data assigns to
   that variance;
3. ``VI = 1 + (k_gain + k_PDE)·BLS`` — the relative intensity, linear fits of arXiv:1910.00348
   (fig. 11.1); the cross-talk drop is not included. Calibrated signals are divided by ``VI``.

The splines are only calibrated up to their last knot (74.2 ADC² for tel 21, 339.9 ADC² for
tel 22). The reference pipeline extrapolates the quadratic tel-21 spline beyond it, so ``VI``
falls to 0 and becomes negative for σ ≳ 8.5 ADC. Here the variance is **clipped to the
calibrated range** (the correction is held at its value at the last knot) and the caller is
told, so that such runs can be flagged instead of silently producing nonsense.
"""

import numpy as np
from scipy.interpolate import BSpline

__all__ = [
    "VDROP_MODELS",
    "VdropModel",
    "baseline_shift",
    "vdrop_factor",
]


class VdropModel:
    """Baseline-shift spline and intensity slopes of one telescope.

    Parameters
    ----------
    knots, coefficients : sequence of float
        B-spline knots and coefficients (scipy ``splev`` convention; extra trailing
        coefficients are ignored).
    degree : int
        Spline degree.
    k_gain, k_pde : float
        Relative gain and PDE change per ADC of baseline shift.
    """

    def __init__(self, knots, coefficients, degree, k_gain, k_pde):
        knots = np.asarray(knots, dtype=float)
        n_coeff = len(knots) - degree - 1
        self.spline = BSpline(knots, np.asarray(coefficients[:n_coeff], float), degree)
        self.max_variance = float(knots[-1])
        self.k_gain = float(k_gain)
        self.k_pde = float(k_pde)

    def baseline_shift(self, variance):
        """Baseline shift (ADC) for a variance (ADC²), clipped to the calibrated range."""
        clipped = np.clip(variance, 0.0, self.max_variance)
        return self.spline(clipped)

    def vdrop_factor(self, variance):
        """Relative intensity ``VI`` and whether the variance was outside the calibrated range."""
        variance = np.asarray(variance, dtype=float)
        out_of_range = (variance > self.max_variance) | (variance < 0)
        vi = 1.0 + (self.k_gain + self.k_pde) * self.baseline_shift(variance)
        return vi, out_of_range


#: Vdrop models of the data telescopes (spline constants and slopes of the SST-1M analysis)
VDROP_MODELS = {
    21: VdropModel(
        knots=[
            0,
            0,
            0,
            46.96969697,
            60.90909091,
            67.57575758,
            74.24242424,
            74.24242424,
            74.24242424,
        ],
        coefficients=[
            -0.4367913,
            9.08788226,
            39.66927065,
            54.18389959,
            69.24518367,
            104.29418015,
            0,
            0,
            0,
        ],
        degree=2,
        k_gain=-0.00487,
        k_pde=-0.00317,
    ),
    22: VdropModel(
        knots=[
            0,
            0,
            93.74735497,
            126.46232902,
            181.54405469,
            256.80398702,
            266.62290877,
            292.98812266,
            294.71402901,
            295.67072519,
            298.04051867,
            339.91032956,
            339.91032956,
        ],
        coefficients=[
            -1.74764142,
            48.41280122,
            68.36843193,
            104.62272377,
            168.14318275,
            179.34289593,
            212.07400565,
            214.10474285,
            215.17017626,
            217.7828114,
            268.19128994,
            0,
            0,
        ],
        degree=1,
        k_gain=-0.00118,
        k_pde=-0.000663,
    ),
}


def _model(tel_id):
    try:
        return VDROP_MODELS[int(tel_id)]
    except KeyError:
        raise ValueError(
            f"no Vdrop model for telescope {tel_id}; known: {sorted(VDROP_MODELS)}"
        ) from None


def baseline_shift(variance, tel_id):
    """Baseline shift (ADC) of telescope ``tel_id`` for a pedestal variance (ADC²)."""
    return _model(tel_id).baseline_shift(variance)


def vdrop_factor(variance, tel_id):
    """Relative intensity ``VI`` of telescope ``tel_id`` and an out-of-range flag.

    Parameters
    ----------
    variance : float or np.ndarray
        Pedestal sample variance in ADC².
    tel_id : int
        Data telescope id (21 or 22).

    Returns
    -------
    vi : float or np.ndarray
        Factor by which the signal is reduced; calibrated signals are divided by it.
    out_of_range : bool or np.ndarray
        True where the variance lies outside the calibrated spline range (clipped).
    """
    return _model(tel_id).vdrop_factor(variance)
