"""The SST1MTool mixin: checked configuration, one-line errors, checked atomic outputs, signals."""

import errno
import os
import signal

import pytest
from ctapipe.core import Tool, run_tool
from ctapipe.core.traits import Bool, Unicode
from tables import HDF5ExtError
from traitlets.config import Config

from ctapipe_sst1m.core import (
    SST1MInputError,
    SST1MTool,
    check_config,
    deferred_interruption,
    raise_if_interrupted,
    read_config_file,
)
from ctapipe_sst1m.core.signals import Interrupted


class DemoTool(SST1MTool, Tool):
    """A tool that writes one file, or fails in a chosen way."""

    name = "sst1m-demo"
    output = Unicode("", help="Output file.").tag(config=True)
    fail = Unicode("", help="How to fail: input, nospace, signal.").tag(config=True)
    overwrite = Bool(False, help="Replace the output.").tag(config=True)
    aliases = {"o": "DemoTool.output", "fail": "DemoTool.fail"}
    flags = {"overwrite": ({"DemoTool": {"overwrite": True}}, "Replace the output.")}

    def setup(self):
        self.pending = self.prepare_output(self.output)

    def start(self):
        self.pending.path.write_text("partial")
        if self.fail == "input":
            raise SST1MInputError("bad.h5: not a DL1 file; give a DL1 file")
        if self.fail == "nospace":
            raise OSError(errno.ENOSPC, "No space left on device", str(self.pending.path))
        if self.fail == "hdf5":
            trace = "HDF5 error back trace\n\n  File H5Dio.c\n\nProblems appending the records."
            raise HDF5ExtError(trace)
        if self.fail == "signal":
            os.kill(os.getpid(), signal.SIGTERM)

    def finish(self):
        self.pending.commit()


def _run(tmp_path, *argv):
    return run_tool(
        DemoTool(),
        argv=[*argv, f"--provenance-log={tmp_path / 'p.log'}"],
        cwd=tmp_path,
        raises=False,
    )


def test_success_and_overwrite(tmp_path):
    out = tmp_path / "out.txt"
    assert _run(tmp_path, f"-o={out}") == 0
    assert out.read_text() == "partial"
    assert _run(tmp_path, f"-o={out}") == 2  # exists, no --overwrite
    assert _run(tmp_path, f"-o={out}", "--overwrite") == 0


@pytest.mark.parametrize("how", ["input", "nospace", "hdf5"])
def test_errors_are_one_line_and_leave_nothing(tmp_path, how, capsys):
    out = tmp_path / "out.txt"
    assert _run(tmp_path, f"-o={out}", f"--fail={how}") == 2
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    err = capsys.readouterr().err
    expected = {
        "input": "not a DL1 file",
        "nospace": "no space left on the device",
        "hdf5": "HDF5 error: Problems appending the records.; check",
    }[how]
    assert expected in err
    assert "Traceback" not in err


def test_sigterm_removes_the_temporary_output(tmp_path):
    out = tmp_path / "out.txt"
    assert _run(tmp_path, f"-o={out}", "--fail=signal") == 130
    assert list(p.name for p in tmp_path.iterdir() if "out" in p.name) == []


def test_missing_or_readonly_output_directory(tmp_path):
    assert _run(tmp_path, f"-o={tmp_path / 'nowhere' / 'out.txt'}") == 2
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write into read-only directories")
        assert _run(tmp_path, f"-o={locked / 'out.txt'}") == 2
    finally:
        locked.chmod(0o700)


def test_stray_words_and_config_typos(tmp_path):
    out = tmp_path / "out.txt"
    assert _run(tmp_path, f"-o={out}", "stray") == 2
    config = tmp_path / "c.yaml"
    config.write_text("DemoTol:\n  output: x\n")
    assert _run(tmp_path, f"-o={out}", f"--config={config}") == 2
    assert not out.exists()


def test_check_config_names_the_typo():
    with pytest.raises(SST1MInputError, match=r"unknown section ImageCleanerSTT \(did you mean"):
        check_config(Config({"ImageCleanerSTT": {"picture_threshold_pe": 8}}))
    with pytest.raises(SST1MInputError, match="TailcutsImageCleaner has no option picture_thresh"):
        check_config(Config({"TailcutsImageCleaner": {"picture_thresh": 8}}))
    with pytest.raises(SST1MInputError, match="must be a mapping"):
        check_config(Config({"TailcutsImageCleaner": [1, 2]}))
    # nested sections of known classes are fine
    check_config(Config({"HillasReconstructor": {"StereoQualityQuery": {"quality_criteria": []}}}))


def test_read_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(SST1MInputError, match="bad.yaml: not valid YAML/JSON"):
        read_config_file(bad)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(SST1MInputError, match="top level must be a mapping"):
        read_config_file(listed)
    good = tmp_path / "good.json"
    good.write_text('{"ImageProcessor": {"use_telescope_frame": true}}')
    assert read_config_file(good).ImageProcessor.use_telescope_frame is True


def test_deferred_interruption_raises_at_the_safe_point():
    from ctapipe_sst1m.core.signals import interruptible

    reached = []
    with pytest.raises(Interrupted):
        with interruptible(), deferred_interruption():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("after the signal")  # the deferred signal did not raise here
            raise_if_interrupted()
            reached.append("never")
    assert reached == ["after the signal"]


def test_logs_have_no_colour_codes_when_not_on_a_terminal(tmp_path, capsys):
    assert _run(tmp_path, f"-o={tmp_path / 'out.txt'}", "--fail=input") == 2
    err = capsys.readouterr().err
    assert "ERROR" in err
    assert "\x1b[" not in err
