"""Image processing: the SST-1M image cleaner (`ImageCleanerSST`).

Importing this module registers `ImageCleanerSST` with ctapipe, so that
``ImageProcessor.image_cleaner_type: ImageCleanerSST`` is accepted; the SST-1M event-source
module imports it for that reason.
"""

from .cleaning import (
    DEFAULT_CLEANING_SETS,
    CleaningSet,
    CleaningSetList,
    CleaningSetsParameter,
    ImageCleanerSST,
    nsb_level_from_monitoring,
    pedestal_picture_thresholds,
    select_cleaning_set,
    sst1m_clean,
    time_delta_clean,
)

__all__ = [
    "DEFAULT_CLEANING_SETS",
    "CleaningSet",
    "CleaningSetList",
    "CleaningSetsParameter",
    "ImageCleanerSST",
    "nsb_level_from_monitoring",
    "pedestal_picture_thresholds",
    "select_cleaning_set",
    "sst1m_clean",
    "time_delta_clean",
]
