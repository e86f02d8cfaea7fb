"""sst1m-optimize-cuts: energy-dependent gammaness (and θ) cuts from MC DL2.

Argument wiring only: events from `~ctapipe_sst1m.irf.events.SST1MDL2EventReader`, cuts from
`~ctapipe_sst1m.irf.optimize.SST1MCutOptimizer`; the output is a ctapipe
`~ctapipe.irf.OptimizationResult` (readable by ``sst1m-make-irfs --cuts`` and stock
``ctapipe-compute-irf --cuts``), written atomically.
"""

import astropy.units as u
from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import AstroQuantity, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..irf.events import SST1MDL2EventReader
from ..irf.optimize import SST1MCutOptimizer
from ..irf.tooling import IrfToolBase, add_weights, apply_irf_defaults, spectrum_trait

__all__ = ["OptimizeCutsTool", "main"]


class OptimizeCutsTool(SST1MTool, IrfToolBase):
    """Compute gammaness (and θ) cuts per reconstructed-energy bin."""

    name = "sst1m-optimize-cuts"
    description = __doc__
    examples = """
    sst1m-optimize-cuts --gamma g_diffuse.dl2.h5 --proton p.dl2.h5 -o cuts.fits
    sst1m-optimize-cuts --gamma g.dl2.h5 --proton p.dl2.h5 -o cuts.fits --method efficiency \\
        --gamma-efficiency 0.7 --theta containment --tel-setup tel_021
    """
    output_path = PathTrait(
        None, allow_none=True, directory_ok=False, help="Output cuts file (FITS)."
    ).tag(config=True)
    max_fov_offset = AstroQuantity(
        default_value=4.0 * u.deg,
        physical_type=u.physical.angle,
        help="Gammas reconstructed farther from the pointing are not used (sst1mpipe: 4°).",
    ).tag(config=True)
    obs_time = AstroQuantity(
        default_value=50 * u.h,
        physical_type=u.physical.time,
        help="Observation time of the significance method.",
    ).tag(config=True)
    gamma_spectrum = spectrum_trait("CRAB_HEGRA", "gammas")

    aliases = {
        "gamma": "OptimizeCutsTool.gamma_file",
        "proton": "OptimizeCutsTool.proton_file",
        ("o", "output"): "OptimizeCutsTool.output_path",
        "tel-setup": "OptimizeCutsTool.tel_setup",
        "method": "SST1MCutOptimizer.method",
        "global-gammaness": "SST1MCutOptimizer.global_gammaness",
        "gamma-efficiency": "SST1MCutOptimizer.gamma_efficiency",
        "theta": "SST1MCutOptimizer.theta",
        "theta-containment": "SST1MCutOptimizer.theta_containment",
        "global-theta": "SST1MCutOptimizer.global_theta",
        "min-events": "SST1MCutOptimizer.min_events",
        ("c", "config"): "Tool.config_files",
    }
    flags = flag(
        "overwrite",
        "OptimizeCutsTool.overwrite",
        "Replace an existing cuts file.",
        "Refuse to replace an existing cuts file.",
    )
    classes = [SST1MDL2EventReader, SST1MCutOptimizer]

    def setup(self):
        if self.gamma_file is None or self.output_path is None:
            raise ToolConfigurationError("give --gamma G_DL2 [--proton P_DL2] -o cuts.fits")
        apply_irf_defaults(self)
        self.optimizer = SST1MCutOptimizer(parent=self)
        if self.optimizer.method == "significance" and self.proton_file is None:
            raise ToolConfigurationError("--method significance needs --proton P_DL2")
        self.pending = self.prepare_output(self.output_path, suffix=".fits")

    def _load(self, path, spectrum):
        reader = SST1MDL2EventReader(path, self.tel_setup, parent=self)
        events, n = reader.read_all()
        events = events[events["multiplicity"] >= self.multiplicity]
        self.log.info("%s: %d of %d events selected", path, len(events), n)
        return reader, add_weights(events, reader.sim_info, spectrum, self.obs_time)

    def start(self):
        reader, gammas = self._load(self.gamma_file, self.gamma_spectrum)
        gammas = gammas[gammas["reco_source_fov_offset"] < self.max_fov_offset]
        protons = None
        if self.proton_file is not None:
            protons = self._load(self.proton_file, self.proton_spectrum)[1]
        criteria = reader.quality_query.quality_criteria
        self.result = self.optimizer(
            gammas, protons, criteria, reader.prefixes["classifier"], self.multiplicity
        )
        self.result.gh_cuts.meta["TELSETUP"] = self.tel_setup

    def finish(self):
        self.result.write(self.pending.path, overwrite=True)
        self.pending.commit()
        Provenance().add_output_file(str(self.pending.target), role="cuts")
        self.log.info("cuts written to %s: %s", self.pending.target, self.result)


def main():
    OptimizeCutsTool().run()


if __name__ == "__main__":
    main()
