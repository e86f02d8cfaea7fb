"""The DQ table of a set of DL1/DL2 files: metrics, cosmic-ray light yield, criteria.

:class:`DataQualityMaker` owns the three configurable parts (`~.metrics.RunMetrics`,
`~.cosmic_rate.CosmicRayRate`, `~.criteria.QualityCriteria`) and reads the files one at a
time, keeping one row per run and setup (memory flat in the number of runs).
"""

import astropy.units as u
from ctapipe.core import Component
from ctapipe.instrument import SubarrayDescription

from ..core.errors import SST1MInputError
from ..core.signals import raise_if_interrupted
from .cosmic_rate import CosmicRayRate
from .criteria import QualityCriteria
from .events import inspect_file, iter_run_events
from .metrics import RunMetrics
from .table import build_table

__all__ = ["DataQualityMaker", "site_location"]


def site_location(path):
    """The array's reference location from a file's subarray (None if it has none)."""
    try:
        return SubarrayDescription.from_hdf(path).reference_location
    except Exception:  # noqa: BLE001 - a file without instrument description: no Moon
        return None


class DataQualityMaker(Component):
    """Rows of the DQ table from DL1/DL2 files (see the module docstring)."""

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        self.metrics = RunMetrics(parent=self)
        self.cosmic_rate = CosmicRayRate(parent=self)
        self.criteria = QualityCriteria(parent=self)

    def inspect(self, paths):
        """`FileInfo` of every input; observed-data files only (MC inputs are refused)."""
        infos = [inspect_file(p) for p in paths]
        for info in infos:
            if info.is_simulation:
                raise SST1MInputError(
                    f"{info.path}: simulated events; give observed DL1/DL2 with -i and the MC"
                    " protons with --mc-reference"
                )
        return infos

    def rows(self, infos):
        """Yield one metrics row per (run, setup); the DL2 file of a run wins over its DL1."""
        done = set()
        for info in sorted(infos, key=lambda i: not i.has_dl2):
            location = site_location(info.path)
            for run in iter_run_events(info, self.metrics.chunk_size):
                raise_if_interrupted()
                key = (run.obs_id, run.tel_setup)
                if key in done:
                    self.log.info("%s: run %d %s already given by a DL2 file", info.path, *key)
                    continue
                done.add(key)
                yield self.row(run, location)

    def row(self, run, location):
        """Metrics row of one `~.events.RunEvents` (with the light yield if MC was given)."""
        row = self.metrics(run, location)
        if self.cosmic_rate.paths:
            fit = self.cosmic_rate(
                run.intensity,
                row["livetime"].to_value(u.s),
                row["zenith"].to_value(u.deg),
                run.tel_setup,
            )
            row.update(
                light_yield=fit.light_yield,
                light_yield_error=fit.light_yield_error,
                cr_rate_ratio=fit.rate_ratio,
                cr_rate_ratio_error=fit.rate_ratio_error,
                cr_fit_chi2_ndf=fit.chi2_ndf,
                cr_n_events=fit.n_data,
                cr_mc_rate=fit.mc_rate * u.Hz,
                cr_fit_ok=bool(fit.ok),
                cr_fit_message=fit.message,
            )
        return row

    def make_table(self, paths, mc_paths=()):
        """The DQ table (QTable) of ``paths`` with ``mc_paths`` as the MC reference."""
        infos = self.inspect(paths)
        self.cosmic_rate.load(mc_paths)
        rows = list(self.rows(infos))
        if not rows:
            raise SST1MInputError(
                f"{', '.join(str(p) for p in paths)}: no events in the inputs; nothing to judge"
            )
        table = build_table(rows, self.criteria)
        table.meta["intensity_min"] = self.cosmic_rate.intensity_min
        table.meta["rate_scale"] = self.cosmic_rate.rate_scale
        table.meta["mc_reference"] = [str(p) for p in mc_paths]
        return table
