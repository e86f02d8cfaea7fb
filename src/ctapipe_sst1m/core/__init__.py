"""Cross-cutting helpers shared by all tools: atomic outputs, input-path expansion and the
refusal of stray command-line words."""

from .arguments import reject_extra_arguments
from .atomic import PendingOutput, atomic_output, atomic_savefig
from .paths import expand_input_paths

__all__ = [
    "PendingOutput",
    "atomic_output",
    "atomic_savefig",
    "expand_input_paths",
    "reject_extra_arguments",
]
