"""Toy production: simulated events → DL1 parameters → stereo geometry → a ctapipe DL1 file.

`ToyDL1Production` holds the processing chain of ``sst1m-simulate`` (the Tool only wires
arguments and runs the loop): the events of
:class:`~ctapipe_sst1m.simulation.SST1MToyEventSource`, R1 waveforms (``--r1``) calibrated by
ctapipe's ``CameraCalibrator``, images cleaned and parameterised by ctapipe's ``ImageProcessor``
(telescope frame), the shower geometry of ctapipe's ``ShowerProcessor`` (HillasReconstructor,
with the stereo quality cuts ``sst1m-r0-dl1`` applies to simulations) and everything written by
ctapipe's ``DataWriter``, including the ``/dl2`` geometry and impact tables that the stereo
training reads. `make_toy_file` runs the same chain in one call, for tests and examples.
"""

from pathlib import Path

import astropy.units as u
import ctapipe.fitting as ctapipe_fitting
import numpy as np
from ctapipe.calib import CameraCalibrator
from ctapipe.core import Provenance
from ctapipe.image import ImageProcessor
from ctapipe.io import DataWriter
from ctapipe.reco import ShowerProcessor
from traitlets.config import Config

from .. import image as _sst1m_image  # noqa: F401  (registers ImageCleanerSST)
from ..config.processing import processing_record, write_processing_record
from ..core import deferred_interruption, packaged_config_path, raise_if_interrupted
from ..core.config import read_config_file
from .event_source import SST1MToyEventSource

__all__ = [
    "DEFAULT_PROCESSING_CONFIG",
    "ToyDL1Production",
    "default_processing_config",
    "make_toy_file",
]

#: SST-1M processing defaults of the toy (sst1mpipe MC configuration), applied unless
#: configured otherwise. The stereo geometry sections come from the packaged
#: ``r0_dl1_mc.yaml`` (see `default_processing_config`), so that the toy's DL1 has the
#: geometry ``sst1m-r0-dl1`` writes for simulations.
DEFAULT_PROCESSING_CONFIG = {
    "TailcutsImageCleaner": {
        "picture_threshold_pe": 8.0,
        "boundary_threshold_pe": 4.0,
        "min_picture_neighbors": 2,
    },
    "CameraCalibrator": {"image_extractor_type": "LocalPeakWindowSum"},
    "LocalPeakWindowSum": {
        "window_width": 7,
        "window_shift": 3,
        "apply_integration_correction": True,
    },
    "DataWriter": {"write_dl1_parameters": True, "write_dl2": True},
}

#: sections of ``r0_dl1_mc.yaml`` that define the stereo geometry of simulations
_GEOMETRY_SECTIONS = ("ShowerProcessor", "HillasReconstructor")


def default_processing_config():
    """`DEFAULT_PROCESSING_CONFIG` plus the stereo-geometry sections of ``r0_dl1_mc.yaml``."""
    config = Config(DEFAULT_PROCESSING_CONFIG)
    mc = read_config_file(packaged_config_path("r0_dl1_mc.yaml"))
    for section in _GEOMETRY_SECTIONS:
        config[section] = mc[section]
    return config


def _reseed_ctapipe_fit_rng(seed):
    """Reset the module-level generator ctapipe's robust timing fit draws samples from.

    ``timing_parameters`` uses ``ctapipe.fitting.FIT_RNG``, created once per process; resetting
    it makes a second run in the same process give identical timing parameters.
    """
    fit_rng = getattr(ctapipe_fitting, "FIT_RNG", None)
    if fit_rng is not None:
        fit_rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state


class ToyDL1Production:
    """The chain of ``sst1m-simulate``: toy events to a ctapipe DL1 file with stereo geometry.

    Parameters
    ----------
    output_path : pathlib.Path
        File the ``DataWriter`` writes (the caller makes it atomic).
    parent : ctapipe.core.Tool or None
        Configurable parent of the components (a Tool); or
    config : traitlets.config.Config or None
        Configuration of the components when there is no parent.

    The defaults of `default_processing_config` are the caller's job (a Tool merges them below
    its configuration, `make_toy_file` below the given one).
    """

    def __init__(self, output_path, parent=None, config=None):
        owner = {"parent": parent} if parent is not None else {"config": config or Config()}
        self.source = SST1MToyEventSource(**owner)
        subarray = self.source.subarray
        self.calibrate = CameraCalibrator(subarray=subarray, **owner)
        self.process_images = ImageProcessor(subarray=subarray, **owner)
        self.process_shower = ShowerProcessor(subarray=subarray, **owner)
        self.writer = DataWriter(
            event_source=self.source, output_path=output_path, overwrite=True, **owner
        )
        self.n_events = 0
        self._closed = False
        self._output_path = output_path
        _reseed_ctapipe_fit_rng(self.source.seed)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Close the output file if `finish` did not (after an error or an interruption)."""
        if not self._closed:
            self._closed = True
            self.writer.finish()

    def run(self, progress=None):
        """Simulate, process and write every event; ``progress(showers_done)`` after each.

        A SIGTERM/SIGINT is deferred to the end of the current event (never inside the
        compiled image code), see `ctapipe_sst1m.core.signals`.
        """
        with deferred_interruption():
            for event in self.source:
                if self.source.waveforms:
                    self.calibrate(event)
                self.process_images(event)
                self.process_shower(event)
                self.writer(event)
                self.n_events += 1
                if progress is not None:
                    progress(self.source.showers_done)
                raise_if_interrupted()

    def finish(self):
        """Write the distribution of all thrown showers and close the file."""
        self.writer.write_simulated_shower_distributions(self.source.simulated_shower_distributions)
        self._closed = True
        self.writer.finish()
        record = processing_record(
            self.calibrate, self.process_images, self.source.subarray.tel_ids
        )
        write_processing_record(self._output_path, record)  # extraction and cleaning used


def make_toy_file(
    path,
    particle="gamma",
    n_showers=10000,
    seed=0,
    *,
    zenith=20.0,
    azimuth=0.0,
    telescopes=(1, 2),
    r1=False,
    write_images=False,
    overwrite=True,
    config=None,
):
    """Run the ``sst1m-simulate`` chain in-process and return the path of the DL1 file.

    Parameters
    ----------
    path : str or pathlib.Path
        Output HDF5 file.
    particle : {"gamma", "gamma-diffuse", "proton"}
        Primary particle.
    n_showers : int
        Number of thrown showers (about 2.5 % of point-like gammas, 1.5 % of diffuse
        gammas and 0.1 % of protons trigger with the default ranges).
    seed : int
        Random seed; the same arguments give an identical file.
    zenith, azimuth : float or astropy.units.Quantity
        Pointing (a float is in degrees).
    telescopes : tuple of int
        Telescope ids, (1, 2) for MC numbering or (21, 22).
    r1 : bool
        Simulate R1 waveforms and calibrate them (also stores the waveforms).
    write_images : bool
        Also store DL1 images.
    overwrite : bool
        Replace an existing file.
    config : dict, optional
        Extra traitlets configuration, e.g.
        ``{"ShowerGenerator": {"max_scatter_range": 400.0, "viewcone": 4.0}}``.
    """
    from ..core import atomic_output

    path = Path(path).expanduser().absolute()
    full = default_processing_config()
    full.merge(
        Config(
            {
                "ShowerGenerator": {"particle": particle},
                "SST1MToyEventSource": {
                    "n_showers": int(n_showers),
                    "seed": int(seed),
                    "zenith": u.Quantity(zenith, u.deg),
                    "azimuth": u.Quantity(azimuth, u.deg),
                    "telescopes": [int(t) for t in telescopes],
                    "waveforms": bool(r1),
                },
                "DataWriter": {
                    "write_r1_waveforms": bool(r1),
                    "write_dl1_images": bool(write_images),
                },
            }
        )
    )
    full.merge(Config(config or {}))
    provenance = Provenance()
    # the DataWriter writes the metadata of the current provenance activity
    provenance.start_activity("make_toy_file")
    try:
        with atomic_output(path, overwrite=overwrite, suffix=".h5") as tmp:
            with ToyDL1Production(tmp, config=full) as production:
                production.run()
                production.finish()
        provenance.add_output_file(str(path), role="DL1/Event")
    finally:
        provenance.finish_activity()
    return path
