"""The one-page summary of a production: ``PROD/summary.md``.

Per node and telescope setup, from the files of ``sst1m-performance``
(``PROD/performance/<node>/performance_<setup>.fits.gz``): energy threshold, energy resolution
and 68 % angular resolution at 1, 3 and 10 TeV (true energy), the best 50 h differential
sensitivity (fraction of the Crab flux, and its energy) and the median gamma/hadron AUC; then
the model bank and the IRF bank as written. A missing or failed product is shown as such, so
the summary of a partly failed production says what is missing.
"""

import hashlib
import io
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..compat import models_of
from ..core.errors import SST1MInputError
from ..version import __version__
from .layout import read_record

__all__ = [
    "forest_fingerprint",
    "model_fingerprints",
    "node_performance",
    "summary_text",
    "write_summary",
]

ENERGIES_TEV = (1.0, 3.0, 10.0)


def _at(hdu, column, energy):
    data = hdu.data
    inside = (data["ENERG_LO"] <= energy) & (energy < data["ENERG_HI"])
    values = data[column][inside]
    return float(values[0]) if len(values) and np.isfinite(values[0]) else None


def node_performance(path):
    """Figures of one ``performance_<setup>.fits.gz`` (None where a bin is empty)."""
    with fits.open(path) as hdul:
        energy = hdul["ENERGY BIAS RESOLUTION"]
        angular = hdul["ANGULAR RESOLUTION"]
        sens = hdul["SENSITIVITY"].data
        auc = hdul["ROC"].data["AUC"]
        result = {
            "threshold_tev": hdul["EFFECTIVE AREA"].header.get("E_THRES"),
            "energy_resolution": {e: _at(energy, "RESOLUTION", e) for e in ENERGIES_TEV},
            "angular_resolution_deg": {
                e: _at(angular, "ANGULAR_RESOLUTION_68", e) for e in ENERGIES_TEV
            },
            "auc": float(np.nanmedian(auc)) if np.isfinite(auc).any() else None,
            "sensitivity": None,
        }
        relative = np.asarray(sens["RELATIVE_SENSITIVITY"], dtype=float)
        result["background_mc"] = int(np.sum(sens["N_BACKGROUND_MC"]))
        if np.isfinite(relative).any():
            best = int(np.nanargmin(relative))
            center = np.sqrt(sens["ENERG_LO"][best] * sens["ENERG_HI"][best])
            result["sensitivity"] = (float(relative[best]), float(center))
    return result


def forest_fingerprint(forest):
    """SHA-256 of the trees of a scikit-learn forest (split features, thresholds, leaves).

    Two trainings with the same samples and seeds give the same fingerprint, although their
    pickles differ (they embed the time of training and the paths of the inputs).
    """
    digest = hashlib.sha256()
    for tree in forest.estimators_:
        t = tree.tree_
        for array in (t.feature, t.threshold, t.value, t.children_left, t.children_right):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def model_fingerprints(model_dir):
    """``{"<mode>/<kind>": fingerprint}`` of a model directory's forests.

    Each model file is unpickled only after its SHA-256 matched the one in ``models.json``
    (a model directory is code, see the DL2 guide).
    """
    import joblib

    from ..reco.metadata import read_models_json

    model_dir = Path(model_dir)
    result = {}
    for mode, kinds in sorted(read_models_json(model_dir).get("modes", {}).items()):
        for kind, entry in sorted(kinds.items()):
            data = (model_dir / entry["file"]).read_bytes()
            if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise SST1MInputError(
                    f"{model_dir / entry['file']}: SHA-256 differs from models.json;"
                    " the model file was modified, retrain the node"
                )
            reco = joblib.load(io.BytesIO(data))
            digest = hashlib.sha256()
            for _, value in sorted(models_of(reco).items(), key=lambda kv: str(kv[0])):
                for forest in value if isinstance(value, tuple) else (value,):
                    digest.update(forest_fingerprint(forest).encode())
            result[f"{mode}/{kind}"] = digest.hexdigest()[:16]
    return result


def _fmt(value, pattern):
    return "–" if value is None else pattern.format(value)


def summary_text(layout, production):
    """The Markdown text of the summary."""
    record = read_record(layout.record) or {}
    lines = [
        f"# MC production {production.name or layout.root.name}",
        "",
        f"ctapipe-sst1m {__version__} (record: `production.yaml`, package"
        f" {record.get('package_version', 'unknown')}); MC source {production.mc_source};"
        f" seed {production.seed}; {len(production.nodes)} node(s).",
        "",
        "## Performance per node (sst1m-performance)",
        "",
        "| node | setup | E_thr [TeV] | ΔE/E at 1 / 3 / 10 TeV | θ68 [deg] at 1 / 3 / 10 TeV"
        " | best 50 h sensitivity [Crab] at E [TeV] | median AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    for node in production.nodes:
        for setup in production.tel_setups:
            path = layout.performance_file(node.name, setup)
            if not path.is_file():
                lines.append(f"| {node.name} | {setup} | not produced | | | | |")
                continue
            p = node_performance(path)
            eres = " / ".join(_fmt(p["energy_resolution"][e], "{:.2f}") for e in ENERGIES_TEV)
            ares = " / ".join(_fmt(p["angular_resolution_deg"][e], "{:.3f}") for e in ENERGIES_TEV)
            sens = "– (no MC proton left after the cuts)" if not p["background_mc"] else "–"
            if p["sensitivity"] is not None:
                sens = f"{p['sensitivity'][0]:.3g} at {p['sensitivity'][1]:.3g}"
            lines.append(
                f"| {node.name} | {setup} | {_fmt(p['threshold_tev'], '{:.2f}')} | {eres}"
                f" | {ares} | {sens} | {_fmt(p['auc'], '{:.3f}')} |"
            )
    lines += ["", "## Model bank (`models/`, read by sst1m-dl1-dl2)", ""]
    for node in production.nodes:
        model_dir = layout.model_dir(node.name)
        if not (model_dir / "models.json").is_file():
            lines.append(f"* `models/{node.name}/`: missing")
            continue
        prints = ", ".join(f"{k} {v}" for k, v in model_fingerprints(model_dir).items())
        lines.append(f"* `models/{node.name}/`: forest fingerprints {prints}")
    irf_files = sorted(layout.irf.glob("*/*/SST1M_*.fits.gz"))
    lines += [
        "",
        f"## IRF bank (`irf/`, {len(irf_files)} file(s); listing `irf/bank.ecsv`)",
        "",
    ]
    lines += [f"* `{Path(f).relative_to(layout.root)}`" for f in irf_files]
    lines += [
        "",
        "Figures per node and setup: `performance/<node>/*.png`; task logs: `logs/<stage>/`;"
        " what ran: `manifest.json`.",
        "",
    ]
    return "\n".join(lines)


def write_summary(layout, production):
    """Write ``PROD/summary.md`` (atomically) and return its path."""
    text = summary_text(layout, production)
    layout.root.mkdir(parents=True, exist_ok=True)
    pending = layout.summary.with_name(f".{layout.summary.name}.part")
    pending.write_text(text)
    pending.replace(layout.summary)
    return layout.summary
