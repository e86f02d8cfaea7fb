"""The main job on the embedded default data (``make demo``).

Runs the chain as far as it exists, each step as the command a user would type, and prints a
short summary after each step. Products go into ``--output-dir`` (default ``demo_output``).
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(command, log):
    """Run one command, echo it, stream its output to a log file; stop the demo on failure."""
    exe = shutil.which(command[0], path=str(BIN)) or command[0]
    if command[0].startswith(("sst1m-", "ctapipe-")):
        command = [*command, "--provenance-log", Path(log).with_suffix(".provenance.log")]
    print(f"\n$ {' '.join(map(str, command))}", flush=True)
    start = time.perf_counter()
    with open(log, "w") as log_file:
        proc = subprocess.run(
            [exe, *map(str, command[1:])], stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    print(proc.stdout, end="")
    if proc.returncode != 0:
        print(f"demo: '{command[0]}' failed (exit {proc.returncode}); see {log}", file=sys.stderr)
        sys.exit(proc.returncode)
    print(f"  ({time.perf_counter() - start:.1f} s)")
    return proc.stdout


def step_instrument(out):
    run(
        ["sst1m-info", "--output-dir", out / "instrument", "--overwrite"], out / "logs" / "info.log"
    )


STEPS = [("instrument summary", step_instrument)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=Path("demo_output"))
    args = parser.parse_args(argv)
    out = args.output_dir
    (out / "logs").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for title, step in STEPS:
        print(f"\n=== {title} ===", flush=True)
        step(out)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s; products in {out}/")


if __name__ == "__main__":
    main()
