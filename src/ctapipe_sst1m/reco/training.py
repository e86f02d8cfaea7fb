"""Training samples and model fitting for SST-1M, built on ctapipe's reconstructors.

The forests themselves are ctapipe's `~ctapipe.reco.EnergyRegressor`-family and
`~ctapipe.reco.DispReconstructor` (``fit(key, table)``); this module only prepares the
samples the SST-1M way:

* true-energy floors per particle (0.2 TeV gammas, 0.4 TeV protons) before anything else,
* an event-level split into a training part and a held-out test part (both telescopes of an
  array event land on the same side) used for ``performance.json``,
* ``n_training_events`` per telescope and a gamma:proton ratio for the classifier, rebalanced
  like sst1mpipe when one class is short, but seeded,
* the optional two-stage classifier (reconstructed energy and disp as features), trained on
  a part of the gammas unseen by the temporary energy/disp models.

Only the columns the models use are kept, as float32 where possible, chunk by chunk.
"""

import re

import astropy.units as u
import numpy as np
from astropy.table import Table, vstack
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Float, Int
from ctapipe.reco.disp import compute_true_disp

__all__ = [
    "classifier_sample_sizes",
    "event_split_mask",
    "required_columns",
    "read_training_table",
    "TrainingSample",
]

#: Columns always kept when reading training events.
BASE_COLUMNS = [
    "obs_id",
    "event_id",
    "tel_id",
    "true_energy",
    "true_alt",
    "true_az",
    "true_shower_primary_id",
    "true_impact_distance",
    "telescope_pointing_altitude",
    "telescope_pointing_azimuth",
    "hillas_fov_lon",
    "hillas_fov_lat",
    "hillas_psi",
    "hillas_intensity",
    "hillas_width",
    "hillas_length",
    "leakage_intensity_width_2",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def required_columns(reconstructors, available):
    """Input columns referenced by the reconstructors' features, generators and quality cuts."""
    names = set(BASE_COLUMNS)
    for reco in reconstructors:
        names.update(reco.features)
        for _, expression in reco.feature_generator.features:
            names.update(_NAME.findall(expression))
        for _, expression in reco.quality_query.quality_criteria:
            names.update(_NAME.findall(expression))
    return [c for c in available if c in names]


def classifier_sample_sizes(n_gamma, n_proton, n_total, ratio):
    """Numbers of gammas and protons for the classifier (SST-1M ``mix_gamma_proton`` rule).

    Requested: ``int(ratio/(ratio+1)·n_total)`` gammas and ``int(n_total/(ratio+1))`` protons.
    If gammas are short all are used and protons follow the ratio; if protons are short, the
    other way round; never more than available.
    """
    want_g = int(ratio / (ratio + 1) * n_total)
    want_p = int(n_total / (ratio + 1))
    if n_gamma < want_g:
        return n_gamma, min(n_proton, int(n_gamma / ratio))
    if n_proton < want_p:
        return min(n_gamma, int(n_proton * ratio)), n_proton
    return want_g, want_p


def event_split_mask(obs_id, event_id, test_fraction, seed):
    """Boolean mask of telescope events in the held-out test part, decided per array event."""
    keys = np.asarray(obs_id, dtype=np.int64) * (1 << 32) + np.asarray(event_id, dtype=np.int64)
    unique, inverse = np.unique(keys, return_inverse=True)
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(unique)) < test_fraction
    return is_test[inverse]


def read_training_table(loader, tel_type, columns_for, chunk_size, energy_floor, log=None):
    """All telescope events of one type with finite true energy ≥ ``energy_floor``.

    ``columns_for(colnames)`` returns the columns to keep; float64 columns are stored as float32
    (ids, booleans and the true energy keep their type).
    """
    parts = []
    n_read = 0
    chunks = loader.read_telescope_events_chunked(
        chunk_size,
        telescopes=[tel_type],
        true_parameters=False,
        instrument=True,
        observation_info=True,
        pointing=True,
    )
    keep = None
    for _, _, chunk in chunks:
        n_read += len(chunk)
        if keep is None:
            keep = columns_for(chunk.colnames)
        chunk = chunk[keep]
        energy = chunk["true_energy"].quantity.to_value(u.TeV)
        chunk = chunk[np.isfinite(energy) & (energy >= energy_floor.to_value(u.TeV))]
        for name in chunk.colnames:
            col = chunk[name]
            if col.dtype == np.float64 and name not in ("true_energy",):
                chunk[name] = col.astype(np.float32)
        parts.append(chunk)
    if log is not None:
        log.info("%s: %d telescope events read, energy floor %s", tel_type, n_read, energy_floor)
    if not parts:
        return Table()
    return vstack(parts, metadata_conflicts="silent")


def _prepare(reco, table):
    """Quality-selected table with generated features for one reconstructor."""
    mask = reco.quality_query.get_table_mask(table)
    selected = reco.feature_generator(table[mask], subarray=reco.subarray)
    return selected


class TrainingSample(Component):
    """Sizes, splits and energy floors of the SST-1M training samples."""

    n_training_events = Int(
        700_000,
        help="Maximum number of telescope events per telescope and model (SST-1M MC: 7e5).",
    ).tag(config=True)
    gamma_to_proton_training_ratio = Float(
        1.0, help="Ratio of gammas to protons in the gamma/hadron training sample."
    ).tag(config=True)
    gamma_min_true_energy = AstroQuantity(
        default_value=0.2 * u.TeV,
        physical_type=u.physical.energy,
        help="Gammas below this true energy are not used (SST-1M: 0.2 TeV).",
    ).tag(config=True)
    proton_min_true_energy = AstroQuantity(
        default_value=0.4 * u.TeV,
        physical_type=u.physical.energy,
        help="Protons below this true energy are not used (SST-1M: 0.4 TeV).",
    ).tag(config=True)
    test_fraction = Float(
        0.25,
        min=0.0,
        max=0.9,
        help="Fraction of array events held out of training to measure the performance.",
    ).tag(config=True)
    two_stage_fraction = Float(
        0.33,
        min=0.05,
        max=0.95,
        help=(
            "Two-stage classifier: fraction of the training gammas kept away from the temporary"
            " energy/disp models and used for the classifier (sst1mpipe: 0.33)."
        ),
    ).tag(config=True)
    random_seed = Int(0, help="Seed of every random choice (split and sampling).").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rng = np.random.default_rng(self.random_seed)

    def split(self, table):
        """(train, test) tables split per array event."""
        if len(table) == 0 or self.test_fraction == 0:
            return table, table[:0]
        is_test = event_split_mask(
            table["obs_id"], table["event_id"], self.test_fraction, self.random_seed
        )
        return table[~is_test], table[is_test]

    def subsample(self, table, n):
        """At most ``n`` rows, drawn without replacement, order kept."""
        if len(table) <= n:
            return table
        idx = np.sort(self.rng.choice(len(table), n, replace=False))
        return table[idx]

    def fit_energy(self, regressor, key, gammas):
        """Fit the energy model of ``key`` on up to ``n_training_events`` gammas."""
        table = self.subsample(_prepare(regressor, gammas), self.n_training_events)
        regressor.fit(key, table)
        return len(table)

    def fit_disp(self, disp, key, gammas):
        """Fit the disp norm and sign models of ``key`` (projected true disp)."""
        table = self.subsample(_prepare(disp, gammas), self.n_training_events)
        table[disp.target] = compute_true_disp(table, project_disp=True)
        disp.fit(key, table)
        return len(table)

    def fit_classifier(self, classifier, key, gammas, protons):
        """Fit the gamma/hadron model of ``key`` on a gamma:proton mixture."""
        g = _prepare(classifier, gammas)
        p = _prepare(classifier, protons)
        n_g, n_p = classifier_sample_sizes(
            len(g), len(p), self.n_training_events, self.gamma_to_proton_training_ratio
        )
        g = self.subsample(g, n_g)
        p = self.subsample(p, n_p)
        cols = [c for c in g.colnames if c in p.colnames]
        table = vstack([g[cols], p[cols]], metadata_conflicts="silent")
        classifier.fit(key, table)
        return n_g, n_p

    def split_two_stage(self, gammas):
        """(first, second) parts of the training gammas for the two-stage classifier."""
        is_second = event_split_mask(
            gammas["obs_id"], gammas["event_id"], self.two_stage_fraction, self.random_seed + 1
        )
        return gammas[~is_second], gammas[is_second]


def add_predictions(reconstructors, key, table):
    """Append the per-telescope prediction columns of ``reconstructors`` to ``table`` in place."""
    for reco in reconstructors:
        for prediction in reco.predict_table(key, table).values():
            for name in prediction.colnames:
                table[name] = prediction[name]
    return table
