"""IRF interpolation in cos(zenith) on a synthetic bank (spec §12.1 item 8)."""

import warnings

import numpy as np
import pytest
from astropy.io import fits
from synthetic_bank import ENERGY, MIGRA, RAD, make_bank, node_arrays, write_node

from ctapipe_sst1m.core.errors import SST1MInputError
from ctapipe_sst1m.dl3.irf_interpolation import (
    QUANTILE_RESOLUTION,
    interpolate_irfs,
    select_nodes,
)


def _cos(z):
    return float(np.cos(np.deg2rad(z)))


def _data(irfs, name, column):
    hdu = next(h for h in irfs.hdus if h.name == name)
    return np.asarray(hdu.data[column][0]).T


def _node_file(nodes, zenith):
    return next(n.path for n in nodes if n.zenith == zenith)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    return make_bank(tmp_path_factory.mktemp("bank"))


@pytest.mark.parametrize("method", ["nearest", "linear", "cubic"])
def test_at_a_node_returns_the_node(bank, method):
    nodes = select_nodes(bank, "stereo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cubic with 3 nodes falls back to linear
        irfs = interpolate_irfs(nodes, _cos(30.0), method=method)
    with fits.open(_node_file(nodes, 30.0)) as node:
        for name, column, rtol in (
            ("EFFECTIVE AREA", "EFFAREA", 1e-9),
            ("BACKGROUND", "BKG", 1e-9),
        ):
            np.testing.assert_allclose(
                _data(irfs, name, column), np.asarray(node[name].data[column][0]).T, rtol=rtol
            )
        # PDFs: the cumulative distributions within the quantile resolution
        want = np.asarray(node["ENERGY DISPERSION"].data["MATRIX"][0]).T
        got = _data(irfs, "ENERGY DISPERSION", "MATRIX")
        cdf = lambda m: np.cumsum(m * np.diff(MIGRA)[None, :, None], axis=1)  # noqa: E731
        assert np.max(np.abs(cdf(got) - cdf(want))) < 10 * QUANTILE_RESOLUTION
        want = np.asarray(node["PSF"].data["RPSF"][0]).T
        got = _data(irfs, "PSF", "RPSF")
        omega = np.pi * np.diff(np.deg2rad(RAD.value) ** 2)
        cum = np.cumsum(got * omega, -1) - np.cumsum(want * omega, -1)
        assert np.max(np.abs(cum)) < 10 * QUANTILE_RESOLUTION
    assert irfs.gh_cut == 0.6
    assert not irfs.clamped


def test_between_two_nodes(bank):
    nodes = select_nodes(bank, "stereo")
    target = 0.5 * (_cos(20.0) + _cos(30.0))
    irfs = interpolate_irfs(nodes, target, method="linear")
    aeff = _data(irfs, "EFFECTIVE AREA", "EFFAREA")
    a20, a30 = (node_arrays(z)["aeff"].value for z in (20.0, 30.0))
    assert np.all(aeff < np.maximum(a20, a30) + 1e-9) and np.all(aeff > np.minimum(a20, a30) - 1e-9)
    # log-linear: the geometric mean of the two nodes at the midpoint in cos Z
    np.testing.assert_allclose(aeff, np.sqrt(a20 * a30), rtol=1e-9)
    bkg = _data(irfs, "BACKGROUND", "BKG")
    b20, b30 = (node_arrays(z)["bkg"].value for z in (20.0, 30.0))
    np.testing.assert_allclose(bkg, np.sqrt(b20 * b30), rtol=1e-9)
    # the EDISP width lies between the nodes' widths
    mc = 0.5 * (MIGRA[:-1] + MIGRA[1:])
    m = _data(irfs, "ENERGY DISPERSION", "MATRIX")[3, :, 0]
    width = np.sqrt(np.sum(m * np.diff(MIGRA) * (mc - 1) ** 2) / np.sum(m * np.diff(MIGRA)))
    assert 0.1 + 0.2 * (1 - _cos(20.0)) < width < 0.1 + 0.2 * (1 - _cos(30.0)) + 0.01
    hdu = irfs.hdus[0]
    assert hdu.header["IRF_METH"] == "linear" and hdu.header["IRFCLAMP"] is False
    assert hdu.header["ZEN_PNT"] == pytest.approx(np.rad2deg(np.arccos(target)), abs=1e-5)


def test_outside_the_grid_clamps_with_a_warning(bank):
    nodes = select_nodes(bank, "stereo")
    with pytest.warns(UserWarning, match="outside the IRF grid"):
        irfs = interpolate_irfs(nodes, _cos(55.0), method="linear")
    assert irfs.clamped and irfs.hdus[0].header["IRFCLAMP"] is True
    np.testing.assert_allclose(
        _data(irfs, "EFFECTIVE AREA", "EFFAREA"), node_arrays(40.0)["aeff"].value, rtol=1e-9
    )


def test_cubic_needs_four_nodes(tmp_path, bank):
    nodes = select_nodes(bank, "stereo")
    with pytest.warns(UserWarning, match="cubic interpolation needs at least 4"):
        irfs = interpolate_irfs(nodes, _cos(25.0), method="cubic")
    assert irfs.method == "linear"
    four = make_bank(tmp_path / "four", zeniths=(10.0, 20.0, 30.0, 40.0))
    irfs = interpolate_irfs(select_nodes(four, "stereo"), _cos(25.0), method="cubic")
    assert irfs.method == "cubic"
    aeff = _data(irfs, "EFFECTIVE AREA", "EFFAREA")
    a20, a30 = (node_arrays(z)["aeff"].value for z in (20.0, 30.0))
    assert np.all((aeff > a30) & (aeff < a20))


def test_nearest_is_nearest_in_cos_zenith(bank):
    nodes = select_nodes(bank, "stereo")
    irfs = interpolate_irfs(nodes, _cos(35.5), method="nearest")
    assert [n.zenith for n in irfs.nodes] == [40.0]
    assert irfs.hdus[0].header["IRF_NODE"] == "zen40.0_az000.0_nsbnone"


def test_gh_cuts_and_rad_max_grid_interpolation(tmp_path):
    bank = make_bank(tmp_path, point_like=True, gh_table=True)
    nodes = select_nodes(bank, "stereo")
    target = 0.5 * (_cos(30.0) + _cos(40.0))
    irfs = interpolate_irfs(nodes, target, method="linear")
    assert irfs.point_like and irfs.gh_cut is None
    np.testing.assert_allclose(irfs.gh_table["cut"], 0.5 + 0.3 * target, rtol=1e-9)
    np.testing.assert_allclose(_data(irfs, "RAD_MAX", "RAD_MAX"), 0.1 + 0.2 * target, rtol=1e-9)
    assert len(irfs.gh_table) == len(ENERGY) - 1


def test_node_selection_errors(tmp_path, bank):
    with pytest.raises(SST1MInputError, match="no IRFs of tel_021"):
        select_nodes(bank, "tel_021")
    write_node(tmp_path, "stereo", 20.0)
    write_node(tmp_path, "stereo", 30.0, gh_table=True)
    with pytest.raises(SST1MInputError, match="several cut values"):
        select_nodes(tmp_path, "stereo")
    assert len(select_nodes(tmp_path, "stereo", cut="0.6")) == 1


def test_different_axes_refuse_interpolation(tmp_path):
    write_node(tmp_path, "stereo", 20.0)
    write_node(tmp_path, "stereo", 30.0, axes=np.geomspace(0.2, 100, 13) * ENERGY.unit)
    nodes = select_nodes(tmp_path, "stereo")
    with pytest.raises(SST1MInputError, match="axes differ"):
        interpolate_irfs(nodes, _cos(25.0), method="linear")
    assert interpolate_irfs(nodes, _cos(25.0), method="nearest").method == "nearest"
