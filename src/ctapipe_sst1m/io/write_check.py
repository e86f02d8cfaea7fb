"""Re-export of :func:`ctapipe_sst1m.core.write_check.check_written` (the check lives in
``core`` so that every atomic output runs it on commit)."""

from ..core.write_check import check_written

__all__ = ["check_written"]
