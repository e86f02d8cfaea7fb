"""sst1m-irf-bank: list the nodes of an IRF bank (from the files' headers, no index file).

Prints one line per IRF file (telescope setup, node, exact pointing, NSB, IRF type, cut,
event class, HDUs) and checks that the files of each telescope setup share their axes (DL3
interpolation between nodes needs identical binning); ``--output`` also writes the listing
as ECSV.
"""

import sys

import numpy as np
from ctapipe.core import Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import SST1MTool
from ..irf.bank import check_axes, list_bank

__all__ = ["IrfBankTool", "main"]

GROUP = ("tel_setup", "type", "cut", "evtclass")


class IrfBankTool(SST1MTool, Tool):
    """List the IRF nodes of a bank written by sst1m-make-irfs."""

    name = "sst1m-irf-bank"
    description = __doc__
    examples = """
    sst1m-irf-bank BANK
    sst1m-irf-bank BANK --output bank.ecsv
    """
    bank = PathTrait(
        None, allow_none=True, exists=True, file_ok=False, help="IRF bank directory."
    ).tag(config=True)
    output_path = PathTrait(
        None, allow_none=True, directory_ok=False, help="Optional ECSV file receiving the listing."
    ).tag(config=True)
    overwrite = Bool(False, help="Replace an existing listing file.").tag(config=True)
    aliases = {"bank": "IrfBankTool.bank", ("o", "output"): "IrfBankTool.output_path"}
    flags = flag(
        "overwrite",
        "IrfBankTool.overwrite",
        "Replace an existing listing file.",
        "Refuse to replace an existing listing file.",
    )

    def initialize(self, argv=None):
        """The bank directory may be given as the first (positional) argument."""
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv and not argv[0].startswith("-"):
            argv[0] = f"--bank={argv[0]}"
        super().initialize(argv)

    def setup(self):
        if self.bank is None:
            raise ToolConfigurationError("give the bank directory: sst1m-irf-bank BANK")
        self.pending = None
        if self.output_path is not None:
            self.pending = self.prepare_output(self.output_path, suffix=".ecsv")

    def start(self):
        self.table = list_bank(self.bank)
        if len(self.table) == 0:
            raise ToolConfigurationError(
                f"{self.bank}: no IRF files (BANK/<setup>/<node>/*.fits.gz)"
            )
        for line in self.table[
            "tel_setup", "node", "zenith", "azimuth", "nsb", "type", "cut", "evtclass", "file"
        ].pformat(max_lines=-1, max_width=-1):
            print(line)
        # interpolation mixes the nodes of one kind of file: compare like with like
        for key in sorted({tuple(r) for r in self.table["tel_setup", "type", "cut", "evtclass"]}):
            rows = self.table[
                np.all([self.table[c] == v for c, v in zip(GROUP, key, strict=True)], axis=0)
            ]
            differ = check_axes([self.bank / f for f in rows["file"]])
            label = " ".join(str(k) for k in key)
            if differ:
                self.log.warning("%s: axes differ between nodes: %s", label, ", ".join(differ))
            print(
                f"{label}: {len(set(rows['node']))} node(s), {len(rows)} file(s),"
                f" axes {'DIFFER: ' + ', '.join(differ) if differ else 'identical'}"
            )

    def finish(self):
        if self.pending is not None:
            self.table.write(self.pending.path, format="ascii.ecsv", overwrite=True)
            self.pending.commit()


def main():
    IrfBankTool().run()


if __name__ == "__main__":
    main()
