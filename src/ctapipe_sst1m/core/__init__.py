"""Cross-cutting helpers shared by all tools: atomic outputs and input-path expansion."""

from .atomic import PendingOutput, atomic_output, atomic_savefig
from .paths import expand_input_paths

__all__ = ["PendingOutput", "atomic_output", "atomic_savefig", "expand_input_paths"]
