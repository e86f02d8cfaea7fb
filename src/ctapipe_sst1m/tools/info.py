"""sst1m-info: print the SST-1M instrument summary and draw the camera and the array."""

from pathlib import Path

from ctapipe.core import Provenance, Tool
from ctapipe.core.traits import Enum
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool, atomic_savefig
from ..instrument import SST1MArrayLayout
from ..instrument.summary import instrument_summary, plot_array, plot_camera

__all__ = ["InstrumentInfoTool", "main"]


class InstrumentInfoTool(SST1MTool, Tool):
    """Print the SST-1M instrument description built offline and write pictures of it.

    The camera picture shows the 1296 DigiCam pixels coloured by software pixel id in
    ctapipe's CameraFrame; the array picture shows the telescope positions at Ondřejov.
    """

    name = "sst1m-info"
    description = __doc__
    examples = """
sst1m-info                          # summary only
sst1m-info --output-dir plots       # summary + plots/digicam_camera.png, plots/sst1m_array.png
sst1m-info --numbering mc           # MC telescope ids 1 and 2
"""

    output_dir = PathTrait(
        default_value=None,
        allow_none=True,
        directory_ok=True,
        file_ok=False,
        help="Directory for the PNG pictures; no pictures are written when unset.",
    ).tag(config=True)
    numbering = Enum(
        ["data", "mc"],
        default_value="data",
        help="Telescope numbering: data (21, 22) or simulation (1, 2).",
    ).tag(config=True)
    aliases = {
        ("d", "output-dir"): "InstrumentInfoTool.output_dir",
        "numbering": "InstrumentInfoTool.numbering",
        ("c", "config"): "Tool.config_files",
    }
    classes = [SST1MArrayLayout]

    def setup(self):
        self.layout = SST1MArrayLayout(parent=self)
        tel_ids = (21, 22) if self.numbering == "data" else (1, 2)
        self.subarray = self.layout.subarray(tel_ids)
        self.pictures = []
        if self.output_dir is not None:
            out = Path(self.output_dir)
            self.pictures = [out / "digicam_camera.png", out / "sst1m_array.png"]
            # refuse early, before any work, if a picture exists and --overwrite is not given
            self.check_output(*self.pictures)

    def start(self):
        print(instrument_summary(self.subarray))

    def finish(self):
        if not self.pictures:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        camera_png, array_png = self.pictures
        geometry = next(iter(self.subarray.tel.values())).camera.geometry

        fig, ax = plt.subplots(figsize=(7.5, 7), layout="constrained")
        plot_camera(geometry, ax=ax)
        self._save(fig, camera_png)

        fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
        plot_array(self.subarray, ax=ax)
        self._save(fig, array_png)

    def _save(self, fig, path):
        import matplotlib.pyplot as plt

        try:
            atomic_savefig(fig, path, overwrite=True, dpi=120)
        finally:
            plt.close(fig)
        Provenance().add_output_file(str(path), role="instrument picture", add_meta=False)
        self.log.info("wrote %s", path)
        print(f"wrote {path}")


def main():
    """Run :class:`InstrumentInfoTool`."""
    InstrumentInfoTool().run()


if __name__ == "__main__":
    main()
