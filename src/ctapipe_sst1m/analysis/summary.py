"""``summary.json``: every key number of a high-level analysis and the provenance of its inputs.

The provenance record lists each index directory with the SHA-256 of its index files, and each
observation used with its DL3 file (path, SHA-256, size) and the header cards that say how it was
made (creator, telescope setup, IRF interpolation, model hashes when present), plus the versions
of the package, gammapy and ctapipe.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["provenance_record", "sha256", "to_jsonable", "write_json"]

#: EVENTS header cards copied into the provenance record when present
PROVENANCE_CARDS = (
    "OBS_ID", "OBJECT", "DATE-OBS", "TIME-OBS", "LIVETIME", "DEADC", "TELSETUP", "TELLIST",
    "INSTRUME", "CREATOR", "IRF_METH", "IRF_NODE", "IRF_COSZ", "CFGHASH", "E_SHA256",
    "D_SHA256", "C_SHA256", "GH_CUT", "GH_EFF", "RAD_MAX", "N_RUNS",
)  # fmt: skip


def sha256(path, chunk=1 << 20):
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def to_jsonable(value):
    """Numbers, arrays, quantities and paths → plain JSON types (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "unit") and hasattr(value, "value"):
        return {"value": to_jsonable(value.value), "unit": str(value.unit)}
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path, data):
    """Write ``data`` as indented JSON."""
    with open(path, "w") as stream:
        json.dump(to_jsonable(data), stream, indent=2)
        stream.write("\n")


def provenance_record(index_dirs, event_files):
    """Inputs of an analysis: index directories and the DL3 file of every observation.

    Parameters
    ----------
    index_dirs : list of Path
    event_files : dict
        obs_id → DL3 file path.
    """
    import ctapipe
    import gammapy

    from .. import __version__

    record = {
        "versions": {
            "ctapipe_sst1m": __version__,
            "gammapy": gammapy.__version__,
            "ctapipe": ctapipe.__version__,
        },
        "index_dirs": [],
        "observations": [],
    }
    for index_dir in index_dirs:
        files = {}
        for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
            path = Path(index_dir) / name
            if path.is_file():
                files[name] = sha256(path)
        record["index_dirs"].append({"path": str(Path(index_dir).absolute()), "sha256": files})
    for obs_id, path in event_files.items():
        entry = {"obs_id": int(obs_id), "file": str(path)}
        if Path(path).is_file():
            entry["sha256"] = sha256(path)
            entry["size"] = Path(path).stat().st_size
            header = fits.getheader(path, "EVENTS")
            entry["header"] = {k: header[k] for k in PROVENANCE_CARDS if k in header}
        record["observations"].append(entry)
    return record
