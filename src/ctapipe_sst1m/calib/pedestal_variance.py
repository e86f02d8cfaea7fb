"""Causal rolling estimate of the per-pixel pedestal sample RMS of DigiCam.

The Vdrop correction and the dead-pixel test need the spread of the raw ADC samples of
pedestal (random-trigger) events. :class:`RollingPedestalRMS` keeps the per-pixel RMS of the
last ``max_events`` events it was given and returns their mean, using only events already
seen (no look-ahead: the estimate applied to an event never uses later events).
"""

from collections import deque

import numpy as np

__all__ = ["RollingPedestalRMS", "sample_rms"]


def sample_rms(waveform):
    """Per-pixel RMS (population standard deviation) over the samples of a waveform.

    Parameters
    ----------
    waveform : np.ndarray
        Raw samples, shape (n_pixels, n_samples), any numeric dtype.

    Returns
    -------
    np.ndarray
        float64 (n_pixels,) RMS in the units of the samples.
    """
    samples = np.asarray(waveform, dtype=np.float64)
    mean = samples.mean(axis=-1, keepdims=True)
    return np.sqrt(np.mean((samples - mean) ** 2, axis=-1))


class RollingPedestalRMS:
    """Mean of the per-pixel sample RMS over the most recent ``max_events`` events.

    Parameters
    ----------
    max_events : int
        Number of most recent events averaged.
    """

    def __init__(self, max_events=100):
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        self.max_events = int(max_events)
        self._buffer = deque()
        self._sum = None

    def __len__(self):
        return len(self._buffer)

    def reset(self):
        """Forget all events."""
        self._buffer.clear()
        self._sum = None

    def add(self, rms):
        """Add one event's per-pixel RMS (n_pixels,), dropping the oldest beyond the window."""
        rms = np.asarray(rms, dtype=np.float64)
        if self._sum is None:
            self._sum = np.zeros_like(rms)
        self._buffer.append(rms)
        self._sum += rms
        if len(self._buffer) > self.max_events:
            self._sum -= self._buffer.popleft()

    @property
    def mean(self):
        """Mean per-pixel RMS of the buffered events, or None when empty."""
        if not self._buffer:
            return None
        return self._sum / len(self._buffer)
