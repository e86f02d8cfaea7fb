"""One schema for the configurations this package writes (``sst1m-convert-config``,
``sst1m-dump-config``, ``sst1m-tune-nsb``) and the comparison of two of them.

The schema is the one of traitlets: a section names a configurable class, a key one of its
configurable traits, a nested section a child class configured under its parent
(`~ctapipe_sst1m.core.config.check_config` refuses anything else). Two files that configure
the same classes may still *spell* it differently — ``CameraCalibrator: {LocalPeakWindowSum:
{...}}`` or ``LocalPeakWindowSum: {...}``; ``[[type, "*", 1.0]]`` or ``[[id, 21, 1.0], [id,
22, 1.0]]`` — so `flatten_config` brings them to one form, ``{"Class.trait": value}``, with
nested sections hoisted to their class (the nested value wins, as in traitlets), telescope
parameters resolved for the SST-1M telescope ids (compared for the ids both give), physical
quantities in SI units and quality criteria reduced to their expressions. `compare_configs`
lists what differs.
"""

import astropy.units as u

from ..core.config import check_config

__all__ = ["TELESCOPE_IDS", "compare_configs", "flatten_config", "validate"]

#: the MC (1, 2) and observed (21, 22) telescope ids at which telescope parameters are compared
TELESCOPE_IDS = (1, 2, 21, 22)


def validate(config, source="configuration"):
    """Raise `~ctapipe_sst1m.core.errors.SST1MInputError` unless ``config`` fits the schema."""
    check_config(config, source=source)


def _is_telescope_parameter(value):
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(v, list | tuple) and len(v) == 3 and v[0] in ("type", "id") for v in value
        )
    )


def _resolve(value):
    """``{tel_id: value}`` of a telescope-parameter list (the last matching pattern, ids over
    types; every type pattern matches, as SST-1M has one telescope type)."""
    out = {}
    for tel_id in TELESCOPE_IDS:
        by_type = [item for kind, _, item in value if kind == "type"]
        by_id = [item for kind, pattern, item in value if kind == "id" and int(pattern) == tel_id]
        if by_id or by_type:
            out[tel_id] = (by_id or by_type)[-1]
    return out


def _quantity(value):
    """``"10.0 ms"`` → (0.01, "s"); other values unchanged."""
    if isinstance(value, str) and " " in value.strip():
        try:
            q = u.Quantity(value)
        except (TypeError, ValueError):
            return value
        if q.unit != u.dimensionless_unscaled:
            q = q.si
            return (round(float(q.value), 12), q.unit.to_string())
    return value


def _deep(value):
    """Quantities normalised at any depth (cleaning sets are lists of dicts with durations)."""
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(v) for v in value]
    return _quantity(value)


def _normalise(key, value):
    if key.endswith("quality_criteria") and isinstance(value, list):
        return [c[1] if isinstance(c, list | tuple) and len(c) == 2 else c for c in value]
    if _is_telescope_parameter(value):
        return {tel: _deep(v) for tel, v in _resolve(value).items()}
    return _deep(value)


def _equal(a, b):
    """Equal values; per-telescope values are compared for the telescopes both give."""
    if isinstance(a, dict) and isinstance(b, dict) and all(isinstance(k, int) for k in {*a, *b}):
        common = a.keys() & b.keys()
        return bool(common) and all(a[k] == b[k] for k in common)
    return a == b


def flatten_config(config):
    """``{"Class.trait": value}`` of a configuration (a ``Config`` or nested dict)."""
    top, nested = {}, {}

    def walk(section, values, depth):
        for key, value in values.items():
            if isinstance(value, dict) and key[:1].isupper():
                walk(key, value, depth + 1)
            else:
                target = top if depth == 0 else nested
                target[f"{section}.{key}"] = _normalise(key, value)

    for name, values in config.items():
        if isinstance(values, dict):
            walk(name, values, 0)
    return {**top, **nested}


def compare_configs(a, b):
    """``(only_in_a, only_in_b, differing)``: sorted key lists of two flattened configs."""
    fa, fb = flatten_config(a), flatten_config(b)
    only_a = sorted(fa.keys() - fb.keys())
    only_b = sorted(fb.keys() - fa.keys())
    differing = sorted(k for k in fa.keys() & fb.keys() if not _equal(fa[k], fb[k]))
    return only_a, only_b, differing
