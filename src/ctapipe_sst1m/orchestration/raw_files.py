"""Finding a night's raw or DL1 files, and what they observed, quickly.

* :func:`parse_run_name`: telescope, date and run of ``SST1M{1|2}_YYYYMMDD_RRRR.*``;
* :func:`events_header_cards`: the cards of a raw file's ``Events`` HDU read straight from the
  FITS blocks (about 0.3 ms instead of ~6 ms through astropy, so that a 500-run night is planned
  in well under a second); ``None`` if the file is not FITS or has no such HDU;
* :func:`observation_pointing`: the ICRS pointing of a DL1 file's observation block;
* :func:`match_catalogue`: the catalogue source nearest to a pointing (a wobble is 0.4° off).
"""

import re
from pathlib import Path

import numpy as np

__all__ = [
    "RunName",
    "events_header_cards",
    "match_catalogue",
    "observation_pointing",
    "parse_run_name",
]

_BLOCK = 2880
_NAME = re.compile(r"^SST1M(?P<cam>[12])_(?P<date>\d{8})_(?P<run>\d{4,})(?P<rest>\..*)?$")
#: camera number of the file name (SST1M1, SST1M2) -> telescope id
CAMERA_TEL_ID = {1: 21, 2: 22}


class RunName:
    """Telescope id, camera number (1, 2), date ``YYYYMMDD`` and run number of a file name."""

    __slots__ = ("camera", "date", "run", "tel_id")

    def __init__(self, camera, date, run):
        self.camera, self.date, self.run = camera, date, run
        self.tel_id = CAMERA_TEL_ID[camera]

    @property
    def stem(self):
        """``SST1M<cam>_<date>_<run:04d>``."""
        return f"SST1M{self.camera}_{self.date}_{self.run:04d}"


def parse_run_name(path):
    """`RunName` of ``SST1M{1|2}_YYYYMMDD_RRRR.<ext>``, or None for any other name."""
    match = _NAME.match(Path(path).name)
    if match is None:
        return None
    return RunName(int(match["cam"]), match["date"], int(match["run"]))


def _value(text):
    text = text.split("/", 1)[0].strip() if not text.lstrip().startswith("'") else text
    text = text.strip()
    if text.startswith("'"):
        end = text.find("'", 1)
        while end != -1 and text[end + 1 : end + 2] == "'":  # doubled quote inside a string
            end = text.find("'", end + 2)
        return text[1:end].replace("''", "'").rstrip()
    if text in ("T", "F"):
        return text == "T"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


_STRUCTURE = {"SIMPLE", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTNAME"}


def _read_header(f, keys):
    cards = {}
    while True:
        block = f.read(_BLOCK)
        if len(block) < _BLOCK:
            return None
        text = block.decode("ascii", errors="replace")
        for i in range(0, _BLOCK, 80):
            card = text[i : i + 80]
            key = card[:8].strip()
            if key == "END":
                return cards
            if card[8:10] != "= " or key in cards:
                continue
            if keys is None or key in keys or key in _STRUCTURE or key.startswith("NAXIS"):
                cards[key] = _value(card[10:])


def events_header_cards(path, keys=None, extname="Events"):
    """Cards ``{keyword: value}`` of the HDU ``extname`` of a FITS file, or None (never raises).

    With ``keys`` (a set of keywords), only those (and the structural keywords) are parsed.
    """
    try:
        with open(path, "rb") as f:
            primary = _read_header(f, keys)
            if primary is None or primary.get("SIMPLE") is not True:
                return None
            header = primary
            for _ in range(64):  # HDUs before the wanted one: skip their data
                naxis = [header.get(f"NAXIS{i}", 0) for i in range(1, header.get("NAXIS", 0) + 1)]
                size = abs(header.get("BITPIX", 8)) // 8 * header.get("GCOUNT", 1)
                size *= header.get("PCOUNT", 0) + (int(np.prod(naxis)) if naxis else 0)
                f.seek(-(-size // _BLOCK) * _BLOCK, 1)
                header = _read_header(f, keys)
                if header is None:
                    return None
                if str(header.get("EXTNAME", "")).upper() == extname.upper():
                    return header
    except (OSError, ValueError, TypeError):
        return None
    return None


def observation_pointing(path):
    """``(ra_deg, dec_deg)`` of the first observation block of a ctapipe DL1 file, or None."""
    import tables

    from ..io.datamodel import OBSERVATION_BLOCK_TABLE

    try:
        with tables.open_file(path, "r") as h5:
            row = h5.get_node(OBSERVATION_BLOCK_TABLE)[0]
            ra, dec = float(row["subarray_pointing_lon"]), float(row["subarray_pointing_lat"])
    except Exception:  # noqa: BLE001 - unreadable file: the caller reports it
        return None
    if not (np.isfinite(ra) and np.isfinite(dec)):
        return None
    return ra, dec


def match_catalogue(ra, dec, catalogue, radius_deg):
    """Name of the catalogue source nearest to (ra, dec) within ``radius_deg``, or None.

    ``catalogue`` is a sequence of ``(name, ra_deg, dec_deg)``.
    """
    best, best_sep = None, radius_deg
    ra1, dec1 = np.radians(ra), np.radians(dec)
    for name, ra2, dec2 in catalogue:
        ra2, dec2 = np.radians(ra2), np.radians(dec2)
        cos = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(ra1 - ra2)
        sep = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        if sep <= best_sep:
            best, best_sep = name, sep
    return best
