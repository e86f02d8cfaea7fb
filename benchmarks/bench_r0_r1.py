"""Benchmark: reading DigiCam zfits + R0→R1 calibration with SST1MEventSource.

Run with ``OMP_NUM_THREADS=1 python benchmarks/bench_r0_r1.py [--repeat N]``. The real example
files shipped with protozfits are read ``--repeat`` times each (one source per pass, as for a
multi-file run) with the averaged tel-1/tel-2 calibration, and the events/s per core printed.
Target: ≥ 1000 events/s per core.
"""

import argparse
import logging
import os
import time
from importlib.resources import files
from pathlib import Path

from traitlets.config import Config

from ctapipe_sst1m.io import SST1MEventSource

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
        start = time.perf_counter()
        for _ in range(args.repeat):
            with SST1MEventSource(input_url=RESOURCES / name, config=config) as source:
                for _event in source:
                    n_events += 1
        elapsed = time.perf_counter() - start
        print(
            f"{name}: {n_events} events in {elapsed:.2f} s -> {n_events / elapsed:.0f} events/s "
            f"(read + R0->R1, incl. source set-up per file)"
        )
        # iteration only (source already open): the per-event cost
        with SST1MEventSource(input_url=RESOURCES / name, config=config) as source:
            n_iter = 0
            start = time.perf_counter()
            for _ in range(args.repeat):
                for _event in source:
                    n_iter += 1
            elapsed = time.perf_counter() - start
        print(f"{name}: per-event loop only: {n_iter / elapsed:.0f} events/s")


if __name__ == "__main__":
    main()
