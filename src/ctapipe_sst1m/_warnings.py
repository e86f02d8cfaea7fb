"""Silence one known, harmless library warning that buries real messages.

ctapipe stores its reference metadata as HDF5 attributes named ``CTA PRODUCT ID`` etc.;
PyTables warns (``NaturalNameWarning``) once per name and file location because such names
cannot be used as Python attributes. About twenty lines per run say nothing to a user, so only
that warning, for names starting with ``CTA ``, is filtered.
"""

import warnings

__all__ = ["silence_known_warnings"]


def silence_known_warnings():
    """Install the warning filters (idempotent)."""
    from tables import NaturalNameWarning

    warnings.filterwarnings(
        "ignore",
        message="object name is not a valid Python identifier: 'CTA ",
        category=NaturalNameWarning,
    )
