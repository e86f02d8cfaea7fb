"""R0→DL1 throughput on the real DigiCam file, SST-1M defaults vs stock ctapipe-process.

The 32-event 2018 file is read again and again (``--repeats``, default 60 → 1920 events) by the
ctapipe ``ProcessorTool`` machinery in one process, writing one DL1 file, so start-up is not
counted. Three configurations, each timed end to end (read, R0→R1, extract, clean,
parametrise, write):

* ``sst1m``: the packaged SST-1M data defaults (ImageCleanerSST + causal PedestalMonitor,
  parameters only);
* ``sst1m-tailcuts``: the same but with ctapipe's TailcutsImageCleaner and no monitor, to
  measure the cost of the SST-1M cleaner + monitoring;
* ``stock``: stock ctapipe-process defaults (TailcutsImageCleaner, NeighborPeakWindowSum,
  images and parameters written) on the same source.

Run: ``python benchmarks/bench_r0_dl1.py [--repeats N]`` (one core: OMP_NUM_THREADS=1).
Targets (issue 4): ``sst1m`` >= 400 events/s per core; cleaner + monitor <= 1.2 x tailcuts.
"""

import argparse
import os
import tempfile
import time
import warnings
from importlib.resources import files
from pathlib import Path

import yaml
from ctapipe.io import EventSource
from ctapipe.tools.process import ProcessorTool
from traitlets.config import Config

from ctapipe_sst1m.tools.r0_dl1 import default_config_path

SHARED = Path(os.environ.get("SST1M_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
CALIBRATION = SHARED / "reference" / "sst1mpipe-data" / "averaged_calib_param_v2_2023_2024_tel2.h5"
RAW = Path(str(files("protozfits") / "tests" / "resources" / "example_SST1M_20180822.fits.fz"))


def base_config(output):
    config = Config()
    config.EventSource.input_url = str(RAW)
    config.DataWriter.output_path = str(output)
    if CALIBRATION.is_file():
        config.DigiCamR0Corrections.calibration_file = str(CALIBRATION)
    else:
        config.DigiCamR0Corrections.use_nominal_calibration = True
    return config


def configuration(name, output):
    if name == "stock":
        config = Config()
        config.DataWriter.write_dl1_images = True
        config.DataWriter.write_dl1_parameters = True
    else:
        config = Config(yaml.safe_load(default_config_path(False).read_text()))
        if name == "sst1m-tailcuts":
            config.ImageProcessor.image_cleaner_type = "TailcutsImageCleaner"
            config.SST1MEventSource.pedestal_monitoring_type = None
    config.merge(base_config(output))
    return config


def run(name, repeats, workdir):
    output = Path(workdir) / f"{name}.h5"
    tool = ProcessorTool(config=configuration(name, output))
    tool.log.setLevel("ERROR")
    with tool._exit_stack:
        tool.setup()
        elapsed = cpu = 0.0
        for _ in range(repeats):
            # a fresh source per pass (opening a file costs ~50 ms, not counted: real runs
            # have thousands of events per file); the event loop itself re-reads and decodes
            tool.event_source = tool.enter_context(EventSource(parent=tool))
            start, cpu_start = time.perf_counter(), time.process_time()
            tool.start()
            elapsed += time.perf_counter() - start
            cpu += time.process_time() - cpu_start
        tool.finish()
    n_events = 32 * repeats
    # per core: CPU time of this single-threaded process (the machine may be shared)
    return n_events / cpu, elapsed, output.stat().st_size / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="passes over the 32-event file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"input: {RAW.name} x {args.repeats} = {32 * args.repeats} events (30 + 2 pedestals)")
    print(f"calibration: {CALIBRATION if CALIBRATION.is_file() else 'nominal'}")
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in ("sst1m", "sst1m-tailcuts", "stock"):
            rate, elapsed, size = run(name, args.repeats, workdir)
            results[name] = rate
            print(
                f"{name:>15}: {rate:7.0f} events/s per core (CPU time; {elapsed:.1f} s wall,"
                f" {size:.1f} MB written)"
            )
    print(
        f"SST-1M cleaner + monitor cost: {results['sst1m-tailcuts'] / results['sst1m']:.2f} x"
        " tailcuts (target <= 1.2)"
    )
    print(
        f"SST-1M defaults vs stock ctapipe-process: {results['sst1m'] / results['stock']:.2f} x"
        f" faster; target >= 400 events/s: {'met' if results['sst1m'] >= 400 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
