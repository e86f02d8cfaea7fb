"""NSB-rate bins: the label (e.g. "low", "med") of an NSB level, and its trait type.

SST-1M trains its models per NSB-rate bin; the pedestal monitor's NSB level (camera-average
pedestal charge, p.e.) selects the bin with the largest lower edge below it.
"""

import numpy as np
from traitlets import TraitError, TraitType

__all__ = ["DEFAULT_NSB_RATE_TABLE", "NSBRateTable", "nsb_rate_label"]

#: sst1mpipe's ``mean_charge_to_nsb_rate`` (data configuration), per telescope
DEFAULT_NSB_RATE_TABLE = [
    ("type", "*", [{"mean_charge_bin_low": 0.0, "nsb_rate": "low"}]),
    (
        "id",
        21,
        [
            {"mean_charge_bin_low": 0.0, "nsb_rate": "low"},
            {"mean_charge_bin_low": 2.3554, "nsb_rate": "med"},
        ],
    ),
    (
        "id",
        22,
        [
            {"mean_charge_bin_low": 0.0, "nsb_rate": "low"},
            {"mean_charge_bin_low": 2.4287, "nsb_rate": "med"},
        ],
    ),
]


def nsb_rate_label(table, nsb_level):
    """Map an NSB level (p.e.) to the NSB rate of the bin with the largest lower edge below it.

    Parameters
    ----------
    table : list of dict
        Entries ``{"mean_charge_bin_low": float, "nsb_rate": label}`` in any order.
    nsb_level : float or None
        Camera-average pedestal charge in p.e.

    Returns
    -------
    label or None
        The ``nsb_rate`` of the matching bin; None if the level is unknown or below every bin.
    """
    if nsb_level is None or not np.isfinite(nsb_level) or not table:
        return None
    chosen = None
    for entry in sorted(table, key=lambda e: e["mean_charge_bin_low"]):
        if entry["mean_charge_bin_low"] <= nsb_level:
            chosen = entry["nsb_rate"]
    return chosen


class NSBRateTable(TraitType):
    """Trait: list of ``{mean_charge_bin_low: float, nsb_rate: label}`` NSB-rate bins."""

    info_text = "a list of {mean_charge_bin_low, nsb_rate} mappings"
    default_value = []

    def validate(self, obj, value):
        if not isinstance(value, list | tuple) or len(value) == 0:
            self.error(obj, value)
        table = []
        for entry in value:
            if not isinstance(entry, dict) or set(entry) != {"mean_charge_bin_low", "nsb_rate"}:
                raise TraitError(
                    "each mean_charge_to_nsb_rate entry needs exactly the keys"
                    f" mean_charge_bin_low and nsb_rate, got {entry!r}"
                )
            table.append(
                {
                    "mean_charge_bin_low": float(entry["mean_charge_bin_low"]),
                    "nsb_rate": entry["nsb_rate"],
                }
            )
        return sorted(table, key=lambda e: e["mean_charge_bin_low"])
