"""sst1m-performance: resolution, ROC, effective area and sensitivity of a telescope setup.

Argument wiring only: point-like gammas and protons from
`~ctapipe_sst1m.irf.events.SST1MDL2EventReader`, cuts from
`~ctapipe_sst1m.irf.selection.EventSelection`, tables from
`~ctapipe_sst1m.irf.benchmarks.SST1MPerformance`, figures from :mod:`ctapipe_sst1m.irf.plotting`.
Writes ``PERF/performance_<setup>.fits.gz`` (HDUs named as in ctapipe's benchmark file plus
EFFECTIVE AREA and ROC), one ECSV per table and PNGs.
"""

import astropy.units as u
from astropy.io import fits
from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import AstroQuantity, Float, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..irf import plotting
from ..irf.benchmarks import SST1MPerformance
from ..irf.events import INSTRUMENT, SST1MDL2EventReader
from ..irf.selection import EventSelection
from ..irf.tooling import (
    IrfToolBase,
    add_weights,
    apply_irf_defaults,
    file_trait,
    spectrum_trait,
)

__all__ = ["PerformanceTool", "main"]


class PerformanceTool(SST1MTool, IrfToolBase):
    """Performance tables and figures of one telescope setup."""

    name = "sst1m-performance"
    description = __doc__
    examples = """
    sst1m-performance --gamma g_point.dl2.h5 --proton p.dl2.h5 --cuts cuts.fits --output-dir PERF
    sst1m-performance --gamma g.dl2.h5 --proton p.dl2.h5 --tel-setup tel_021 --output-dir PERF
    """
    cuts_file = file_trait("Cuts file; without it the global cuts are used.")
    global_gammaness = Float(0.75, help="Global gammaness cut (g > cut) without a cuts file.").tag(
        config=True
    )
    global_theta = AstroQuantity(
        default_value=0.2 * u.deg, physical_type=u.physical.angle, help="θ cut without a θ table."
    ).tag(config=True)
    gamma_spectrum = spectrum_trait("CRAB_HEGRA", "gammas")
    output_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Output directory (created if missing)."
    ).tag(config=True)
    aliases = {
        "gamma": "PerformanceTool.gamma_file",
        "proton": "PerformanceTool.proton_file",
        "cuts": "PerformanceTool.cuts_file",
        "tel-setup": "PerformanceTool.tel_setup",
        "global-gammaness": "PerformanceTool.global_gammaness",
        "global-theta": "PerformanceTool.global_theta",
        ("o", "output-dir"): "PerformanceTool.output_dir",
        ("c", "config"): "Tool.config_files",
        "min-events": "SST1MPerformance.min_events",
        "min-background-events": "SST1MPerformance.min_background_events",
    }
    flags = flag(
        "overwrite",
        "PerformanceTool.overwrite",
        "Replace existing performance files.",
        "Refuse to replace existing performance files.",
    )
    classes = [SST1MDL2EventReader, SST1MPerformance]

    def setup(self):
        if None in (self.gamma_file, self.proton_file, self.output_dir):
            raise ToolConfigurationError("give --gamma G_DL2 --proton P_DL2 --output-dir PERF")
        apply_irf_defaults(self)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.benchmarks = SST1MPerformance(parent=self)
        gh = None if self.cuts_file is not None else self.global_gammaness
        self.selection = EventSelection(self.cuts_file, gh, self.global_theta, self.multiplicity)
        stem = self.output_dir / f"performance_{self.tel_setup}"
        self.fits = self.prepare_output(stem.with_suffix(".fits.gz"), suffix=".fits.gz")

    def _events(self, path, spectrum):
        reader = SST1MDL2EventReader(path, self.tel_setup, parent=self)
        events, _ = reader.read_all()
        return reader, add_weights(events, reader.sim_info, spectrum, self.benchmarks.obs_time)

    def start(self):
        reader, gammas = self._events(self.gamma_file, self.gamma_spectrum)
        if not reader.point_like:
            self.log.warning(
                "%s: gammas are not point-like; the sensitivity assumes a point source",
                self.gamma_file,
            )
        protons = self._events(self.proton_file, self.proton_spectrum)[1]
        bins = self.benchmarks.reco_energy_bins
        theta = self.selection.theta_cut_table(bins)
        self.tables = self.benchmarks(
            gammas,
            protons,
            reader.sim_info,
            self.selection.gh_mask(gammas),
            self.selection.theta_mask(gammas, bins),
            self.selection.gh_mask(protons),
            theta,
        )
        self.gammas, self.protons = gammas, protons

    def finish(self):
        setup, label = self.tel_setup, f"{self.tel_setup} ({INSTRUMENT[self.tel_setup]})"
        hdus = [fits.PrimaryHDU()]
        for name, table in self.tables.items():
            hdu = fits.table_to_hdu(table)
            hdu.name = name
            hdu.header.update({"TELESCOP": "SST-1M", "INSTRUME": INSTRUMENT[setup]})
            hdus.append(hdu)
            ecsv = self.output_dir / f"{name.lower().replace(' ', '_')}_{setup}.ecsv"
            table.write(ecsv, format="ascii.ecsv", overwrite=True)
        fits.HDUList(hdus).writeto(self.fits.path, overwrite=True)
        self.fits.commit()
        out = self.output_dir
        t = self.tables
        plotting.plot_energy(t["ENERGY BIAS RESOLUTION"], setup, out / f"energy_{setup}.png", label)
        plotting.plot_angular(t["ANGULAR RESOLUTION"], setup, out / f"angular_{setup}.png", label)
        plotting.plot_area(
            t["EFFECTIVE AREA"],
            setup,
            out / f"effective_area_{setup}.png",
            label,
            t["EFFECTIVE AREA"].meta["E_THRES"],
        )
        sens = {v.meta["OBS_TIME"] / 3600: v for k, v in t.items() if k.startswith("SENSITIVITY")}
        plotting.plot_sensitivity(sens, out / f"sensitivity_{setup}.png", label)
        plotting.plot_roc(self.gammas, self.protons, t["ROC"], out / f"roc_{setup}.png", label)
        Provenance().add_output_file(str(self.fits.target), role="performance")
        self.log.info("performance of %s written to %s", setup, out)


def main():
    PerformanceTool().run()


if __name__ == "__main__":
    main()
