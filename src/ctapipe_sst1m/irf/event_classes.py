"""Event classes: quantile classes of a per-event quality variable per reconstructed-energy bin.

The SST-1M recipe (spec ``irf_dl3_perf.md`` §5): per reconstructed-energy bin, the quantiles
of a variable that predicts the misdirection (sst1mpipe: a misdirection regressor's
``log_reco_misdirection``) on the MC gammas give ``n_classes + 1`` edges
``[-inf, q_1, …, q_{n-1}, +inf]``; an event of that bin with ``edge_{j-1} < x <= edge_j`` is of
class ``j`` (1 … n), an event without a value or outside the energy bins of class 0. The IRFs
are made per class (``EVTCLASS = j``, file name ``…_ec<j>``) and the edges travel with them
(HDU ``EVENT_CLASSES``), so that DL3 classifies the data with the same edges.

Which variable: `EventClasses.column`, any column of the DL2 (or DL1) events, e.g. the output
of a misdirection regressor or the disp sign score of mono events.
"""

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from ctapipe.core import Component
from ctapipe.core.traits import Int, Unicode

from ..core.errors import SST1MInputError

__all__ = ["EventClasses", "class_edges", "classify", "edges_hdu", "edges_from_hdu"]


def class_edges(values, reco_energy, bins, n_classes):
    """Table ``low``, ``high``, ``center`` [TeV] and ``edge_0 … edge_n`` per energy bin.

    ``edge_0 = -inf``, ``edge_n = +inf`` and the inner edges are the ``k / n`` quantiles of the
    finite ``values`` in the bin (NaN rows for empty bins).
    """
    bins = u.Quantity(bins, u.TeV)
    values = np.asarray(values, dtype=float)
    energy = u.Quantity(reco_energy, u.TeV).to_value(u.TeV)
    index = np.digitize(energy, bins.value) - 1
    edges = np.full((len(bins) - 1, n_classes + 1), np.nan)
    for i in range(len(bins) - 1):
        x = values[(index == i) & np.isfinite(values)]
        if len(x):
            edges[i, 1:-1] = np.quantile(x, np.arange(1, n_classes) / n_classes)
            edges[i, 0], edges[i, -1] = -np.inf, np.inf
    table = QTable({"low": bins[:-1], "high": bins[1:], "center": np.sqrt(bins[:-1] * bins[1:])})
    for k in range(n_classes + 1):
        table[f"edge_{k}"] = edges[:, k]
    return table


def classify(values, reco_energy, edges):
    """Event class (int16, 0 = unclassified) of every event from a `class_edges` table."""
    values = np.asarray(values, dtype=float)
    energy = u.Quantity(reco_energy, u.TeV).to_value(u.TeV)
    low = u.Quantity(edges["low"], u.TeV).to_value(u.TeV)
    high = u.Quantity(edges["high"], u.TeV).to_value(u.TeV)
    index = np.searchsorted(np.append(low, high[-1]), energy, side="right") - 1
    inside = (index >= 0) & (index < len(low)) & np.isfinite(values)
    n_classes = len([c for c in edges.colnames if c.startswith("edge_")]) - 1
    table = np.column_stack([np.asarray(edges[f"edge_{k}"]) for k in range(n_classes + 1)])
    result = np.zeros(len(values), dtype=np.int16)
    rows = table[index[inside]]
    x = values[inside]
    cls = np.zeros(len(x), dtype=np.int16)
    for j in range(1, n_classes + 1):
        cls[(rows[:, j - 1] < x) & (x <= rows[:, j])] = j
    result[inside] = cls
    return result


def edges_hdu(edges, header):
    """The edges as a FITS table HDU ``EVENT_CLASSES`` (energies in TeV)."""
    hdu = fits.table_to_hdu(QTable(edges))
    hdu.name = "EVENT_CLASSES"
    for key, value in header.items():
        if key != "EVTCLASS":
            hdu.header[key] = value
    return hdu


def edges_from_hdu(hdu):
    """The `class_edges` table of an ``EVENT_CLASSES`` HDU."""
    return QTable.read(hdu)


class EventClasses(Component):
    """Split the events into quantile classes of a per-event variable (module docstring)."""

    n_classes = Int(
        0,
        min=0,
        max=9,
        help="Number of event classes (0: no classes, one IRF set with EVTCLASS 'all'; the"
        " SST-1M recipe uses 4, the quartiles).",
    ).tag(config=True)
    column = Unicode(
        "",
        help="Event column whose quantiles per reconstructed-energy bin define the classes"
        " (a misdirection predictor: small values are the best events); needed when"
        " n_classes > 0.",
    ).tag(config=True)

    def __init__(self, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        #: the `class_edges` table once `fit` has run
        self.edges = None

    @property
    def enabled(self):
        """True if the events are split into classes."""
        return self.n_classes > 0

    def check(self):
        """Refuse classes without a column (library error; the tool makes it one line)."""
        if self.enabled and not self.column:
            raise SST1MInputError(
                "EventClasses.n_classes > 0 needs EventClasses.column (the per-event variable"
                " of the classes, e.g. a misdirection prediction)"
            )

    def values(self, events):
        """The class variable of ``events`` (float array)."""
        if self.column not in events.colnames:
            raise SST1MInputError(
                f"EventClasses.column {self.column!r} is not an event column; available:"
                f" {', '.join(events.colnames)}"
            )
        return np.asarray(u.Quantity(events[self.column]).value, dtype=float)

    def fit(self, gammas, gh_mask, bins):
        """Class edges from the gammas of the reader ``gammas`` that pass ``gh_mask(events)``."""
        values, energy = [], []
        for _, events in gammas:
            events = events[gh_mask(events)]
            values.append(self.values(events))
            energy.append(events["reco_energy"].to_value(u.TeV))
        self.edges = class_edges(
            np.concatenate(values), np.concatenate(energy) * u.TeV, bins, self.n_classes
        )
        return self.edges

    def of(self, events):
        """Event class of every event (after `fit`)."""
        return classify(self.values(events), events["reco_energy"], self.edges)
