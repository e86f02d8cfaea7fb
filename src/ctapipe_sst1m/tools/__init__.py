"""Command-line tools (ctapipe ``Tool`` subclasses); each module holds one tool and ``main``."""
