"""What ``sst1m-r0-dl1`` counts while it runs, and the summary it prints at the end."""

from collections import Counter, defaultdict

import numpy as np

__all__ = ["RunBookkeeping"]


class RunBookkeeping:
    """Event types, per-event NSB levels, flagged pixels and cleaning survivors of one run."""

    def __init__(self):
        self.event_types = Counter()
        self.nsb_rows = defaultdict(list)
        self.n_images = Counter()
        self.n_surviving = Counter()
        self.flagged = {}
        self.tel_ids = set()

    def count(self, event):
        """Count the type of every event read (before any filter)."""
        self.event_types[event.trigger.event_type.name] += 1
        self.tel_ids.update(int(t) for t in event.trigger.tels_with_trigger)

    def record(self, event, monitor):
        """Record a written event: its NSB level (for the nsb_level column) and its images."""
        for tel_id, dl1 in event.dl1.tel.items():
            level = monitor.nsb_level(tel_id)
            self.nsb_rows[tel_id].append(
                (event.index.obs_id, event.index.event_id, np.nan if level is None else level)
            )
            self.n_images[tel_id] += 1
            if dl1.image_mask is not None and dl1.image_mask.any():
                self.n_surviving[tel_id] += 1
            mask = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask
            if mask is not None:
                self.flagged[tel_id] = int(np.count_nonzero(mask))

    def summary_text(self, name, output_path, monitor):
        """The short human-readable summary (one line per telescope)."""
        types = ", ".join(f"{t} {n}" for t, n in sorted(self.event_types.items()))
        lines = [f"{name}: {output_path}", f"  events by type: {types or 'none'}"]
        for tel_id in sorted(set(self.n_images) | self.tel_ids | set(monitor.telescopes)):
            info = monitor.summary(tel_id)
            level = info.get("nsb_level")
            level_text = "unknown" if level is None else f"{level:.2f} p.e."
            lines.append(
                f"  tel {tel_id}: NSB level {level_text} (bin {info.get('nsb_rate')!r}, from"
                f" {info.get('source')}, {info.get('n_pedestal_events', 0)} pedestal events),"
                f" pixels flagged {self.flagged.get(tel_id, 0)},"
                f" saturated pixels {info.get('n_pixels_saturated', 0)}"
                f" ({info.get('n_pixels_reintegrated', 0)} re-integrated),"
                f" images surviving cleaning {self.n_surviving[tel_id]}/{self.n_images[tel_id]}"
            )
        return "\n".join(lines)
