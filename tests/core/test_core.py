"""Atomic outputs and input expansion."""

import pytest

from ctapipe_sst1m.core import atomic_output, expand_input_paths


def test_atomic_output_renames_on_success(tmp_path):
    target = tmp_path / "out.h5"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".h5")
        tmp.write_text("complete")
    assert target.read_text() == "complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]


def test_atomic_output_leaves_nothing_on_crash(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(ZeroDivisionError), atomic_output(target) as tmp:
        tmp.write_text("half")
        1 / 0  # noqa: B018
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_refuses_to_overwrite(tmp_path):
    target = tmp_path / "out.h5"
    target.write_text("old")
    with pytest.raises(FileExistsError, match="--overwrite"), atomic_output(target):
        pass
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_expand_input_paths(tmp_path):
    for name in ("b.h5", "a.h5", "c.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in expand_input_paths([tmp_path])] == ["a.h5", "b.h5"]
    assert [p.name for p in expand_input_paths([str(tmp_path / "*.txt")])] == ["c.txt"]
    both = expand_input_paths([tmp_path / "a.h5", tmp_path, str(tmp_path / "a.*")])
    assert [p.name for p in both] == ["a.h5", "b.h5"]
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        expand_input_paths([tmp_path / "missing.h5"])


def test_tools_refuse_stray_command_line_words(tmp_path, capsys):
    """``--modes mono stereo`` used to train mono only, silently dropping "stereo"."""
    from ctapipe.core import run_tool

    from ctapipe_sst1m.tools.info import InstrumentInfoTool
    from ctapipe_sst1m.tools.train_models import TrainModelsTool

    gamma = tmp_path / "g.h5"
    gamma.touch()
    tool = TrainModelsTool()
    argv = ["--gamma", str(gamma), "-o", str(tmp_path / "m"), "--modes", "mono", "stereo"]
    ret = run_tool(tool, argv, raises=False)
    assert ret != 0
    assert tool.modes == ["mono"]
    assert not (tmp_path / "m").exists()
    argv = ["--output-dir", str(tmp_path / "info"), "extra"]
    ret = run_tool(InstrumentInfoTool(), argv, raises=False)
    assert ret != 0
    err = capsys.readouterr().err
    assert "unexpected argument(s) stereo" in err
    assert "unexpected argument(s) extra" in err


def test_commit_refuses_a_file_with_lost_writes(tmp_path):
    """A hole before the end of the file (what a full disk leaves) fails the commit."""
    import errno
    import os

    from ctapipe_sst1m.core import PendingOutput

    target = tmp_path / "out.h5"
    pending = PendingOutput(target)
    with open(pending.path, "wb") as f:
        f.seek(10 * 1024 * 1024)  # a sparse gap: data that never reached the disk
        f.write(b"end")
    fd = os.open(pending.path, os.O_RDONLY)
    try:
        if os.lseek(fd, 0, os.SEEK_HOLE) >= os.fstat(fd).st_size:
            pytest.skip("this file system does not report holes (SEEK_HOLE)")
    finally:
        os.close(fd)
    with pytest.raises(OSError) as info:
        pending.commit()
    assert info.value.errno == errno.ENOSPC
    assert str(target) in str(info.value)
    assert not target.exists()
