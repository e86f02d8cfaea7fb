"""Cross-cutting helpers shared by all tools: the `SST1MTool` mixin (one error idiom, checked
configuration, checked atomic outputs, clean interruption), atomic outputs, configuration
reading, input-path expansion and signal handling."""

from .arguments import reject_extra_arguments
from .atomic import PendingOutput, atomic_output, atomic_savefig
from .config import check_config, packaged_config_path, read_config_file
from .errors import SST1MInputError, describe_os_error
from .paths import expand_input_paths
from .signals import Interrupted, deferred_interruption, interruptible, raise_if_interrupted
from .tool import SST1MTool, check_writable_directory

__all__ = [
    "Interrupted",
    "PendingOutput",
    "SST1MInputError",
    "SST1MTool",
    "atomic_output",
    "atomic_savefig",
    "check_config",
    "check_writable_directory",
    "deferred_interruption",
    "describe_os_error",
    "expand_input_paths",
    "interruptible",
    "packaged_config_path",
    "raise_if_interrupted",
    "read_config_file",
    "reject_extra_arguments",
]
