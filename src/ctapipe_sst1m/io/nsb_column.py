"""The per-event ``nsb_level`` column of the DL1 parameter tables (``sst1m-r0-dl1``).

ctapipe's ``TableLoader`` returns every column of ``/dl1/event/telescope/parameters/tel_XXX``
with the image parameters, so the causal NSB level of each event (camera-average pedestal
charge in p.e., as the cleaning used it) is stored there, added after the ``DataWriter``
closed the file.
"""

import numpy as np
import tables
from ctapipe.io import read_table, write_table

from ..core.errors import SST1MInputError
from .datamodel import DL1_TEL_PARAMETERS_GROUP, tel_path
from .write_check import check_written

__all__ = ["add_nsb_column", "complete_dl1_file"]

DESCRIPTION = "camera-average pedestal charge (p.e.), causal"


def add_nsb_column(path, rows):
    """Rewrite each parameter table with the ``nsb_level`` column.

    Parameters
    ----------
    path : str or Path
        The closed DL1 file.
    rows : dict
        ``{tel_id: [(obs_id, event_id, nsb_level), ...]}`` in the order the events were written.
    """
    with tables.open_file(path, "r") as h5:
        present = {tel_id for tel_id in rows if tel_path(DL1_TEL_PARAMETERS_GROUP, tel_id) in h5}
    for tel_id, tel_rows in rows.items():
        node = tel_path(DL1_TEL_PARAMETERS_GROUP, tel_id)
        if tel_id not in present:
            if tel_rows:
                raise SST1MInputError(f"{path}: {node} missing although events were written")
            continue
        table = read_table(path, node)
        ids = np.array([(r[0], r[1]) for r in tel_rows], dtype=np.int64).reshape(-1, 2)
        if len(table) != len(ids) or np.any(np.asarray(table["event_id"]) != ids[:, 1]):
            raise SST1MInputError(
                f"{path}: {node} rows do not match the processed events; cannot add nsb_level"
            )
        table["nsb_level"] = np.array([r[2] for r in tel_rows], dtype=np.float32)
        table["nsb_level"].description = DESCRIPTION
        write_table(table, path, node, overwrite=True)


def complete_dl1_file(path, target, write_monitoring=None, nsb_rows=None):
    """Finish a closed DL1 file before it is committed as ``target``.

    Calls ``write_monitoring(path)`` if given, checks that no write was lost
    (`check_written`), adds the ``nsb_level`` column when ``nsb_rows`` is given, checks again.
    """
    if write_monitoring is not None:
        write_monitoring(path)
    check_written(path, name=target)
    if nsb_rows is not None:
        add_nsb_column(path, nsb_rows)
        check_written(path, name=target)
