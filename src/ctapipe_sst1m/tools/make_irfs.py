"""sst1m-make-irfs: GADF IRFs of one MC node (zenith, azimuth, NSB) into an IRF bank.

Wiring only: events from `SST1MDL2EventReader`, cuts from `EventSelection`, binning from the
IRF makers, numbers from pyirf (`tooling.fill_accumulators`), event classes from
`EventClasses` (a file per class), layout and headers from `ctapipe_sst1m.irf.bank`.
"""

from functools import partial

import astropy.units as u
from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import AstroQuantity, Bool, Float, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.irf import (
    BackgroundRate2dMaker,
    EffectiveArea2dMaker,
    EnergyDispersion2dMaker,
    PSF3DMaker,
)

from ..config.processing import IRF_HEADER_CARD, read_processing_record, record_to_card
from ..core import SST1MTool
from ..irf import tooling
from ..irf.bank import cut_tag, irf_file_name, irf_header, node_name
from ..irf.event_classes import EventClasses
from ..irf.events import INSTRUMENT, SST1MDL2EventReader
from ..irf.selection import EventSelection

__all__ = ["MakeIrfsTool", "main"]


class MakeIrfsTool(SST1MTool, tooling.IrfToolBase):
    """Make the IRFs (AEFF, EDISP, PSF or RAD_MAX, BKG) of one MC node."""

    name = "sst1m-make-irfs"
    description = __doc__
    examples = """
    sst1m-make-irfs --gamma g_diffuse.dl2.h5 --proton p.dl2.h5 --cuts cuts.fits --output-dir BANK
    sst1m-make-irfs --gamma g.dl2.h5 --proton p.dl2.h5 --global-gammaness 0.75 --point-like \\
        --tel-setup tel_021 --output-dir BANK
    """
    electron_file = tooling.file_trait("Optional electron MC DL2 added to the background.")
    cuts_file = tooling.file_trait("Cuts file (sst1m-optimize-cuts or stock).")
    global_gammaness = Float(
        None, allow_none=True, help="Global gammaness cut (g > cut) instead of a cuts file."
    ).tag(config=True)
    point_like = Bool(False, help="Point-like IRFs (θ cut, RAD_MAX), not full-enclosure.").tag(
        config=True
    )
    output_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="IRF bank directory (BANK/<setup>/<node>/)."
    ).tag(config=True)
    obs_time = AstroQuantity(
        default_value=50 * u.h,
        physical_type=u.physical.time,
        help="Time the background weights are scaled to.",
    ).tag(config=True)
    global_theta = AstroQuantity(
        default_value=0.2 * u.deg, physical_type=u.physical.angle, help="θ cut without a θ table."
    ).tag(config=True)
    electron_spectrum = tooling.spectrum_trait("IRFDOC_ELECTRON_SPECTRUM", "electrons")

    aliases = {
        **{k: f"MakeIrfsTool.{k}_file" for k in ("gamma", "proton", "electron")},
        "cuts": "MakeIrfsTool.cuts_file",
        "global-gammaness": "MakeIrfsTool.global_gammaness",
        "global-theta": "MakeIrfsTool.global_theta",
        "tel-setup": "MakeIrfsTool.tel_setup",
        ("o", "output-dir"): "MakeIrfsTool.output_dir",
        ("c", "config"): "Tool.config_files",
        "chunk-size": "SST1MDL2EventReader.chunk_size",
        "event-classes": "EventClasses.n_classes",
        "event-class-column": "EventClasses.column",
    }
    flags = {
        **flag(
            "point-like",
            "MakeIrfsTool.point_like",
            "Make point-like IRFs (θ cut applied, RAD_MAX HDU).",
            "Make full-enclosure IRFs (no θ cut, PSF HDU).",
        ),
        **flag(
            "overwrite",
            "MakeIrfsTool.overwrite",
            "Replace an existing IRF file of this node.",
            "Refuse to replace an existing IRF file.",
        ),
    }
    makers = [EffectiveArea2dMaker, EnergyDispersion2dMaker, PSF3DMaker, BackgroundRate2dMaker]
    classes = [SST1MDL2EventReader, EventClasses, *makers]

    def setup(self):
        if self.gamma_file is None or self.proton_file is None or self.output_dir is None:
            raise ToolConfigurationError("give --gamma G_DL2 --proton P_DL2 --output-dir BANK")
        tooling.apply_irf_defaults(self)
        self.event_classes = EventClasses(parent=self)
        self.event_classes.check()
        files = {"gamma": self.gamma_file, "proton": self.proton_file}
        if self.electron_file is not None:
            files["electron"] = self.electron_file
        extra = [self.event_classes.column] if self.event_classes.enabled else []
        self.readers = {
            k: SST1MDL2EventReader(p, self.tel_setup, parent=self, extra_columns=extra)
            for k, p in files.items()
        }
        self.selection = EventSelection(
            self.cuts_file, self.global_gammaness, self.global_theta, self.multiplicity
        )
        self.makers = [cls(parent=self) for cls in type(self).makers]
        self.meta = self.readers["gamma"].metadata()
        node = node_name(self.meta["ZEN_PNT"], self.meta["AZ_PNT"], self.meta["NSB"])
        gh_eff = self.selection.header.get("GH_EFF", (None,))[0]
        tag = cut_tag(self.selection.global_cut_value, gh_eff if gh_eff and gh_eff > 0 else None)
        directory = self.output_dir / self.tel_setup / node
        directory.mkdir(parents=True, exist_ok=True)
        n, name = self.event_classes.n_classes, partial(irf_file_name, self.tel_setup, node, tag)
        self.pending = {  # event class (None: all events) -> output
            k: self.prepare_output(directory / name(self.point_like, k), suffix=".fits.gz")
            for k in (range(n + 1) if n else [None])
        }

    def start(self):
        class_of = None
        if self.event_classes.enabled:  # quantiles of the selected gammas per energy bin
            bins = self.makers[3].reco_energy_bins
            self.event_classes.fit(self.readers["gamma"], self.selection.gh_mask, bins)
            class_of = self.event_classes.of
        self.accs = tooling.fill_accumulators(self, class_of)

    def finish(self):
        cuts, bins = dict(self.selection.header), self.makers[3].reco_energy_bins
        rad_max = None
        if self.point_like:
            cuts.update(self.selection.theta_header())
            rad_max = self.selection.theta_cut_table(bins)
        record = read_processing_record(self.gamma_file)  # compared by the DL3 step
        for event_class, acc in self.accs.items():
            header = irf_header(
                self.tel_setup, INSTRUMENT[self.tel_setup], self.meta, cuts,
                self.get_current_config(), self.point_like, event_class,
                obs_time=self.obs_time.to_value(u.s),
            )  # fmt: skip
            if record is not None:
                header[IRF_HEADER_CARD] = record_to_card(record)
            pending = self.pending[event_class]
            tooling.irf_hdus(self, acc, header, rad_max).writeto(pending.path, overwrite=True)
            pending.commit()
            Provenance().add_output_file(str(pending.target), role="IRF")
            self.log.info("IRFs written to %s", pending.target)


def main():
    MakeIrfsTool().run()


if __name__ == "__main__":
    main()
