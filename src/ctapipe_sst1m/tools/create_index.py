"""sst1m-create-index: hdu-index and obs-index over DL3 files of one or many nights.

Paths in the index are relative to the index directory; a good-run table (``sst1m-data-
quality``) leaves out the observations with a run flagged bad for their telescope setup.
"""

from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import List, Unicode
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..dl3.index import write_index

__all__ = ["CreateIndexTool", "main"]


class CreateIndexTool(SST1MTool, Tool):
    """Write hdu-index.fits.gz and obs-index.fits.gz for DL3 files."""

    name = "sst1m-create-index"
    description = __doc__
    examples = """
    sst1m-create-index -i night1/dl3 night2/dl3 -o index
    sst1m-create-index -i dl3 -o dl3 --good-runs good_runs.ecsv
    """
    input_paths = List(Unicode(), help="DL3 files or directories (dl3_*.fits.gz).").tag(config=True)
    index_dir = PathTrait(
        None, allow_none=True, file_ok=False, help="Directory receiving the index files."
    ).tag(config=True)
    good_runs = PathTrait(
        None, allow_none=True, exists=True, directory_ok=False,
        help="Good-run table (ECSV or FITS: obs_id, tel_setup, good, flags).",
    ).tag(config=True)  # fmt: skip
    aliases = {
        ("i", "input"): "CreateIndexTool.input_paths",
        ("o", "output"): "CreateIndexTool.index_dir",
        "good-runs": "CreateIndexTool.good_runs",
    }

    def setup(self):
        if not self.input_paths or self.index_dir is None:
            raise ToolConfigurationError("give -i DL3_DIR... -o INDEX_DIR")

    def start(self):
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.indexed, self.excluded = write_index(
            self.input_paths, self.index_dir, good_runs=self.good_runs
        )

    def finish(self):
        print(
            f"index of {len(self.indexed)} observation(s) in {self.index_dir}"
            + (f"; {len(self.excluded)} excluded by the good-run table" if self.excluded else "")
        )


def main():
    CreateIndexTool().run()


if __name__ == "__main__":
    main()
