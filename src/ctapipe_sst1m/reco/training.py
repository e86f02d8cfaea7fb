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

Memory is bounded whatever the size of the MC files: the telescope events are streamed chunk
by chunk, reduced to the columns the models use (float32 except ids and true energy), cut on
true energy and quality, split by a hash of ``(obs_id, event_id, seed)`` and kept in two
seeded bottom-k reservoirs (`EventReservoir`): at most the number of training rows the
models can use and ``max_test_events`` held-out rows. The same event always gets the same
hash, so the result does not depend on the chunk size and both telescopes of an array event
share their fate.
"""

import gc

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table, vstack
from ctapipe import reco as ctapipe_reco
from ctapipe.core import Component
from ctapipe.core.expression_engine import ExpressionEngine, ExpressionError
from ctapipe.core.traits import AstroQuantity, Float, Int
from ctapipe.reco.disp import compute_true_disp

from ..core import SST1MInputError
from .apply import columns_used

__all__ = [
    "TooFewEventsError",
    "cut_flow",
    "classifier_sample_sizes",
    "event_random",
    "event_split_mask",
    "EventReservoir",
    "iter_training_chunks",
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

#: Columns never converted to float32.
KEEP_DTYPE = ("obs_id", "event_id", "tel_id", "true_energy")

# salts of the independent per-event random streams derived from one seed
_SPLIT_SALT = 0x5EED_0001
_PRIORITY_SALT = 0x5EED_0002
#: one stream per model input subsampled to its size (`TrainingSample.subsample`)
_SUBSAMPLE_SALTS = {"energy": 0x5EED_0003, "disp": 0x5EED_0004, "gamma": 0x5EED_0005,
                    "proton": 0x5EED_0006}  # fmt: skip
_MASK64 = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


class TooFewEventsError(SST1MInputError):
    """Too few events of a training sample pass the energy floor and the quality cuts."""


def cut_flow(quality_query, table):
    """``[(criterion name, events left after it), …]``, the criteria applied in order."""
    passed = np.ones(len(table), dtype=bool)
    flow = []
    for name, expression in quality_query.quality_criteria:
        try:
            (result,) = ExpressionEngine([(name, expression)])(table)
        except ExpressionError:
            continue
        passed &= np.asarray(result, dtype=bool)
        flow.append((name, int(passed.sum())))
    return flow


def _flow_text(flow):
    return ", ".join(f"{name!r}: {n}" for name, n in flow)


def required_columns(reconstructors, available):
    """Input columns referenced by the reconstructors' features, generators and quality cuts."""
    names = set(BASE_COLUMNS) | columns_used(reconstructors)
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


def _splitmix64(x):
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic, a bijection)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _event_hash(obs_id, event_id, seed, salt):
    """64-bit hash of each ``(obs_id, event_id)`` for one ``(seed, salt)`` stream."""
    key = np.uint64((int(seed) * 0x9E3779B97F4A7C15 + salt) & 0xFFFF_FFFF_FFFF_FFFF)
    with np.errstate(over="ignore"):
        h = _splitmix64(np.asarray(obs_id).astype(np.uint64) ^ key)
        h = _splitmix64(h ^ np.asarray(event_id).astype(np.uint64))
        return _splitmix64(h + key) & _MASK64


def event_random(obs_id, event_id, seed, salt=_SPLIT_SALT):
    """Uniform [0, 1) number per array event, a pure function of (obs_id, event_id, seed).

    Unlike a random generator drawn in file order, the value of an event does not depend on
    which other events were read before it or in the same chunk, which makes streaming
    decisions reproducible for any chunk size.
    """
    h = _event_hash(obs_id, event_id, seed, salt)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def event_split_mask(obs_id, event_id, test_fraction, seed):
    """Boolean mask of telescope events in the held-out test part, decided per array event."""
    return event_random(obs_id, event_id, seed) < test_fraction


class EventReservoir:
    """Seeded uniform sample of at most ``capacity`` rows from a stream of column chunks.

    Every row gets the priority ``hash(obs_id, event_id, seed)``; the reservoir keeps the
    ``capacity`` rows of smallest priority seen so far ("bottom-k" sampling), which is a
    uniform sample without replacement. Because the priority of a row depends on nothing else,
    the kept set is the same for any chunking of the same stream, and all telescopes of an
    array event that were offered are kept or dropped together (same priority).

    Memory: rows are appended to buffers of at most ``2 * capacity`` rows; when full, the
    buffers are compacted in place to the ``capacity`` best rows (`numpy.argpartition`), and
    rows above the current k-th priority are not even copied.

    Parameters
    ----------
    capacity : int
        Maximum number of rows kept.
    seed : int
        Seed of the priorities.
    salt : int
        Independent stream of priorities for the same seed.
    """

    def __init__(self, capacity, seed, salt=_PRIORITY_SALT):
        self.capacity = int(capacity)
        self.seed = int(seed)
        self.salt = salt
        self.n_offered = 0
        self._n = 0
        self._buffers = None
        self._threshold = None

    def __len__(self):
        return min(self._n, self.capacity)

    def add(self, columns):
        """Offer one chunk: a mapping of column name to 1-d arrays of equal length."""
        n_rows = len(columns["obs_id"])
        order = np.arange(self.n_offered, self.n_offered + n_rows, dtype=np.int64)
        self.n_offered += n_rows
        if self.capacity == 0 or n_rows == 0:
            return
        priority = _event_hash(columns["obs_id"], columns["event_id"], self.seed, self.salt)
        take = None
        if self._threshold is not None:
            take = np.flatnonzero(priority < self._threshold)
        if (n_rows if take is None else len(take)) > self.capacity:
            # rows beyond the chunk's own bottom-k can never be among the final k
            candidates = np.arange(n_rows) if take is None else take
            best = np.argpartition(priority[candidates], self.capacity - 1)[: self.capacity]
            take = np.sort(candidates[best])
        rows = {"_priority": priority, "_order": order, **columns}
        if take is not None:
            rows = {name: np.asarray(values)[take] for name, values in rows.items()}
        n_new = len(rows["_priority"])
        if n_new == 0:
            return
        if self._buffers is not None and self._n + n_new > 2 * self.capacity:
            self._compact()
        self._append(rows, n_new)

    def _append(self, rows, n_new):
        needed = self._n + n_new
        if self._buffers is None or needed > len(self._buffers["_priority"]):
            size = min(2 * self.capacity, max(needed, 2 * self._n, 1024))
            old = self._buffers
            self._buffers = {}
            for name, values in rows.items():
                values = np.asarray(values)
                buffer = np.empty((size, *values.shape[1:]), dtype=values.dtype)
                if old is not None:
                    buffer[: self._n] = old[name][: self._n]
                self._buffers[name] = buffer
            del old
        for name, values in rows.items():
            self._buffers[name][self._n : needed] = values
        self._n = needed

    def _compact(self):
        """Keep the ``capacity`` rows of smallest priority, in place, in stream order."""
        if self._n <= self.capacity:
            return
        priority = self._buffers["_priority"][: self._n]
        keep = np.sort(np.argpartition(priority, self.capacity - 1)[: self.capacity])
        for buffer in self._buffers.values():
            buffer[: self.capacity] = buffer[keep]
        self._n = self.capacity
        self._threshold = self._buffers["_priority"][: self.capacity].max()

    def arrays(self):
        """The kept rows as a dict of column arrays, in stream order (empty dict if none)."""
        if self._buffers is None:
            return {}
        self._compact()
        sort = np.argsort(self._buffers["_order"][: self._n], kind="stable")
        result = {
            name: buffer[: self._n][sort]
            for name, buffer in self._buffers.items()
            if not name.startswith("_")
        }
        return result


def _as_arrays(table):
    """Plain numpy arrays of an astropy table (masked values: NaN, False or 0)."""
    arrays = {}
    for name in table.colnames:
        col = table[name]
        if isinstance(col, MaskedColumn):
            fill = np.nan if col.dtype.kind == "f" else 0
            arrays[name] = col.filled(fill).data
        else:
            arrays[name] = np.asarray(col)
    return arrays


def _criteria_engines(reconstructors):
    """One expression engine per quality criterion, per reconstructor."""
    return [
        [ExpressionEngine([criterion]) for criterion in reco.quality_query.quality_criteria]
        for reco in reconstructors
    ]


def _usable_mask(engines, table):
    """Rows passing the quality query of at least one reconstructor.

    Criteria that cannot be evaluated on the raw columns (they need generated features or
    earlier predictions) are skipped here, so the mask never drops a usable row; the full
    query is applied again before each fit.
    """
    if not engines:
        return np.ones(len(table), dtype=bool)
    usable = np.zeros(len(table), dtype=bool)
    for reco_engines in engines:
        passed = np.ones(len(table), dtype=bool)
        for engine in reco_engines:
            try:
                (result,) = engine(table)
            except ExpressionError:
                continue
            passed &= np.asarray(result, dtype=bool)
        usable |= passed
    return usable


def iter_training_chunks(
    loader, tel_type, columns_for, chunk_size, energy_floor, quality=(), stats=None
):
    """Reduced chunks of the telescope events of one type, ready for sampling.

    Each yielded `~astropy.table.Table` holds only ``columns_for(colnames)``, float64 columns
    as float32 (except `KEEP_DTYPE`), and only rows with finite true energy ≥ ``energy_floor``
    that pass the quality query of at least one of the ``quality`` reconstructors.
    ``stats`` (a dict), if given, receives the numbers of rows read and yielded.
    """
    engines = _criteria_engines(quality)
    chunks = loader.read_telescope_events_chunked(
        chunk_size,
        telescopes=[tel_type],
        true_parameters=False,
        instrument=True,
        observation_info=True,
        pointing=True,
    )
    keep = None
    floor = energy_floor.to_value(u.TeV)
    for _, _, chunk in chunks:
        if stats is not None:
            stats["read"] = stats.get("read", 0) + len(chunk)
        if keep is None:
            keep = columns_for(chunk.colnames)
        chunk = chunk[keep]
        energy = chunk["true_energy"].quantity.to_value(u.TeV)
        with np.errstate(invalid="ignore"):
            chunk = chunk[np.isfinite(energy) & (energy >= floor)]
        for name in chunk.colnames:
            col = chunk[name]
            if col.dtype == np.float64 and name not in KEEP_DTYPE:
                chunk[name] = col.astype(np.float32)
        chunk = chunk[_usable_mask(engines, chunk)]
        if stats is not None:
            stats["usable"] = stats.get("usable", 0) + len(chunk)
        # the loader's joined astropy tables are reference cycles: without a collection per
        # chunk their garbage piles up with the file size (measured: +16 MB per 10^5 events)
        gc.collect()
        yield chunk


def read_training_table(
    loader, tel_type, columns_for, chunk_size, energy_floor, sample, train_capacity, **kwargs
):
    """Bounded (train, test) tables of one telescope type, streamed from ``loader``.

    ``sample`` is the `TrainingSample` deciding the split and the test size;
    ``train_capacity`` the maximum number of training rows kept. The other keyword arguments
    (``quality``, ``log``, ``stats``) are described in `iter_training_chunks` and
    `TrainingSample.sample`.
    """
    log = kwargs.pop("log", None)
    stats = kwargs.pop("stats", None)
    stats = {} if stats is None else stats
    chunks = iter_training_chunks(
        loader, tel_type, columns_for, chunk_size, energy_floor, stats=stats, **kwargs
    )
    train, test = sample.sample(chunks, train_capacity)
    if log is not None:
        log.info(
            "%s: %d telescope events read, %d above %s and usable, kept %d train + %d test",
            tel_type,
            stats.get("read", 0),
            stats.get("usable", 0),
            energy_floor,
            len(train),
            len(test),
        )
    return train, test


def _to_table(arrays, units, dtypes, meta):
    """Astropy table of sampled column arrays with the units of the input chunks."""
    table = Table(meta=meta)
    for name, unit in units.items():
        values = arrays.get(name, np.empty(0, dtype=dtypes[name]))
        table[name] = Column(values, unit=unit, copy=False)
    return table


def _prepare(reco, table, minimum=0, what="training events"):
    """Quality-selected table with generated features for one reconstructor.

    Raises `TooFewEventsError` (the count after each quality criterion in the message) if
    fewer than ``minimum`` rows pass.
    """
    mask = reco.quality_query.get_table_mask(table) if len(table.colnames) else np.zeros(0, bool)
    if mask.sum() < minimum:
        flow = cut_flow(reco.quality_query, table) if len(table) else []
        raise TooFewEventsError(
            f"{what}: {int(mask.sum())} of {len(table)} training events pass the quality cuts"
            f" of the {_model_name(reco)} ({_flow_text(flow) or 'no events'}), at least"
            f" {minimum} needed; simulate more showers or relax"
            f" {type(reco).__name__}.QualityQuery (TrainingSample.min_training_events)"
        )
    selected = reco.feature_generator(table[mask], subarray=reco.subarray)
    return selected


def _model_name(reco):
    if isinstance(reco, ctapipe_reco.DispReconstructor):
        return "disp model"
    if isinstance(reco, ctapipe_reco.ParticleClassifier):
        return "gamma/hadron classifier"
    return "energy model"


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
    max_test_events = Int(
        200_000,
        min=0,
        help=(
            "Maximum number of held-out telescope events per particle and telescope type kept"
            " to measure the performance (a uniform sample of the test part)."
        ),
    ).tag(config=True)
    random_seed = Int(0, help="Seed of every random choice (split and sampling).").tag(config=True)
    min_training_events = Int(
        10,
        min=1,
        help="Fewest training events per particle, telescope and model after the energy floor"
        " and the quality cuts (the default forests split no node of fewer than 10 events);"
        " a smaller sample is refused with the count after each cut.",
    ).tag(config=True)

    def train_capacity(self, two_stage=False):
        """Most training rows of one particle and telescope type any model can use.

        ``n_training_events`` rows, or for the two-stage classifier enough gammas for both
        parts: ``n_training_events`` for the temporary energy/disp models and the
        classifier's gamma share for the second part (``two_stage_fraction`` of the rows).
        """
        n = self.n_training_events
        if not two_stage:
            return n
        ratio = self.gamma_to_proton_training_ratio
        n_gamma_classifier = int(ratio / (ratio + 1) * n)
        first = n / (1 - self.two_stage_fraction)
        second = n_gamma_classifier / self.two_stage_fraction
        return int(np.ceil(max(n, first, second)))

    def sample(self, chunks, train_capacity):
        """(train, test) tables sampled from an iterable of astropy table chunks.

        Telescope events are assigned to the test part per array event
        (`event_split_mask`); each part is a seeded uniform sample (`EventReservoir`) of at
        most ``train_capacity`` and ``max_test_events`` rows. The result only depends on the
        stream of rows and the seed, not on how the stream is chunked.
        """
        train = EventReservoir(train_capacity, self.random_seed)
        test = EventReservoir(self.max_test_events, self.random_seed)
        units, meta, dtypes = None, {}, None
        for chunk in chunks:
            if units is None:
                units = {name: chunk[name].unit for name in chunk.colnames}
                dtypes = {name: chunk[name].dtype for name in chunk.colnames}
                meta = dict(chunk.meta)
            arrays = _as_arrays(chunk)
            if self.test_fraction > 0:
                is_test = event_split_mask(
                    arrays["obs_id"], arrays["event_id"], self.test_fraction, self.random_seed
                )
                train.add({name: values[~is_test] for name, values in arrays.items()})
                test.add({name: values[is_test] for name, values in arrays.items()})
            else:
                train.add(arrays)
        if units is None:
            return Table(), Table()
        return (
            _to_table(train.arrays(), units, dtypes, meta),
            _to_table(test.arrays(), units, dtypes, meta),
        )

    def check_read(self, train, stats, what, floor):
        """Refuse a training part smaller than ``min_training_events`` (after the reading cuts).

        ``stats`` are the counts of `read_training_table`: telescope events read, and left
        with true energy ≥ ``floor`` passing the quality query of at least one model.
        """
        if len(train) >= self.min_training_events:
            return
        raise TooFewEventsError(
            f"{what}: {stats.get('read', 0)} read, {stats.get('usable', 0)} with true energy"
            f" ≥ {floor} passing the quality cuts, {len(train)} in the training part; at least"
            f" {self.min_training_events} needed (TrainingSample.min_training_events); simulate"
            " more showers"
        )

    def subsample(self, table, n, stream):
        """At most ``n`` rows, order kept: those of lowest event hash in ``stream``.

        The choice is a pure function of the events and the seed (as the train/test split),
        so a model gets the same rows whichever telescope type or model was trained before it;
        a generator shared by all of them made the forests depend on the order of
        ``SubarrayDescription.telescope_types``, which for two cameras of one name is a set's.
        """
        if len(table) <= n:
            return table
        salt = _SUBSAMPLE_SALTS[stream]
        priority = _event_hash(table["obs_id"], table["event_id"], self.random_seed, salt)
        return table[np.sort(np.argsort(priority, kind="stable")[:n])]

    def fit_energy(self, regressor, key, gammas, what="gamma training events"):
        """Fit the energy model of ``key`` on up to ``n_training_events`` gammas."""
        prepared = _prepare(regressor, gammas, self.min_training_events, what)
        table = self.subsample(prepared, self.n_training_events, "energy")
        regressor.fit(key, table)
        return len(table)

    def fit_disp(self, disp, key, gammas, what="gamma training events"):
        """Fit the disp norm and sign models of ``key`` (projected true disp)."""
        prepared = _prepare(disp, gammas, self.min_training_events, what)
        table = self.subsample(prepared, self.n_training_events, "disp")
        table[disp.target] = compute_true_disp(table, project_disp=True)
        disp.fit(key, table)
        return len(table)

    def fit_classifier(self, classifier, key, gammas, protons, what=("gammas", "protons")):
        """Fit the gamma/hadron model of ``key`` on a gamma:proton mixture.

        ``what`` names the gamma and the proton sample in a `TooFewEventsError`.
        """
        g = _prepare(classifier, gammas, self.min_training_events, what[0])
        p = _prepare(classifier, protons, self.min_training_events, what[1])
        n_g, n_p = classifier_sample_sizes(
            len(g), len(p), self.n_training_events, self.gamma_to_proton_training_ratio
        )
        g = self.subsample(g, n_g, "gamma")
        p = self.subsample(p, n_p, "proton")
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
