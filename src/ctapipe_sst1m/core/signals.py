"""Turn SIGTERM and SIGINT into a clean, catchable interruption of a Tool.

A batch system stops a job with SIGTERM, whose default action kills the process at once: the
Tool's exit stack never runs, so temporary outputs stay behind and nothing says what happened.
:func:`interruptible` installs handlers that raise :class:`Interrupted` (a ``KeyboardInterrupt``,
so ctapipe's ``Tool.run`` reports it, closes its exit stack and exits with status 130).

Raising inside compiled (numba) code turns into a ``SystemError``. Loops that call compiled code
therefore *defer* the interruption: inside :func:`deferred_interruption` the first signal only
sets a flag, and :func:`raise_if_interrupted` (called once per event by the loop) raises it at a
safe point. A second signal raises at once.
"""

import signal
import threading
from contextlib import contextmanager

__all__ = [
    "Interrupted",
    "deferred_interruption",
    "interruptible",
    "raise_if_interrupted",
]

_HANDLED = (signal.SIGTERM, signal.SIGINT)
_state = {"deferred": 0, "pending": None}


class Interrupted(KeyboardInterrupt):
    """The process received SIGTERM or SIGINT."""

    def __init__(self, signum):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    if _state["deferred"] and _state["pending"] is None:
        _state["pending"] = signum
        return
    raise Interrupted(signum)


@contextmanager
def interruptible():
    """Install the SIGTERM/SIGINT handlers for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _HANDLED}
    for sig in _HANDLED:
        signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _state["pending"] = None


@contextmanager
def deferred_interruption():
    """Inside this block, the first signal waits for the next :func:`raise_if_interrupted`."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
    raise_if_interrupted()


def raise_if_interrupted():
    """Raise :class:`Interrupted` if a signal arrived while the interruption was deferred."""
    signum = _state["pending"]
    if signum is not None:
        _state["pending"] = None
        raise Interrupted(signum)
