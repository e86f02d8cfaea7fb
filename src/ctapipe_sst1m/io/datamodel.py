"""The HDF5 data model of the package in one place.

ctapipe's own nodes are spelled with the constants of `ctapipe.io.hdf5dataformat` (re-exported
here so that a module needs one import); the nodes that only this package writes are defined
below. No other module spells an HDF5 path as a literal.
"""

from ctapipe.io.hdf5dataformat import (
    DL0_TEL_POINTING_GROUP,
    DL1_IMAGE_STATISTICS_TABLE,
    DL1_SKY_PEDESTAL_IMAGE_GROUP,
    DL1_SUBARRAY_POINTING_GROUP,
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL1_TEL_IMAGES_GROUP,
    DL1_TEL_MONITORING_GROUP,
    DL1_TEL_PARAMETERS_GROUP,
    DL1_TEL_TRIGGER_TABLE,
    DL2_SUBARRAY_GEOMETRY_GROUP,
    DL2_SUBARRAY_GROUP,
    DL2_TEL_GROUP,
    FIXED_POINTING_GROUP,
    OBSERVATION_BLOCK_TABLE,
    SCHEDULING_BLOCK_TABLE,
    SHOWER_DISTRIBUTION_TABLE,
    SIMULATION_IMPACT_GROUP,
    SIMULATION_RUN_TABLE,
    SIMULATION_SHOWER_TABLE,
)

__all__ = [
    "CALIBRATION_FILES_TABLE",
    "DL0_TEL_POINTING_GROUP",
    "DL1_IMAGE_STATISTICS_TABLE",
    "DL1_SKY_PEDESTAL_IMAGE_GROUP",
    "DL1_SUBARRAY_POINTING_GROUP",
    "DL1_SUBARRAY_TRIGGER_TABLE",
    "DL1_TEL_IMAGES_GROUP",
    "DL1_TEL_MONITORING_GROUP",
    "DL1_TEL_PARAMETERS_GROUP",
    "DL1_TEL_TRIGGER_TABLE",
    "DL2_MODELS_TABLE",
    "DL2_SUBARRAY_GEOMETRY_GROUP",
    "DL2_SUBARRAY_GROUP",
    "DL2_SUBARRAY_SKY_GROUP",
    "DL2_TEL_GROUP",
    "DL2_TEL_IMPACT_GROUP",
    "FIXED_POINTING_GROUP",
    "INSTRUMENT_LAYOUT_TABLE",
    "OBSERVATION_BLOCK_TABLE",
    "PEDESTAL_CHUNK_GROUP",
    "PEDESTAL_HISTOGRAM_GROUP",
    "PEDESTAL_MONITORING_GROUP",
    "PROCESSING_RECORD_NODE",
    "SCHEDULING_BLOCK_TABLE",
    "SHOWER_DISTRIBUTION_TABLE",
    "SIMULATION_IMPACT_GROUP",
    "SIMULATION_RUN_TABLE",
    "SIMULATION_SHOWER_TABLE",
    "STEREO_MATCHING_TABLE",
    "tel_node",
    "tel_path",
]

#: the subarray layout written by ctapipe's ``SubarrayDescription.to_hdf`` (no ctapipe constant)
INSTRUMENT_LAYOUT_TABLE = "/configuration/instrument/subarray/layout"
#: rolling (causal) pedestal statistics and NSB level, one table per telescope
PEDESTAL_MONITORING_GROUP = f"{DL1_TEL_MONITORING_GROUP}/pedestal"
#: fixed time-window pedestal statistics (``--px-charges``), ctapipe pixel-statistics layout
PEDESTAL_CHUNK_GROUP = DL1_SKY_PEDESTAL_IMAGE_GROUP
#: camera-wide histogram of pedestal pixel charges (``--px-charges``)
PEDESTAL_HISTOGRAM_GROUP = f"{DL1_TEL_MONITORING_GROUP}/pedestal_charge_histogram"
#: diagnostics of the stereo event matching
STEREO_MATCHING_TABLE = "/dl1/service/stereo_matching"
#: models applied by sst1m-dl1-dl2 (paths, SHA-256, node)
DL2_MODELS_TABLE = "/dl2/sst1m_models"
#: impact distance per telescope and reconstructor, as ctapipe's DataWriter names it
DL2_TEL_IMPACT_GROUP = f"{DL2_TEL_GROUP}/impact"
#: RA/Dec of the reconstructed direction of observed data, one table per geometry prefix
DL2_SUBARRAY_SKY_GROUP = f"{DL2_SUBARRAY_GROUP}/sky"


def tel_node(tel_id):
    """ctapipe's name of a telescope's table, ``tel_021``."""
    return f"tel_{int(tel_id):03d}"


def tel_path(group, tel_id):
    """Path of a telescope's table in ``group``, e.g. ``…/parameters/tel_021``."""
    return f"{group}/{tel_node(tel_id)}"


#: calibration inputs of the R0→R1 step (telescope, kind, path, SHA-256), written with DL1
CALIBRATION_FILES_TABLE = "/configuration/sst1m/calibration_files"
#: processing configuration (extraction, cleaning, NSB bin) a product was made with
PROCESSING_RECORD_NODE = "/configuration/sst1m/processing"
