"""Benchmark of the toy Monte Carlo: showers/s of the generator and triggered events/s end to end.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_simulation.py [n_showers]``
"""

import sys
import tempfile
import time
from pathlib import Path

from traitlets.config import Config

from ctapipe_sst1m.simulation import SST1MToyEventSource, make_toy_file


def bench_generator(particle, n_showers):
    config = Config({"ShowerGenerator": {"particle": particle}})
    source = SST1MToyEventSource(config=config, n_showers=n_showers, seed=1)
    start = time.perf_counter()
    n_events = sum(1 for _ in source)
    elapsed = time.perf_counter() - start
    return n_events, elapsed


def bench_tool(particle, n_showers, directory):
    start = time.perf_counter()
    path = make_toy_file(Path(directory) / f"{particle}.h5", particle, n_showers, seed=1)
    elapsed = time.perf_counter() - start
    import tables

    with tables.open_file(path) as f:
        n_events = f.root.dl1.event.subarray.trigger.nrows
    return n_events, elapsed


def main():
    n_showers = int(sys.argv[1]) if len(sys.argv) > 1 else 40000
    print(f"toy MC benchmark, {n_showers} thrown showers per particle")
    print(
        f"{'stage':<10} {'particle':<14} {'events':>7} {'time [s]':>9} {'showers/s':>10} "
        f"{'events/s':>9}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for particle in ("gamma", "gamma-diffuse", "proton"):
            for stage, func in (("source", bench_generator), ("tool", bench_tool)):
                args = (
                    (particle, n_showers) if stage == "source" else (particle, n_showers, directory)
                )
                n_events, elapsed = func(*args)
                print(
                    f"{stage:<10} {particle:<14} {n_events:>7d} {elapsed:>9.2f} "
                    f"{n_showers / elapsed:>10.0f} {n_events / elapsed:>9.1f}"
                )


if __name__ == "__main__":
    main()
