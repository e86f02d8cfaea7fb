"""Tiny workflow tasks for the engine tests (``tests/orchestration``): a writer script that
behaves like the package's tools (atomic output, log on stdout/stderr, exit status)."""

import sys
from pathlib import Path

from ctapipe_sst1m.orchestration import Task

#: a tiny "command": writes its output atomically, fails if asked, like the package's tools
WRITER = """
import os, sys, time
out, mode = sys.argv[1], sys.argv[2]
if mode == "fail":
    print("failing on purpose", file=sys.stderr)
    sys.exit(3)
if mode.startswith("sleep"):
    time.sleep(float(mode[5:]))
ins = sys.argv[3:]
text = "".join(open(p).read() for p in ins if os.path.isfile(p)) + os.path.basename(out) + "\\n"
tmp = out + ".part"
with open(tmp, "w") as f:
    f.write(text)
os.replace(tmp, out)
print("wrote", out)
"""


def make_task(writer, out, mode="ok", inputs=(), depends_on=(), stage="step", config=None):
    """A task running the writer script: output ``out``, log beside it."""
    out = Path(out)
    return Task(
        key=f"{stage}/{out.stem}",
        stage=stage,
        command=(sys.executable, str(writer), str(out), mode, *map(str, inputs)),
        inputs=tuple(inputs),
        outputs=(out,),
        log=out.with_suffix(".log"),
        config=config,
        depends_on=tuple(depends_on),
        overwrite_argument=None,
    )
