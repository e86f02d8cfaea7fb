"""Model metadata: versions, training configuration and hashes stored with every model.

Each trained model is a stock ctapipe reconstructor pickle (so ``ctapipe-apply-models`` reads
it). Beside the pickles a model directory holds ``models.json`` (`MODELS_JSON`) with the package,
ctapipe, scikit-learn, numpy and Python versions, the training configuration, the feature lists,
the pointing/NSB node and the SHA-256 of each model file. The same dictionary is also attached
to each pickled reconstructor as attribute ``sst1m_metadata``.

Loading a model made by a different scikit-learn minor version is refused with a one-line
message *before* unpickling (tree pickles are not portable between scikit-learn versions and
silently wrong predictions cost lstchain users whole productions).

Trust: unpickling runs code. `load_model` therefore reads a model file's bytes, compares
their SHA-256 with the hash recorded in ``models.json`` and unpickles them only on a match, so
a model file replaced after training is refused before any of its code runs. ``models.json``
itself is trusted: whoever can write a model directory can make it run code (see the DL2 guide).

Uncompressed models are plain pickles (protocol 5), compressed ones joblib files: stock
`ctapipe.reco.Reconstructor.read` (``joblib.load``) reads both. `load_model` reads the file in
one system call, hashes the bytes in memory and unpickles plain pickles with Python's C
unpickler from the same bytes.
"""

import hashlib
import io
import json
import pickle
import platform
import warnings
import weakref
from datetime import UTC, datetime
from pathlib import Path

import ctapipe
import joblib
import numpy as np
import sklearn
from ctapipe.core import Provenance
from ctapipe.core.provenance import MissingReferenceMetadata
from ctapipe.reco import DispReconstructor, Reconstructor
from ctapipe.reco.sklearn import SKLearnReconstructor
from sklearn.exceptions import InconsistentVersionWarning

from ..compat import models_of
from ..core import SST1MInputError, atomic_output
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
    "read_model_bytes",
]

#: Name of the metadata file of a model directory.
MODELS_JSON = "models.json"


class IncompatibleModelError(SST1MInputError):
    """A model file or ``models.json`` cannot be used (modified, unreadable, other versions)."""


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

    ``compress`` is joblib's zlib level; 0 (the default) writes a plain pickle (protocol 5),
    which loads about four times faster than a compressed joblib file (0.2 s instead of
    0.85 s for a 150-tree forest grown on 10⁵ rows, 190 MB instead of 68 MB at level 3).
    `joblib.load`, hence stock ctapipe, reads both.
    """
    reconstructor.sst1m_metadata = metadata
    reconstructor.n_jobs = None
    # the estimators keep the training's n_jobs (-1 in the defaults) unless told: the pickle
    # must not decide how many cores a later DL2 run uses
    trained = isinstance(reconstructor, SKLearnReconstructor | DispReconstructor)
    for models in (models_of(reconstructor) if trained else {}).values():
        for model in models if isinstance(models, tuple | list) else (models,):
            if hasattr(model, "n_jobs"):
                model.n_jobs = None
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            if compress:
                joblib.dump(reconstructor, f, compress=compress)
            else:
                pickle.dump(reconstructor, f, protocol=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingReferenceMetadata)
        Provenance().add_output_file(
            str(path), role=f"{reconstructor.__class__.__name__}-model", add_meta=False
        )
    return Path(path)


def read_models_json(model_dir):
    """The metadata dictionary of a model directory; one-line errors if missing or corrupt."""
    path = Path(model_dir) / MODELS_JSON
    if not path.is_file():
        raise IncompatibleModelError(
            f"{model_dir} is not an SST-1M model directory (no {MODELS_JSON});"
            " create one with sst1m-train-models"
        )
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IncompatibleModelError(
            f"{path}: not a readable {MODELS_JSON} ({type(err).__name__}: {err});"
            " restore it or retrain the models with sst1m-train-models"
        ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("modes", {}), dict):
        raise IncompatibleModelError(
            f"{path}: not an SST-1M {MODELS_JSON} (no mapping of modes); restore it or retrain"
            " the models with sst1m-train-models"
        )
    return meta


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


class _JoblibFile(Exception):
    """The pickle stream holds joblib array wrappers: it must be read by joblib."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.split(".")[0] == "joblib":
            raise _JoblibFile(module)
        return super().find_class(module, name)


def _unpickle(data):
    """The object of model file bytes: plain pickles by the C unpickler, joblib files by joblib."""
    if data[:1] == b"\x80":  # a pickle stream; joblib's compressed files are not
        try:
            return _PlainUnpickler(io.BytesIO(data)).load()
        except _JoblibFile:
            pass
    return joblib.load(io.BytesIO(data))


def read_model_bytes(path, expected_sha256=None):
    """The bytes of a model file, after comparing their SHA-256 with ``expected_sha256``.

    Raises `IncompatibleModelError` if the file cannot be read or its hash differs: a model
    file is only unpickled (which runs code) once its bytes are known to be the ones
    recorded at training time.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise IncompatibleModelError(
            f"{path}: cannot read the model file ({err.strerror}); restore it or retrain"
        ) from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise IncompatibleModelError(
            f"{path}: file hash differs from {MODELS_JSON}; the model was modified after"
            " training and is not unpickled; retrain or restore it"
        )
    return data


def load_model(path, subarray=None, expected_sha256=None, parent=None, **kwargs):
    """Read a reconstructor pickle, refusing modified files and incompatible scikit-learn.

    What `ctapipe.reco.Reconstructor.read` does (``parent``, ``subarray`` and ``kwargs`` are
    set on the loaded instance, the file is recorded in the provenance), plus, in this order:
    the scikit-learn version stored in ``models.json`` beside ``path`` is checked; the file's
    bytes are read and their SHA-256 compared with ``expected_sha256`` (no code of a
    modified file runs); only then are they unpickled, scikit-learn's
    `~sklearn.exceptions.InconsistentVersionWarning` turned into `IncompatibleModelError` (covers
    pickles without metadata) and any unpickling failure into one line.
    """
    path = Path(path)
    meta_path = path.parent / MODELS_JSON
    if meta_path.is_file():
        trained_with = read_models_json(path.parent).get("sklearn_version")
        if trained_with is not None:
            check_sklearn_version(trained_with, path)
    data = read_model_bytes(path, expected_sha256)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            instance = _unpickle(data)
        except InconsistentVersionWarning as warning:
            raise IncompatibleModelError(
                f"{path}: pickled with scikit-learn {warning.original_sklearn_version},"
                f" installed is {warning.current_sklearn_version}; retrain the models with"
                " sst1m-train-models"
            ) from None
        except Exception as err:  # noqa: BLE001 - any failure of a foreign byte stream
            raise IncompatibleModelError(
                f"{path}: not a readable model file ({type(err).__name__}: {err});"
                " retrain it with sst1m-train-models"
            ) from None
    del data
    if not isinstance(instance, Reconstructor):
        raise IncompatibleModelError(
            f"{path}: holds a {type(instance).__name__}, not a ctapipe reconstructor"
        )
    if parent is not None:
        instance.parent = weakref.proxy(parent)
        instance.log = parent.log.getChild(instance.__class__.__name__)
    if subarray is not None:
        if set(instance.subarray.telescope_types) != set(subarray.telescope_types):
            instance.log.warning(
                "Supplied subarray has different telescopes than subarray loaded from file"
            )
        instance.subarray = subarray
    for attr, value in kwargs.items():
        setattr(instance, attr, value)
    with warnings.catch_warnings():
        # ctapipe looks for CTAO reference metadata that pickles cannot carry
        warnings.simplefilter("ignore", MissingReferenceMetadata)
        Provenance().add_input_file(str(path), role="reconstructor", add_meta=False)
    return instance
