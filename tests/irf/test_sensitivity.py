"""Sensitivity criteria on hand-made counts against gammapy (spec §12.1 item 9)."""

import numpy as np
import pytest
from gammapy.stats import WStatCountsStatistic

from ctapipe_sst1m.irf.performance import excess_for_detection

CASES = [  # (expected signal, OFF counts): significance-, count- and systematics-limited
    (50.0, 2000.0),
    (30.0, 1.0),
    (1000.0, 200_000.0),
    (200.0, 100.0),
]


@pytest.mark.parametrize(("signal", "n_off"), CASES)
def test_matches_gammapy_wstat(signal, n_off):
    alpha = 0.2
    stat = WStatCountsStatistic(n_on=signal + alpha * n_off, n_off=n_off, alpha=alpha)
    excess_5sigma = float(np.squeeze(stat.n_sig_matching_significance(5)))
    expected = max(excess_5sigma, 10.0, 0.05 * alpha * n_off)
    assert excess_for_detection(signal, n_off, alpha) == pytest.approx(expected, rel=1e-3)


def test_criteria_each_dominate():
    alpha = 0.2
    # few background events: the 10-event condition decides
    assert excess_for_detection(30.0, 1.0, alpha) == pytest.approx(10.0, rel=1e-6)
    # huge background: the 5 % systematics condition decides
    assert excess_for_detection(1e4, 1e7, alpha) == pytest.approx(0.05 * alpha * 1e7, rel=1e-6)
