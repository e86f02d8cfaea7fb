"""PDE-drop (intensity) correction of SST-1M simulations.

SST-1M simulations are produced with a photon-detection efficiency already lowered for the
night-sky background of the simulated observation (the SiPM voltage drop, see
:mod:`ctapipe_sst1m.calib.vdrop`). Real data are corrected *up* for that drop (charges divided
by the Vdrop factor VI < 1). To compare like with like, the simulated charges are divided by
the matching factor VI of the simulation's quantum-efficiency table.

The correction is a `ctapipe.io.MonitoringSource`: it fills the multiplicative calibration
coefficient ``event.monitoring.tel[tel_id].camera.coefficients.factor`` with ``1 / VI``, which
ctapipe's own `~ctapipe.calib.CameraCalibrator` applies to the extracted charge of every pixel.
Because the extractors are linear in the waveform, this is the same as dividing the R1
waveforms by VI, and peak times are untouched. It therefore works for any simulation source
(`~ctapipe.io.SimTelEventSource`, the toy source) inside stock ``ctapipe-process``
(``--monitoring-source SST1MPDECorrection``) and inside ``sst1m-r0-dl1``, both of which call
the monitoring sources of ``ProcessorTool.monitoring_source_list`` before calibrating.
"""

import numpy as np
from ctapipe.core.traits import FloatTelescopeParameter, TraitError
from ctapipe.io import MonitoringSource
from ctapipe.io.monitoringtypes import MonitoringType

__all__ = ["SST1MPDECorrection"]


class SST1MPDECorrection(MonitoringSource):
    """Divide the charges of simulated SST-1M events by a per-telescope PDE-drop factor.

    ``pde_drop_factor`` is the factor VI of the reference's
    ``mc_pde_correction_factors.json`` for the quantum-efficiency table the simulation used
    (MC telescope ids 1 and 2); the default 1.0 changes nothing. If another monitoring source
    already set calibration factors for the event, they are multiplied by ``1 / VI``.
    """

    pde_drop_factor = FloatTelescopeParameter(
        default_value=1.0,
        help=(
            "Per-telescope PDE-drop factor VI of the simulation (0 < VI <= about 1); the extracted"
            " charges of that telescope are divided by it. Reference values (sst1mpipe"
            " mc_pde_correction_factors.json): tel 1 0.9656945 (QE table NSB136) or 0.9393874"
            " (NSB251), tel 2 0.9891814 (NSB177) or 0.9819055 (NSB300); 1.0 means no correction."
        ),
    ).tag(config=True)

    def __init__(self, subarray=None, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        self.metadata = {"is_simulation": True}
        for tel_id in self.subarray.tel_ids:
            try:
                value = self.pde_drop_factor.tel[tel_id]
            except KeyError:
                raise TraitError(
                    f"SST1MPDECorrection.pde_drop_factor has no value for tel {tel_id}; start the"
                    " list with a default, e.g. [[type, '*', 1.0], [id, 1, 0.9656945]]"
                ) from None
            if not np.isfinite(value) or value <= 0:
                raise TraitError(
                    f"SST1MPDECorrection.pde_drop_factor for tel {tel_id} is {value}; it must be"
                    " a positive number (1.0 for no correction)"
                )

    @property
    def monitoring_types(self):
        """This source provides camera calibration coefficients."""
        return (MonitoringType.CAMERA_COEFFICIENTS,)

    def correction_factor(self, tel_id):
        """Multiplicative charge correction ``1 / VI`` for telescope ``tel_id``."""
        return 1.0 / self.pde_drop_factor.tel[tel_id]

    def get_table(self, monitoring_type, tel_id=None, **kwargs):
        """Not available: the correction is a constant per telescope, not a table.

        Raises
        ------
        KeyError
            Always.
        """
        raise KeyError(f"{self.__class__.__name__} holds no {monitoring_type} table")

    def get_values(self, monitoring_type, time, tel_id=None, **kwargs):
        """Return the per-pixel correction factor of ``tel_id`` (independent of ``time``).

        Returns
        -------
        dict
            ``{"factor": ndarray of shape (1, n_pixels)}``.
        """
        if monitoring_type is not MonitoringType.CAMERA_COEFFICIENTS:
            raise KeyError(f"{self.__class__.__name__} provides only camera coefficients")
        if tel_id is None:
            raise TypeError("camera coefficients need a tel_id")
        n_pixels = self.subarray.tel[tel_id].camera.geometry.n_pixels
        return {"factor": np.full((1, n_pixels), self.correction_factor(tel_id), np.float32)}

    def fill_monitoring_container(self, event):
        """Set (or scale) the charge calibration factor of every telescope in ``event``."""
        for tel_id in event.r1.tel:
            correction = self.correction_factor(tel_id)
            if correction == 1.0:
                continue
            coefficients = event.monitoring.tel[tel_id].camera.coefficients
            n_channels, n_pixels = event.r1.tel[tel_id].waveform.shape[:2]
            if coefficients.factor is None:
                coefficients.factor = np.full((n_channels, n_pixels), correction, np.float32)
            else:
                coefficients.factor = coefficients.factor * np.float32(correction)
