"""The ctapipe internals behind ctapipe_sst1m.compat exist in the pinned ctapipe."""

import astropy.units as u
import numpy as np
import tables
from astropy.table import Table
from ctapipe.core import Tool
from ctapipe.io import write_table
from ctapipe.reco import DispReconstructor, EnergyRegressor

from ctapipe_sst1m import compat
from ctapipe_sst1m.instrument import sst1m_subarray


class _Dummy(Tool):
    name = "dummy"

    def start(self):
        pass


def test_models_and_disp_predict():
    example_subarray = sst1m_subarray()
    regressor = EnergyRegressor(example_subarray, model_cls="RandomForestRegressor")
    assert compat.models_of(regressor) == {}
    disp = DispReconstructor(
        example_subarray, norm_cls="RandomForestRegressor", sign_cls="RandomForestClassifier"
    )
    assert compat.has_stock_disp_predict(disp)


def test_positive_class_index():
    class Fake:
        def _get_positive_index(self, key):
            return 7 if key == "k" else -1

    assert compat.positive_class_index(Fake(), "k") == 7


def test_column_metadata(tmp_path):
    path = tmp_path / "t.h5"
    table = Table({"x": np.arange(3.0) * u.deg})
    table["x"].description = "an angle"
    write_table(table, path, "/t")
    with tables.open_file(path) as h5:
        transforms, descriptions, meta = compat.column_metadata(h5.root.t)
    assert descriptions["x"] == "an angle"
    assert "x" in transforms
    assert isinstance(meta, dict)


def test_exit_stack():
    tool = _Dummy()
    assert compat.exit_stack(tool) is tool._exit_stack
