"""R0→DL1 throughput on the real DigiCam file, SST-1M defaults vs stock ctapipe-process.

The 32-event 2018 file is read again and again (``--repeats``, default 60 → 1920 events) by the
ctapipe ``ProcessorTool`` machinery in one process, writing one DL1 file. The passes form one
continuous run: the same event source is iterated again, so the causal pedestal monitor keeps
its windows (as in a real run of thousands of events, where the shower-free fallback used
before the first ``min_events`` pedestals is a start-of-run transient) and the per-file
start-up (opening the file, printing the subarray) is paid once, not counted. Three
configurations, each timed end to end (read, R0→R1, monitor, extract, clean, parametrise,
write):

* ``sst1m``: the packaged SST-1M data defaults (ImageCleanerSST + causal PedestalMonitor,
  parameters only);
* ``sst1m-tailcuts``: the same but with ctapipe's TailcutsImageCleaner and no monitor, to
  measure the cost of the SST-1M cleaner + monitoring;
* ``stock``: stock ctapipe-process defaults (TailcutsImageCleaner, NeighborPeakWindowSum,
  images and parameters written) on the same source.

The configurations are run interleaved ``--rounds`` times (default 2) and the best rate of
each is kept, because the machine may be shared.

Run: ``python benchmarks/bench_r0_dl1.py [--repeats N] [--rounds R]`` (one core:
OMP_NUM_THREADS=1). Targets (issue 4): ``sst1m`` >= 400 events/s per core and faster than
``stock``; cleaner + monitor <= 1.2 x tailcuts.
"""

import argparse
import os
import tempfile
import time
import warnings
from importlib.resources import files
from pathlib import Path

import yaml
from ctapipe.core import Provenance
from ctapipe.tools.process import ProcessorTool
from traitlets.config import Config

from ctapipe_sst1m.tools.r0_dl1 import default_config_path

SHARED = Path(os.environ.get("SST1M_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
CALIBRATION = SHARED / "reference" / "sst1mpipe-data" / "averaged_calib_param_v2_2023_2024_tel2.h5"
RAW = Path(str(files("protozfits") / "tests" / "resources" / "example_SST1M_20180822.fits.fz"))
EVENTS_PER_PASS = 32
NAMES = ("sst1m", "sst1m-tailcuts", "stock")


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


class RepeatedSource:
    """Iterate one event source ``repeats`` times, as one continuous run."""

    def __init__(self, source, repeats):
        self.source = source
        self.repeats = repeats
        self.max_events = None

    def __getattr__(self, name):
        return getattr(self.source, name)

    def __iter__(self):
        for _ in range(self.repeats):
            yield from self.source


def run(name, repeats, workdir):
    """Return (events/s per core, wall seconds, MB written) of one configuration."""
    output = Path(workdir) / f"{name}.h5"
    output.unlink(missing_ok=True)
    Provenance().start_activity(f"bench-{name}")
    tool = ProcessorTool(config=configuration(name, output))
    tool.log.setLevel("ERROR")
    with tool._exit_stack:
        tool.setup()
        source = tool.event_source
        tool.event_source = RepeatedSource(source, repeats)
        start, cpu_start = time.perf_counter(), time.process_time()
        tool.start()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        tool.event_source = source
        tool.finish()
    Provenance().finish_activity()
    # per core: CPU time of this single-threaded process (the machine may be shared)
    return EVENTS_PER_PASS * repeats / cpu, elapsed, output.stat().st_size / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="passes over the 32-event file")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; best kept")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n_events = EVENTS_PER_PASS * args.repeats
    print(f"input: {RAW.name} x {args.repeats} = {n_events} events (30 + 2 pedestals per pass)")
    print(f"calibration: {CALIBRATION if CALIBRATION.is_file() else 'nominal'}")
    best = dict.fromkeys(NAMES, 0.0)
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(2):  # warm-up: numba compilation, file cache
            run(NAMES[0], 1, workdir)
        for round_ in range(args.rounds):
            for name in NAMES:
                rate, elapsed, size = run(name, args.repeats, workdir)
                best[name] = max(best[name], rate)
                print(
                    f"round {round_ + 1} {name:>15}: {rate:7.0f} events/s per core (CPU time;"
                    f" {elapsed:.1f} s wall, {size:.1f} MB written)"
                )
    print("best of rounds:")
    for name in NAMES:
        print(f"{name:>15}: {best[name]:7.0f} events/s per core")
    cost = best["sst1m-tailcuts"] / best["sst1m"]
    speed = best["sst1m"] / best["stock"]
    print(f"sst1m-tailcuts / sst1m = {cost:.2f}: cleaner + monitor cost (target <= 1.2)")
    print(f"sst1m / stock = {speed:.2f}: SST-1M defaults vs stock ctapipe-process (target > 1)")
    print(f"sst1m >= 400 events/s per core: {'met' if best['sst1m'] >= 400 else 'NOT met'}")


if __name__ == "__main__":
    main()
