"""sst1m-info: summary text, pictures, and no network access during a tool run."""

import socket

import numpy as np
import pytest
from ctapipe.core import run_tool
from matplotlib.image import imread

from ctapipe_sst1m.tools.info import InstrumentInfoTool


def test_summary_and_pictures(tmp_path, capsys):
    assert run_tool(InstrumentInfoTool(), argv=["--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1296 hexagon pixels" in out
    assert "tel  21" in out and "tel  22" in out
    assert "Largest inter-telescope distance: 155.2 m" in out
    camera = imread(tmp_path / "digicam_camera.png")
    array = imread(tmp_path / "sst1m_array.png")
    assert camera.shape[0] > 500 and array.shape[0] > 500
    # the camera picture is not blank: many distinct colours (one per pixel id range)
    assert len(np.unique(camera.reshape(-1, camera.shape[-1]), axis=0)) > 200


def test_existing_pictures_need_overwrite(tmp_path):
    (tmp_path / "digicam_camera.png").write_bytes(b"old")
    argv = ["--output-dir", str(tmp_path)]
    assert run_tool(InstrumentInfoTool(), argv=argv, raises=False) != 0
    assert (tmp_path / "digicam_camera.png").read_bytes() == b"old"
    argv.append("--overwrite")
    assert run_tool(InstrumentInfoTool(), argv=argv) == 0
    assert (tmp_path / "digicam_camera.png").read_bytes() != b"old"


def test_mc_numbering(capsys):
    assert run_tool(InstrumentInfoTool(), argv=["--numbering", "mc"]) == 0
    out = capsys.readouterr().out
    assert "tel   1" in out and "tel   2" in out


def test_no_socket_is_opened(tmp_path, monkeypatch):
    """A full tool run, with pictures and time-dependent astropy code, never opens a socket."""
    opened = []

    class NoNetworkSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            opened.append(args)
            raise OSError("network access attempted during a tool run")

    monkeypatch.setattr(socket, "socket", NoNetworkSocket)
    assert run_tool(InstrumentInfoTool(), argv=["--output-dir", str(tmp_path)]) == 0

    # astropy time-scale conversions need IERS tables: they must come from the bundled package
    from astropy.time import Time

    t = Time("2026-06-01T22:00:00", scale="utc")
    assert abs((t.ut1 - t).sec) < 1
    assert opened == []


def test_astropy_is_offline():
    from astropy.utils import iers
    from astropy.utils.data import conf

    import ctapipe_sst1m  # noqa: F401

    assert iers.conf.auto_download is False
    assert conf.allow_internet is False


@pytest.mark.parametrize("argv", [["--numbering", "sim"], ["--InstrumentInfoTool.numbering=x"]])
def test_bad_option_is_rejected(argv):
    assert run_tool(InstrumentInfoTool(), argv=argv, raises=False) != 0


def test_help_examples_are_indented_consistently(capsys):
    with pytest.raises(SystemExit):
        InstrumentInfoTool().run(["--help"])
    text = capsys.readouterr().out
    examples = text.split("Examples\n--------\n")[1].split("\n\n")[0].splitlines()
    commands = [line for line in examples if line.strip()]
    assert len(commands) == 3
    assert {len(line) - len(line.lstrip()) for line in commands} == {4}
