"""sst1m-dl1-dl2: apply SST-1M models to a DL1 file (mono or stereo) and write ctapipe DL2.

The output is what stock ``ctapipe-apply-models`` writes (the input copied, the same DL2
tables, readable by ``TableLoader``), produced by the table-level path of
:mod:`ctapipe_sst1m.reco.apply`, plus what SST-1M needs around it (:mod:`ctapipe_sst1m.reco.
dl2_models`): the model node nearest to the file's pointing (and NSB level), mono or stereo
models chosen from the file, MC models of telescopes 1/2 used for data telescopes 21/22
(``telescope_map``), model files hashed and compared with ``models.json`` before they are
unpickled, RA/Dec of the stereo direction for observed data, and the models (paths, SHA-256,
node) in ``/dl2/sst1m_models`` and in the provenance log. The output appears atomically.
"""

import json

from ctapipe.core import Provenance, ToolConfigurationError
from ctapipe.core.traits import CaselessStrEnum, Dict, Float, Int, flag
from ctapipe.core.traits import Path as PathTrait
from ctapipe.io import HDF5Merger
from ctapipe.tools.apply_models import ApplyModels
from tqdm.auto import tqdm

from ..core import SST1MTool, deferred_interruption, raise_if_interrupted
from ..reco.dl2_models import check_features, has_stereo_features, open_dl1_file, prepare_models
from ..reco.dl2_writer import DL2Writer
from ..reco.model_bank import NodeSelector

__all__ = ["DL1ToDL2Tool", "main", "has_stereo_features"]


class DL1ToDL2Tool(SST1MTool, ApplyModels):
    """Apply SST-1M energy, disp and gamma/hadron models (mono or stereo) to a DL1 file."""

    name = "sst1m-dl1-dl2"
    description = __doc__
    examples = """
    sst1m-dl1-dl2 -i run.dl1.h5 -m models/ -o run.dl2.h5             # mode from file + models
    sst1m-dl1-dl2 -i run.dl1.h5 -m model_bank/ -o run.dl2.h5 --mode mono --nsb 1.5
    """

    model_dir = PathTrait(
        default_value=None,
        allow_none=True,
        exists=True,
        directory_ok=True,
        file_ok=False,
        help="Model directory written by sst1m-train-models, or a bank of such directories.",
    ).tag(config=True)
    mode = CaselessStrEnum(
        ["auto", "mono", "stereo"],
        default_value="auto",
        help="Which models to apply; auto = stereo if the file has stereo features and the"
        " models include stereo ones, else mono.",
    ).tag(config=True)
    nsb_level = Float(
        None, allow_none=True, help="NSB level of the observation used to choose the node."
    ).tag(config=True)
    telescope_map = Dict(
        default_value={21: 1, 22: 2},
        help="Telescope id in the file -> telescope id of the training MC whose model it uses,"
        " applied when the file's telescope description has no model of its own.",
    ).tag(config=True)
    compression_type = CaselessStrEnum(
        ["blosc:zstd", "blosc:lz4", "blosc:blosclz", "zlib"],
        default_value="blosc:lz4",
        help="Compression of the DL2 tables written (the copied input keeps its own).",
    ).tag(config=True)
    compression_level = Int(
        1,
        min=0,
        max=9,
        help="Compression level of the DL2 tables. With blosc:lz4 levels 1 to 9 write at about"
        " the same speed (higher: slightly smaller tables); with blosc:zstd level 1 writes about"
        " four times faster than ctapipe's default 5 for tables about 10 % larger.",
    ).tag(config=True)

    # -r/--reconstructor of ctapipe-apply-models is not offered: models come from a model
    # directory, whose models.json holds the hashes checked before unpickling
    aliases = {
        **{k: v for k, v in ApplyModels.aliases.items() if k != ("r", "reconstructor")},
        ("m", "models"): "DL1ToDL2Tool.model_dir",
        "mode": "DL1ToDL2Tool.mode",
        "nsb": "DL1ToDL2Tool.nsb_level",
        ("c", "config"): "Tool.config_files",
    }
    # stock ApplyModels wires --progress/--no-progress to ProcessorTool.progress_bar, a trait
    # of another tool, so the flag never reaches it (ctapipe 0.32); ours sets our own trait
    flags = {
        **ApplyModels.flags,
        **flag(
            "progress",
            "DL1ToDL2Tool.progress_bar",
            "show a progress bar while applying the models",
            "don't show a progress bar",
        ),
    }
    # the models are unpickled, not configured: only the copy and the node choice have options
    classes = [HDF5Merger, NodeSelector]

    def setup(self):
        if self.input_url is None or self.output_path is None or self.model_dir is None:
            raise ToolConfigurationError("give -i DL1 -m MODEL_DIR -o DL2")
        if self.reconstructor_paths:
            raise ToolConfigurationError(
                "ApplyModels.reconstructor_paths is not read by sst1m-dl1-dl2; give a model"
                " directory with -m (or use ctapipe-apply-models for single model files)"
            )
        output = self.prepare_output(self.output_path)
        input_file = self.enter_context(open_dl1_file(self.input_url))
        selector = NodeSelector(parent=self)
        self.choice, recos, subarray = prepare_models(
            input_file, self.input_url, self.model_dir, self.mode, self.nsb_level, selector,
            self.telescope_map, parent=self, n_jobs=self.n_jobs,
        )  # fmt: skip
        compression = (self.compression_type, self.compression_level)
        self.writer = self.enter_context(
            DL2Writer(input_file, output, subarray, recos, self.choice, parent=self,
                      chunk_size=self.chunk_size or 100_000, compression=compression)
        )  # fmt: skip
        check_features(recos, self.choice, self.writer.reader.first(1000), subarray, self.input_url)

    def start(self):
        """Apply the models chunk by chunk and append the DL2 tables to the output."""
        n_events, off = self.writer.reader.n_events, not self.progress_bar
        bar = tqdm(total=n_events, desc="Applying models", unit=" array events", disable=off)
        with bar, deferred_interruption():
            for chunk in self.writer.reader:
                self.writer.write_chunk(chunk)
                bar.update(chunk.stop - chunk.start)
                raise_if_interrupted()

    def finish(self):
        self.writer.finish(json.dumps(self.get_current_config(), default=str))
        Provenance().add_output_file(str(self.writer.output.target), role="DL2")
        self.log.info("DL2 written to %s (%s mode)", self.writer.output.target, self.choice.mode)


def main():
    DL1ToDL2Tool().run()


if __name__ == "__main__":
    main()
