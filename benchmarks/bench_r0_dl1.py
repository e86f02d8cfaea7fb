"""R0→DL1 throughput on real DigiCam data: sst1m-r0-dl1 vs stock ctapipe-process vs decoding.

**Input.** The real 2018 file (tel 22, 30 physics + 2 pedestal events, DAQ compression) is read
``--passes`` times (default 20 → 640 events) as one continuous run: the event source is
iterated again and again, and **every pass reads a newly opened copy of the zfits file**.
protozfits keeps the last decoded tile of an open file, and this file is a single tile, so
iterating an open file a second time serves already-decoded events (≈0.06 ms instead of
≈1.1 ms per event) and times almost no decoding. Reopening makes every pass decode its tile
again, as a long run decodes each of its tiles once. The files are opened before the timing
starts (opening costs ~10 ms, paid once per file of a run — thousands of events — but once
per 32 events here; it is printed separately). The causal pedestal monitor and the
R0→R1 pedestal statistics keep their state across passes (a real run of thousands of events),
and the per-file set-up (subarray, calibration files, numba compilation) is paid once and not
timed. A longer file re-tiled with ``tests/helpers/zfits_retile.py`` was not used: it rewrites
every column zlib-compressed instead of the DAQ's codings, which changes the decoding cost
that this benchmark compares against.

**Configurations** (same input, same source configuration, same real calibration files:
dark-run factors and window transmittance of tel 2 from ``sst1mpipe-data``):

* ``decode``: protozfits alone — decode every event of an opened file, view its waveform,
  baseline and pixel-index arrays (the floor any reader pays);
* ``sst1m-r0-dl1``: the tool with its packaged data defaults (LocalPeakWindowSum,
  ImageCleanerSST, causal PedestalMonitor, parameters + monitoring tables, nsb_level column);
* ``stock``: stock ``ctapipe-process`` with its default components and outputs
  (NeighborPeakWindowSum, TailcutsImageCleaner, DL1 parameters only), reading through this
  package's event source;
* ``process+yaml`` / ``process+yaml+tailcuts``: ``ctapipe-process -c r0_dl1_data.yaml``, and the
  same with TailcutsImageCleaner and no PedestalMonitor, to measure the cost of the SST-1M
  cleaner + monitor.

Each configuration is timed over its event loop (read, R0→R1, monitor, extract, clean,
parametrise, write), in CPU time of this single-threaded process (events/s *per core*); its
``finish`` (closing the output, the monitoring tables and nsb_level column of sst1m-r0-dl1) is
a per-run cost, printed apart. The configurations are run interleaved (A B C … A B C …,
``--rounds`` times, default 8, short runs so that the two figures of a pair see the same load
of a shared machine) and every ratio is computed within one round; the median and the range
over the rounds are printed, and the best (least disturbed) rate of each configuration.

Run: ``python benchmarks/bench_r0_dl1.py [--passes N] [--rounds R] [--cpu K]`` (sets
OMP_NUM_THREADS=1 and pins itself to one core). Targets (issue 14):
``sst1m-r0-dl1`` >= 400 events/s per core and >= 0.5 x the decoding rate.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from importlib.resources import files  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ctapipe.core import Provenance  # noqa: E402
from ctapipe.tools.process import ProcessorTool  # noqa: E402
from traitlets.config import Config  # noqa: E402

from ctapipe_sst1m.core.config import read_config_file  # noqa: E402
from ctapipe_sst1m.io.zfits import DigiCamFile  # noqa: E402
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool, default_config_path  # noqa: E402

SHARED = Path(os.environ.get("SST1M_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE = SHARED / "reference" / "sst1mpipe-data"
CALIBRATION = REFERENCE / "averaged_calib_param_v2_2023_2024_tel2.h5"
WINDOW = REFERENCE / "corr_factor_2nd_wdw.txt"
RAW = Path(str(files("protozfits") / "tests" / "resources" / "example_SST1M_20180822.fits.fz"))
NAMES = ("decode", "sst1m-r0-dl1", "stock", "process+yaml", "process+yaml+tailcuts")


def source_config():
    """The event-source configuration shared by every configuration."""
    if not CALIBRATION.is_file():
        raise SystemExit(f"{CALIBRATION} not found: set SST1M_SHARED_DIR to the shared directory")
    config = Config()
    config.DigiCamR0Corrections.calibration_file = str(CALIBRATION)
    config.DigiCamR0Corrections.window_transmittance_file = str(WINDOW)
    return config


def make_tool(name, output):
    config = source_config()
    if name == "sst1m-r0-dl1":
        config.SST1MR0DL1Tool.input_files = [str(RAW)]
        config.SST1MR0DL1Tool.output_path = str(output)
        config.SST1MR0DL1Tool.summary = False
        config.SST1MR0DL1Tool.progress_bar = False
        return SST1MR0DL1Tool(config=config)
    if name.startswith("process+yaml"):
        packaged = Config(read_config_file(default_config_path(False)))
        packaged.merge(config)
        config = packaged
        if name.endswith("tailcuts"):
            config.ImageProcessor.image_cleaner_type = "TailcutsImageCleaner"
            config.SST1MEventSource.pedestal_monitoring_type = None
    config.EventSource.input_url = str(RAW)
    config.DataWriter.output_path = str(output)
    return ProcessorTool(config=config)


class ReopeningSource:
    """Iterate an SST1MEventSource once per pre-opened copy of its zfits file.

    The source keeps its calibration and monitoring state (one continuous run); only the
    protozfits file object is replaced before each pass (and closed after it), so each pass
    decodes its tile again.
    """

    def __init__(self, source, opened):
        self.source = source
        self.opened = opened
        self.max_events = None

    def __getattr__(self, name):
        return getattr(self.source, name)

    def __iter__(self):
        for f in self.source._files:
            f.close()
        for f in self.opened:
            self.source._files = [f]
            yield from self.source
            f.close()


def open_files(passes):
    """``passes`` freshly opened copies of the input and the CPU seconds that took."""
    cpu_start = time.process_time()
    opened = [DigiCamFile(RAW) for _ in range(passes)]
    return opened, time.process_time() - cpu_start


def run_tool(name, passes, workdir):
    """CPU seconds of the event loop and of ``finish`` of one configuration, MB written."""
    output = Path(workdir) / f"{name.replace('+', '_')}.h5"
    output.unlink(missing_ok=True)
    Provenance().start_activity(f"bench-{name}")
    tool = make_tool(name, output)
    tool.log.setLevel("ERROR")
    with tool._exit_stack:
        tool.setup()
        source = tool.event_source
        tool.event_source = ReopeningSource(source, open_files(passes)[0])
        cpu_start = time.process_time()
        tool.start()
        cpu = time.process_time() - cpu_start
        tool.event_source = source
        tool.finish()
        finish = time.process_time() - cpu_start - cpu
    Provenance().finish_activity()
    return cpu, finish, output.stat().st_size / 1e6


def run_decode(passes):
    """CPU seconds to decode every event of ``passes`` opened copies; CPU seconds per open."""
    opened, open_seconds = open_files(passes)
    cpu_start = time.process_time()
    for f in opened:
        for message in f:
            waveforms = message.hiGain.waveforms
            np.frombuffer(waveforms.samples.data, np.int16)
            np.frombuffer(waveforms.baselines.data, np.int16)
            np.frombuffer(waveforms.pixelsIndices.data, np.uint16)
        f.close()
    return time.process_time() - cpu_start, open_seconds / passes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20, help="passes over the 32-event file")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core (default: last)")
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    warnings.simplefilter("ignore")
    n_events = len(DigiCamFile(RAW)) * args.passes
    print(f"input: {RAW.name} reopened x {args.passes} = {n_events} events (30 + 2 pedestals)")
    print(f"calibration: {CALIBRATION.name}, {WINDOW.name}; pinned to core {cpu}")
    rates = {name: [] for name in NAMES}
    opens, finishes = [], {name: [] for name in NAMES[1:]}
    with tempfile.TemporaryDirectory() as workdir:
        for name in NAMES[1:]:  # warm-up: imports, numba compilation, page cache
            run_tool(name, 1, workdir)
        for round_ in range(args.rounds):
            line = []
            for name in NAMES:
                if name == "decode":
                    seconds, per_open = run_decode(args.passes)
                    opens.append(per_open)
                else:
                    seconds, finish, _ = run_tool(name, args.passes, workdir)
                    finishes[name].append(finish)
                rates[name].append(n_events / seconds)
                line.append(f"{name} {n_events / seconds:.0f}")
            print(f"round {round_ + 1} (events/s per core): {', '.join(line)}", flush=True)

    def ratio(a, b, target=""):
        values = np.array(rates[a]) / np.array(rates[b])
        median = np.median(values)
        return f"{a} / {b} = {median:.2f} ({values.min():.2f}-{values.max():.2f}){target}"

    print("events/s per core: median (min-max) over rounds, best")
    for name in NAMES:
        values = np.array(rates[name])
        print(
            f"{name:>22}: {np.median(values):5.0f} ({values.min():.0f}-{values.max():.0f}),"
            f" best {values.max():.0f}"
        )
    print(
        f"per file (not timed): opening {1e3 * np.median(opens):.1f} ms CPU; per run (not timed):"
        + ", ".join(f" {n} finish {np.median(f):.2f} s" for n, f in finishes.items())
    )
    print("ratios within each round: median (min-max)")
    print("  " + ratio("sst1m-r0-dl1", "stock"))
    print("  " + ratio("sst1m-r0-dl1", "decode", " (target >= 0.5)"))
    print("  " + ratio("stock", "decode"))
    print(
        "  "
        + ratio(
            "process+yaml+tailcuts", "process+yaml", " (ImageCleanerSST + monitor cost; <= 1.2)"
        )
    )
    median = np.median(rates["sst1m-r0-dl1"])
    met = "met" if median >= 400 else "NOT met"
    print(f"sst1m-r0-dl1 >= 400 events/s per core (median): {met} ({median:.0f})")


if __name__ == "__main__":
    main()
