"""Model metadata: versions, training configuration and hashes stored with every model.

Each trained model is a stock ctapipe reconstructor pickle (so ``ctapipe-apply-models`` reads
it). Beside the pickles a model directory holds ``models.json`` (`MODELS_JSON`) with the package,
ctapipe, scikit-learn, numpy and Python versions, the training configuration, the feature lists,
the pointing/NSB node and the SHA-256 of each model file. The same dictionary is also attached
to each pickled reconstructor as attribute ``sst1m_metadata``.

Loading a model made by a different scikit-learn minor version is refused with a one-line
message *before* unpickling (tree pickles are not portable between scikit-learn versions and
silently wrong predictions cost lstchain users whole productions).
"""

import hashlib
import json
import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path

import ctapipe
import joblib
import numpy as np
import sklearn
from ctapipe.core import Provenance
from ctapipe.core.provenance import MissingReferenceMetadata
from ctapipe.reco import Reconstructor
from sklearn.exceptions import InconsistentVersionWarning

from ..core import atomic_output
from ..version import __version__

__all__ = [
    "MODELS_JSON",
    "IncompatibleModelError",
    "model_metadata",
    "file_sha256",
    "write_model",
    "read_models_json",
    "write_models_json",
    "check_sklearn_version",
    "load_model",
]

#: Name of the metadata file of a model directory.
MODELS_JSON = "models.json"


class IncompatibleModelError(RuntimeError):
    """A model file cannot be used with the installed software."""


def model_metadata(config=None, node=None, extra=None):
    """Versions of the software producing a model, plus its configuration and node.

    Parameters
    ----------
    config : dict or None
        Training configuration (JSON-serialisable).
    node : dict or None
        Observation node the models are valid for (``zenith_deg``, ``azimuth_deg``, ``nsb``).
    extra : dict or None
        Further entries (e.g. feature lists).
    """
    meta = {
        "ctapipe_sst1m_version": __version__,
        "ctapipe_version": ctapipe.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config or {},
        "node": node,
    }
    if extra:
        meta.update(extra)
    return meta


def file_sha256(path):
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_model(reconstructor, path, metadata, overwrite=False, compress=0):
    """Pickle a ctapipe reconstructor atomically with ``metadata`` attached.

    ``compress`` is joblib's zlib level (0: none). Uncompressed forests load about four times
    faster (0.13 s instead of 0.53 s for a 150-tree forest grown on 10⁵ rows) for files about
    three times larger; `joblib.load` reads both.
    """
    reconstructor.sst1m_metadata = metadata
    reconstructor.n_jobs = None
    # the estimators keep the training's n_jobs (-1 in the defaults) unless told: the pickle
    # must not decide how many cores a later DL2 run uses
    for models in getattr(reconstructor, "_models", {}).values():
        for model in models if isinstance(models, tuple | list) else (models,):
            if hasattr(model, "n_jobs"):
                model.n_jobs = None
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            joblib.dump(reconstructor, f, compress=compress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingReferenceMetadata)
        Provenance().add_output_file(
            str(path), role=f"{reconstructor.__class__.__name__}-model", add_meta=False
        )
    return Path(path)


def read_models_json(model_dir):
    """The metadata dictionary of a model directory; a clear error if it is missing."""
    path = Path(model_dir) / MODELS_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"{model_dir} is not an SST-1M model directory (no {MODELS_JSON});"
            " create one with sst1m-train-models"
        )
    return json.loads(path.read_text())


def write_models_json(model_dir, metadata, overwrite=True):
    """Write ``models.json`` atomically."""
    path = Path(model_dir) / MODELS_JSON
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str))
    return path


def _minor(version):
    return tuple(int(p) for p in str(version).split(".")[:2] if p.isdigit())


def check_sklearn_version(trained_with, source):
    """Raise `IncompatibleModelError` unless ``trained_with`` has the installed minor version."""
    if _minor(trained_with) != _minor(sklearn.__version__):
        raise IncompatibleModelError(
            f"{source}: models were trained with scikit-learn {trained_with}, installed is"
            f" {sklearn.__version__}; retrain them with sst1m-train-models or install"
            f" scikit-learn=={trained_with}"
        )


def load_model(path, subarray=None, expected_sha256=None, **kwargs):
    """Read a reconstructor pickle, refusing incompatible scikit-learn versions.

    The version stored in ``models.json`` beside ``path`` is checked first; scikit-learn's own
    `~sklearn.exceptions.InconsistentVersionWarning` raised while unpickling is turned into
    `IncompatibleModelError` too (covers pickles without metadata).
    """
    path = Path(path)
    meta_path = path.parent / MODELS_JSON
    if meta_path.is_file():
        check_sklearn_version(read_models_json(path.parent)["sklearn_version"], path)
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise IncompatibleModelError(
            f"{path}: file hash differs from {MODELS_JSON}; the model was modified after"
            " training, retrain or restore it"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        # ctapipe looks for CTAO reference metadata that pickles cannot carry
        warnings.simplefilter("ignore", MissingReferenceMetadata)
        try:
            return Reconstructor.read(path, subarray=subarray, **kwargs)
        except InconsistentVersionWarning as warning:
            raise IncompatibleModelError(
                f"{path}: pickled with scikit-learn {warning.original_sklearn_version},"
                f" installed is {warning.current_sklearn_version}; retrain the models with"
                " sst1m-train-models"
            ) from None
