"""Tiny workflow tasks for the engine tests (``tests/orchestration``): a writer script that
behaves like the package's tools (atomic output, log on stdout/stderr, exit status)."""

import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

from ctapipe_sst1m.orchestration import Task

#: a tiny "command": writes its output atomically, fails if asked, like the package's tools
WRITER = """
import os, signal, sys, time
out, mode = sys.argv[1], sys.argv[2]
tmp = out + ".part"


def interrupted(signum, frame):
    if os.path.exists(tmp):
        os.unlink(tmp)
    sys.exit(130)


signal.signal(signal.SIGTERM, interrupted)
if mode == "fail":
    print("failing on purpose", file=sys.stderr)
    sys.exit(3)
if mode.startswith("sleep"):
    time.sleep(float(mode[5:]))
ins = sys.argv[3:]
text = "".join(open(p).read() for p in ins if os.path.isfile(p)) + os.path.basename(out) + "\\n"
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


#: runs a workflow of sleeping writer tasks like a workflow Tool would (SIGTERM -> exit 130)
DRIVER = """
import sys
from pathlib import Path

from ctapipe_sst1m.core import interruptible
from ctapipe_sst1m.orchestration import ClusterFactory, run_workflow
from workflow_tasks import make_task


def main():  # spawned Dask workers import this file: no work at import time
    writer, out = Path(sys.argv[1]), Path(sys.argv[2])
    n, seconds = int(sys.argv[3]), sys.argv[4]
    parts = [make_task(writer, out / f"p{i}.txt", f"sleep{seconds}") for i in range(n)]
    join = make_task(
        writer, out / "all.txt", inputs=[p.outputs[0] for p in parts],
        depends_on=[p.key for p in parts], stage="join",
    )
    try:
        with interruptible():
            summary = run_workflow(
                parts + [join], out / "manifest.json", client_factory=ClusterFactory(n_workers=2)
            )
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print(summary.format(), flush=True)
    sys.exit(summary.exit_code)


if __name__ == "__main__":
    main()
"""


def fake_raw(path, target=None):
    """A FITS file with a DigiCam-like ``Events`` header (what the planner reads), no events."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [
        fits.Column(name=n, format="1J")
        for n in ("hiGain_waveforms_samples", "telescopeID", "local_time_sec")
    ]
    events = fits.BinTableHDU.from_columns(columns, name="Events")
    events.header["PBFHEAD"] = "DataModel.CameraEvent"
    if target is not None:
        events.header["TARGET"] = target
    fits.HDUList([fits.PrimaryHDU(np.zeros(10, dtype=np.int16)), events]).writeto(path)
    return path


def raw_path(root, cam, run, date="20240305"):
    yyyy, mm, dd = date[:4], date[4:6], date[6:]
    return (
        root / f"cs{cam}/data/raw/{yyyy}/{mm}/{dd}/SST1M{cam}/SST1M{cam}_{date}_{run:04d}.fits.fz"
    )
