"""The one place that touches ctapipe internals (private names of ctapipe 0.32).

A new ctapipe release that renames or changes one of these touches this file only; the test
``tests/test_compat.py`` imports every name against the pinned version. Add a function here
rather than reaching into a private ctapipe attribute anywhere else.
"""

from ctapipe.io.hdf5tableio import get_column_attrs, get_column_transforms, get_node_meta
from ctapipe.reco import DispReconstructor

__all__ = [
    "column_metadata",
    "exit_stack",
    "has_stock_disp_predict",
    "models_of",
    "positive_class_index",
]


def models_of(reconstructor):
    """The ``{TelescopeDescription or key: model}`` mapping of a ctapipe ML reconstructor.

    The mapping is the reconstructor's own (``SKLearnReconstructor._models``): changing it
    changes which model is used for a key.
    """
    return reconstructor._models


def positive_class_index(classifier, key):
    """Column of ``predict_proba`` that belongs to the classifier's positive class."""
    return classifier._get_positive_index(key)


def has_stock_disp_predict(reconstructor):
    """True if a `DispReconstructor` (subclass) keeps ctapipe's own ``_predict``."""
    return type(reconstructor)._predict is DispReconstructor._predict


def column_metadata(node):
    """``(transforms, descriptions, meta)`` of a ctapipe-written PyTables table node.

    ``transforms`` maps column names to ctapipe's column transforms (units, enums, times),
    ``descriptions`` column names to their description, ``meta`` the table's metadata.
    """
    column_attrs = get_column_attrs(node)
    transforms = get_column_transforms(column_attrs)
    descriptions = {name: attrs.get("DESC", "") for name, attrs in column_attrs.items()}
    return transforms, descriptions, get_node_meta(node)


def exit_stack(tool):
    """A ctapipe Tool's exit stack (prefer the public ``Tool.enter_context``)."""
    return tool._exit_stack
