"""Stock `~ctapipe.reco.DispReconstructor` predictions on a table, without its overheads.

``DispReconstructor.predict_table`` copies every column of the rows passing the quality query,
builds the feature matrix from that copy and turns the disp positions into horizontal
coordinates through astropy's ``TelescopeFrame`` → ``AltAz`` transformation (one rotation
matrix and the frame machinery per call). `predict_disp_table` returns the same two tables
from the same forests: the feature matrix is gathered from the passing rows only and the
rotation is the element-wise one of `~ctapipe_sst1m.reco.directions.disp_unit_vectors`.
On 10⁶ telescope events this removes about a second next to the forests' own predicts.
"""

import astropy.units as u
import numpy as np
from ctapipe.containers import DispContainer, ReconstructedGeometryContainer
from ctapipe.reco import DispReconstructor
from ctapipe.reco.disp import get_tel_pointing
from ctapipe.reco.reconstructor import ReconstructionProperty

from ..compat import has_stock_disp_predict, models_of
from .directions import disp_unit_vectors, unit_vectors_to_altaz
from .forests import passing_feature_matrix, prediction_table

__all__ = ["has_stock_disp_prediction", "predict_disp_table"]


def has_stock_disp_prediction(reco):
    """True if ``reco`` predicts like stock `~ctapipe.reco.DispReconstructor` (not overridden)."""
    return (
        isinstance(reco, DispReconstructor)
        and type(reco).predict_table is DispReconstructor.predict_table
        and has_stock_disp_predict(reco)
    )


def predict_disp_table(reco, key, table):
    """What ``reco.predict_table(key, table)`` returns for a stock `DispReconstructor`.

    Returns
    -------
    dict
        ``ReconstructionProperty.DISP``: ``<prefix>_tel_parameter`` (signed disp) and
        ``<prefix>_tel_sign_score``; ``ReconstructionProperty.GEOMETRY``: ``<prefix>_tel_alt``,
        ``<prefix>_tel_az`` and ``<prefix>_tel_is_valid``.
    """
    table, rows, X = passing_feature_matrix(reco, key, table)
    n_rows = len(table)
    disp = np.full(n_rows, np.nan)
    sign_score = np.full(n_rows, np.nan)
    is_valid = np.zeros(n_rows, dtype=bool)
    if len(X):
        norm_model, sign_model = models_of(reco)[key]
        norm = norm_model.predict(X)
        if reco.log_target:
            norm = np.exp(norm)
        # proba 0 or 1: a certain sign; the score maps 0.5 (a guess) to 0 and certainty to 1
        sign_proba = sign_model.predict_proba(X)[:, 1]
        disp[rows] = norm * np.where(sign_proba >= 0.5, 1.0, -1.0)
        sign_score[rows] = np.abs(2 * sign_proba - 1.0)
        is_valid[rows] = True
    disp = u.Quantity(disp, reco.unit, copy=False)

    disp_result = prediction_table(
        {f"{reco.prefix}_tel_parameter": disp, f"{reco.prefix}_tel_sign_score": sign_score},
        DispContainer,
        reco.prefix,
    )

    def radians(column):
        return u.Quantity(column, copy=False).to_value(u.rad)

    pointing_alt, pointing_az = get_tel_pointing(table)
    vectors = disp_unit_vectors(
        radians(table["hillas_fov_lon"]),
        radians(table["hillas_fov_lat"]),
        radians(table["hillas_psi"]),
        disp.to_value(u.rad),
        radians(pointing_alt),
        radians(pointing_az),
    )
    alt, az = unit_vectors_to_altaz(vectors)
    altaz_result = prediction_table(
        {
            f"{reco.prefix}_tel_alt": alt,
            f"{reco.prefix}_tel_az": az,
            f"{reco.prefix}_tel_is_valid": is_valid,
        },
        ReconstructedGeometryContainer,
        reco.prefix,
    )
    return {
        ReconstructionProperty.DISP: disp_result,
        ReconstructionProperty.GEOMETRY: altaz_result,
    }
