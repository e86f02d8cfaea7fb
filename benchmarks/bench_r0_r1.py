"""Benchmark: reading DigiCam zfits + R0→R1 calibration with SST1MEventSource.

Run with ``OMP_NUM_THREADS=1 python benchmarks/bench_r0_r1.py [--repeat N]``. The real example
files shipped with protozfits are read ``--repeat`` times each (one source per pass, as for a
multi-file run) with the averaged tel-1/tel-2 calibration, and the events/s per core printed
(CPU time of this single-threaded process, so that a shared machine does not count).
The former target (≥ 1000 events/s per core) was met on protozfits' already-decoded tile of an
open file; decoding alone runs at ~900 events/s per core, see ``bench_r0_dl1.py``.
"""

import argparse
import logging
import os
import time
from importlib.resources import files
from pathlib import Path

from traitlets.config import Config

from ctapipe_sst1m.io import SST1MEventSource
from ctapipe_sst1m.io.zfits import DigiCamFile

SHARED = Path(os.environ.get("SST1M_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE = SHARED / "reference" / "sst1mpipe-data"
RESOURCES = Path(str(files("protozfits") / "tests" / "resources"))
FILES = ["example_SST1M_20180822.fits.fz", "example_100evts.fits.fz"]


def main():
    logging.getLogger("ctapipe_sst1m").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over each file")
    args = parser.parse_args()
    config = Config(
        {
            "DigiCamR0Corrections": {
                "calibration_file": [
                    ("id", 21, str(REFERENCE / "averaged_calib_param_v2_2023_2024_tel1.h5")),
                    ("id", 22, str(REFERENCE / "averaged_calib_param_v2_2023_2024_tel2.h5")),
                ],
                "window_transmittance_file": [
                    ("id", 21, str(REFERENCE / "corr_factor_1st_wdw.txt")),
                    ("id", 22, str(REFERENCE / "corr_factor_2nd_wdw.txt")),
                ],
            }
        }
    )
    for name in FILES:
        # one warm-up pass (imports, calibration files, page cache), then timed passes
        with SST1MEventSource(input_url=RESOURCES / name, config=config) as source:
            for _ in source:
                pass
        n_events = 0
        start = time.process_time()
        for _ in range(args.repeat):
            with SST1MEventSource(input_url=RESOURCES / name, config=config) as source:
                for _event in source:
                    n_events += 1
        elapsed = time.process_time() - start
        print(
            f"{name}: {n_events} events in {elapsed:.2f} s CPU -> {n_events / elapsed:.0f}"
            " events/s (read + R0->R1, incl. source set-up per file)"
        )
        # the per-event cost: one source, a newly opened zfits file per pass (iterating an
        # open file again would serve protozfits' already-decoded tile and time no decoding)
        with SST1MEventSource(input_url=RESOURCES / name, config=config) as source:
            opened = [DigiCamFile(RESOURCES / name) for _ in range(args.repeat)]
            n_iter = 0
            start = time.process_time()
            for f in opened:
                source._files = [f]
                for _event in source:
                    n_iter += 1
                f.close()
            elapsed = time.process_time() - start
        print(
            f"{name}: per-event loop only (file reopened per pass): {n_iter / elapsed:.0f} events/s"
        )


if __name__ == "__main__":
    main()
