"""The one place that touches ctapipe internals (private names of ctapipe 0.32).

A new ctapipe release that renames or changes one of these touches this file only; the test
``tests/test_compat.py`` imports every name against the pinned version. Add a function here
rather than reaching into a private ctapipe attribute anywhere else.
"""

from ctapipe.io.hdf5tableio import (
    HDF5TableWriter,
    get_column_attrs,
    get_column_transforms,
    get_node_meta,
)
from ctapipe.io.tableio import TimeColumnTransform
from ctapipe.reco import DispReconstructor

__all__ = [
    "column_metadata",
    "exit_stack",
    "has_stock_disp_predict",
    "models_of",
    "positive_class_index",
    "use_planned_table_rows",
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


class _PlannedRowsHDF5TableWriter(HDF5TableWriter):
    """``HDF5TableWriter`` whose rows follow a column plan made once per container layout.

    Overrides ``_setup_new_table`` and ``_append_row`` of ctapipe 0.32: the same columns get
    the same values through the same transforms, found once instead of on every row; the
    tables' TAI ``ctao_high_res`` time transforms are replaced by ``_time_transform_class``.
    """

    _time_transform_class = TimeColumnTransform

    def _setup_new_table(self, table_name, containers):
        super()._setup_new_table(table_name, containers)
        transforms = self._transforms[table_name]
        for column, transform in list(transforms.items()):
            if (
                type(transform) is TimeColumnTransform
                and transform.scale == "tai"
                and transform.format == "ctao_high_res"
            ):
                transforms[column] = self._time_transform_class()

    def add_column_transform(self, table_name, col_name, transform):
        self.__dict__.pop("_plans", None)
        super().add_column_transform(table_name, col_name, transform)

    def _plan(self, table_name, containers):
        columns = set(self._tables[table_name].colnames)
        transforms = self._transforms[table_name]
        plan = []
        for index, container in enumerate(containers):
            # the column names of Container.items(add_prefix=...)
            prefix = container.prefix if self.add_prefix else ""
            for field in container.fields:
                column = f"{prefix}_{field}" if prefix else field
                if column in columns:
                    plan.append((index, field, column, transforms.get(column)))
        return plan

    def _append_row(self, table_name, containers):
        plans = self.__dict__.setdefault("_plans", {})
        layout = (table_name, tuple((type(c), c.prefix) for c in containers))
        plan = plans.get(layout)
        if plan is None:
            plan = plans[layout] = self._plan(table_name, containers)
        row = self._tables[table_name].row
        for index, field, column, transform in plan:
            value = getattr(containers[index], field)
            try:
                row[column] = value if transform is None else transform(value)
            except Exception:
                self.log.error(
                    f"Error writing col {column} of container "
                    f"{containers[index].__class__.__name__}"
                )
                raise
        row.append()


def use_planned_table_rows(data_writer, time_transform_class):
    """Switch a ``DataWriter``'s table writer (``DataWriter._writer``) to planned rows.

    ``time_transform_class()`` replaces ctapipe's TAI ``ctao_high_res`` ``TimeColumnTransform``
    (it must give the same values) in the tables created from now on.
    """
    writer = data_writer._writer
    if type(writer) is not HDF5TableWriter:
        raise TypeError(f"expected ctapipe's HDF5TableWriter, got {type(writer).__name__}")
    writer.__class__ = type(
        "PlannedRowsHDF5TableWriter",
        (_PlannedRowsHDF5TableWriter,),
        {"_time_transform_class": time_transform_class},
    )
