"""Configuration translation: sst1mpipe JSON configurations → ctapipe-sst1m YAML
(:mod:`.sst1mpipe`, used by ``sst1m-convert-config``).

Reading and checking this package's own configurations is in :mod:`ctapipe_sst1m.core.config`.
"""

from .sst1mpipe import (
    FEATURE_NAME_MAP,
    LATER_STAGE_KEYS,
    Sst1mpipeConfigError,
    TranslationNote,
    convert_sst1mpipe_config,
    read_sst1mpipe_config,
    render_yaml,
    tel_id_from_key,
)

__all__ = [
    "FEATURE_NAME_MAP",
    "LATER_STAGE_KEYS",
    "Sst1mpipeConfigError",
    "TranslationNote",
    "convert_sst1mpipe_config",
    "read_sst1mpipe_config",
    "render_yaml",
    "tel_id_from_key",
]
