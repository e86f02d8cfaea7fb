"""Small helpers shared by the IRF tools: packaged defaults, weights, point-like FoV bins."""

from types import SimpleNamespace

import astropy.units as u
import numpy as np
from ctapipe.core import Tool
from ctapipe.core.traits import Bool, CaselessStrEnum, Int
from pyirf.spectral import POINT_SOURCE_FLUX_UNIT, PowerLaw, calculate_event_weights

from ..core.config import packaged_config_path, read_config_file
from .events import INSTRUMENT
from .spectra import TARGET_SPECTRA

__all__ = [
    "fill_accumulators",
    "irf_hdus",
    "apply_irf_defaults",
    "spectrum_trait",
    "add_weights",
    "point_like_fov_bins",
    "with_fov_bins",
    "makers_for",
    "DEFAULTS_FILE",
    "IrfToolBase",
    "file_trait",
]

#: Packaged binning defaults of the IRF tools.
DEFAULTS_FILE = "irf_defaults.yaml"


def apply_irf_defaults(tool):
    """Put the packaged SST-1M IRF defaults under the tool's own configuration."""
    defaults = read_config_file(packaged_config_path(DEFAULTS_FILE))
    defaults.merge(tool.config)
    tool.update_config(defaults)


def spectrum_trait(default, what):
    """A trait choosing a target spectrum by name (pyirf spectra, DAMPE p+He included)."""
    return CaselessStrEnum(
        list(TARGET_SPECTRA), default_value=default, help=f"Target spectrum of the {what}."
    ).tag(config=True)


def add_weights(events, sim_info, target_name, obs_time):
    """Add the ``weight`` column: target / simulated spectrum for ``obs_time`` (pyirf)."""
    simulated = PowerLaw.from_simulation(sim_info, obstime=obs_time)
    target = TARGET_SPECTRA[target_name]
    if len(events) == 0:
        events["weight"] = np.zeros(0)
        return events
    if sim_info.viewcone_max > 0 * u.deg and target(1 * u.TeV).unit.is_equivalent(
        POINT_SOURCE_FLUX_UNIT
    ):
        # point-source target from a diffuse simulation: the simulated flux in the cone
        simulated = simulated.integrate_cone(sim_info.viewcone_min, sim_info.viewcone_max)
    events["weight"] = calculate_event_weights(events["true_energy"], target, simulated)
    return events


def point_like_fov_bins(offset):
    """One FoV bin [max(0, offset − 1°), offset + 1°] for gammas from one direction."""
    offset = u.Quantity(offset, u.deg)
    return u.Quantity([max(0.0, offset.value - 1.0), offset.value + 1.0], u.deg)


def with_fov_bins(maker, fov_offset_bins):
    """The bin edges of an IRF maker with other FoV-offset bins (a plain namespace)."""
    names = ("true_energy_bins", "reco_energy_bins", "migration_bins", "source_offset_bins")
    values = {n: getattr(maker, n) for n in names if hasattr(maker, n)}
    return SimpleNamespace(fov_offset_bins=fov_offset_bins, **values)


def file_trait(help, exists=True):
    """A configurable path trait of one file (None by default)."""
    from ctapipe.core.traits import Path

    return Path(None, allow_none=True, exists=exists or None, directory_ok=False, help=help).tag(
        config=True
    )


class IrfToolBase(Tool):
    """Options shared by sst1m-optimize-cuts, sst1m-make-irfs and sst1m-performance."""

    gamma_file = file_trait("Gamma MC DL2 (sst1m-dl1-dl2 or ctapipe-apply-models).")
    proton_file = file_trait("Proton MC DL2 (sst1m-dl1-dl2 or ctapipe-apply-models).")
    tel_setup = CaselessStrEnum(
        list(INSTRUMENT), default_value="stereo", help="Telescope setup: tel_021, tel_022, stereo."
    ).tag(config=True)
    min_multiplicity = Int(
        None, allow_none=True, help="Telescopes an event needs; None: 1 for mono, 2 for stereo."
    ).tag(config=True)
    proton_spectrum = spectrum_trait("DAMPE_P_He_SPECTRUM", "protons")
    overwrite = Bool(False, help="Replace existing outputs.").tag(config=True)

    @property
    def multiplicity(self):
        """Telescopes an event needs (configured, or 1 mono / 2 stereo)."""
        return self.min_multiplicity or (2 if self.tel_setup == "stereo" else 1)


def makers_for(makers, point_like, events):
    """The (aeff, edisp, psf, bkg) makers, with one FoV bin around point-like gammas."""
    aeff, edisp, psf, bkg = makers
    if point_like:
        fov = point_like_fov_bins(events["true_source_fov_offset"].mean())
        aeff, edisp, psf = (with_fov_bins(m, fov) for m in (aeff, edisp, psf))
    return aeff, edisp, psf, bkg


def fill_accumulators(tool, class_of=None):
    """``{event class: IrfAccumulator}`` of ``tool`` (`MakeIrfsTool`) filled chunk by chunk.

    Gammas pass the gammaness cut (and for point-like IRFs the θ cut); protons and electrons
    the gammaness cut, weighted to the tool's spectra and ``obs_time``. ``class_of(events)``
    gives the event class of every event (None: one class, key None); an accumulator is made
    for every class present.
    """
    from .response import IrfAccumulator

    gammas, accs, base = tool.readers["gamma"], {}, None
    selection = tool.selection

    def split(events):
        if class_of is None:
            return [(None, events)]
        classes = class_of(events)
        return [(int(k), events[classes == k]) for k in np.unique(classes)]

    def acc(key):
        if key not in accs:
            accs[key] = IrfAccumulator(*base, gammas.sim_info, gammas.point_like)
        return accs[key]

    for _, events in gammas:
        if base is None:  # point-like gammas: one FoV bin around their offset
            base = makers_for(tool.makers, gammas.point_like, events)
            bins = base[3].reco_energy_bins
        events = events[selection.gh_mask(events)]
        selected = np.ones(len(events), dtype=bool)
        if tool.point_like:
            selected = selection.theta_mask(events, bins)
        events["_theta_selected"] = selected
        for key, part in split(events):
            acc(key).add_gammas(part[part["_theta_selected"]], part)
    for kind in ("proton", "electron"):
        if kind in tool.readers:
            reader, spectrum = tool.readers[kind], getattr(tool, f"{kind}_spectrum")
            for _, events in reader:
                events = events[selection.gh_mask(events)]
                add_weights(events, reader.sim_info, spectrum, tool.obs_time)
                for key, part in split(events):
                    acc(key).add_background(part, tool.obs_time)
    return accs


def irf_hdus(tool, acc, header, rad_max=None):
    """The HDU list of one IRF file of `MakeIrfsTool` ``tool`` from its accumulator ``acc``.

    IRF HDUs, plus ``GH_CUTS`` for energy-dependent cuts and ``EVENT_CLASSES`` (the class
    edges) when the events are split into classes.
    """
    from astropy.io import fits

    from .event_classes import edges_hdu
    from .response import cut_table_hdu

    hdus = [fits.PrimaryHDU(), *acc.hdus(header, tool.point_like, rad_max)]
    if tool.selection.energy_dependent:
        hdus.append(cut_table_hdu(tool.selection.gh_table, "GH_CUTS", header))
    if tool.event_classes.edges is not None:
        hdus.append(edges_hdu(tool.event_classes.edges, header))
    return fits.HDUList(hdus)
