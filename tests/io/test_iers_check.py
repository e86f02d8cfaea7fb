"""Data later than the bundled IERS table are reported once, with the date and the fix."""

import logging

from astropy.time import Time

from ctapipe_sst1m.io import iers_check


def test_late_data_warn_once(caplog, monkeypatch):
    monkeypatch.setattr(iers_check, "_warned", set())
    end = iers_check.iers_table_end()
    late = Time(end.mjd + 40, format="mjd", scale="utc")
    logger = logging.getLogger("test_iers")
    with caplog.at_level(logging.WARNING, logger="test_iers"):
        assert not iers_check.check_iers_coverage(late, logger)
        assert not iers_check.check_iers_coverage(late + 1, logger)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert late.strftime("%Y-%m-%d") in warnings[0] and end.strftime("%Y-%m-%d") in warnings[0]
    assert "astropy-iers-data" in warnings[0]


def test_covered_data_are_silent(caplog, monkeypatch):
    monkeypatch.setattr(iers_check, "_warned", set())
    with caplog.at_level(logging.WARNING):
        assert iers_check.check_iers_coverage(Time("2018-08-22T00:00:00"))
    assert caplog.records == []
