"""Regenerate the packaged DigiCam reference pulses from the reference array file.

The measured single-photo-electron pulses of the two SST-1M cameras are stored in the readout
tables of ``sst1m_array.h5`` (sst1mpipe-data; 1520 points at 0.1 ns per camera, tel 21 and
tel 22 differ). This script copies them, unchanged, into the small numeric table that the
package ships (``src/ctapipe_sst1m/resources/digicam_reference_pulses.ecsv``) and that
:func:`ctapipe_sst1m.instrument.digicam_readout` reads::

    python scripts/make_reference_pulses.py \\
        --reference ../shared/reference/sst1mpipe-data/sst1m_array.h5

The table records the name and SHA-256 of the file it was made from;
``tests/instrument/test_reference_pulses.py`` compares it with that file. Values are written
with full float64 precision (ECSV uses ``repr``), so the copy is exact.
"""

import argparse
import hashlib
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from ctapipe.instrument import SubarrayDescription

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "src" / "ctapipe_sst1m" / "resources" / "digicam_reference_pulses.ecsv"
TEL_IDS = (21, 22)
#: the sample width of the table; the file stores 0.1 ns as float32 (0.10000000149 ns)
SAMPLE_WIDTH = 0.1 * u.ns


def sha256(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reference_pulse_table(reference_path):
    """Table with one column ``tel_0XX`` per camera holding its measured reference pulse."""
    subarray = SubarrayDescription.from_hdf(reference_path, focal_length_choice="EQUIVALENT")
    table = Table()
    for tel_id in TEL_IDS:
        readout = subarray.tel[tel_id].camera.readout
        width = readout.reference_pulse_sample_width
        if not u.isclose(width, SAMPLE_WIDTH, rtol=1e-6):
            raise ValueError(f"{reference_path}: tel {tel_id} pulse sampled at {width}, not 0.1 ns")
        if readout.reference_pulse_shape.shape[0] != 1:
            raise ValueError(f"{reference_path}: tel {tel_id} has more than one gain channel")
        table[f"tel_{tel_id:03d}"] = np.asarray(readout.reference_pulse_shape[0], dtype=np.float64)
        table[
            f"tel_{tel_id:03d}"
        ].description = f"measured DigiCam reference pulse of telescope {tel_id} (arbitrary units)"
    table.meta["sample_width_ns"] = float(SAMPLE_WIDTH.to_value(u.ns))
    table.meta["source_file"] = Path(reference_path).name
    table.meta["source_sha256"] = sha256(reference_path)
    table.meta["generator"] = "scripts/make_reference_pulses.py"
    table.meta["comment"] = (
        "sample i is at time i * sample_width_ns; MC telescopes 1 and 2 use the pulses of 21 and 22"
    )
    return table


def main(argv=None):
    """Command-line entry: write the table (see the module documentation)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="path of sst1m_array.h5")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="output table (default: the package's)"
    )
    args = parser.parse_args(argv)
    table = reference_pulse_table(args.reference)
    table.write(args.output, format="ascii.ecsv", overwrite=True)
    print(f"{args.output}: {len(table)} samples for telescopes {TEL_IDS}")
    return args.output


if __name__ == "__main__":
    main()
