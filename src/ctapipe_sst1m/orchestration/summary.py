"""Human-readable reports of a workflow: the end-of-run summary and the ``--status`` table."""

from pathlib import Path

__all__ = ["format_plan", "format_status", "format_summary"]

_ORDER = ("done", "up-to-date", "would-run", "pending", "failed", "blocked", "interrupted")


def _count_line(stage, counts, width):
    parts = [f"{counts[s]} {s}" for s in _ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in _ORDER]
    return f"  {stage:<{width}}  {sum(counts.values()):5d} tasks: {', '.join(parts)}"


def format_summary(summary, max_failures=20):
    """One screen: counts per stage, then each failure with its log (at most ``max_failures``)."""
    counts = summary.counts()
    width = max((len(s) for s in counts), default=5)
    n_failed = len(summary.failed)
    verdict = "all tasks succeeded" if not n_failed else f"{n_failed} task(s) did not succeed"
    lines = [f"workflow: {len(summary.tasks)} tasks in {summary.wall_time_s:.1f} s, {verdict}"]
    lines += [_count_line(stage, c, width) for stage, c in counts.items()]
    failures = [k for k in summary.failed if summary.statuses[k] != "blocked"]
    blocked = [k for k in summary.failed if summary.statuses[k] == "blocked"]
    by_key = {t.key: t for t in summary.tasks}
    if failures:
        lines.append("failures (log files):")
    for key in failures[:max_failures]:
        entry = summary.entries.get(key, {})
        status = summary.statuses[key]
        reason = summary.reasons.get(key) or entry.get("message", "")
        lines.append(f"  {status:<11} {key}: {by_key[key].log}")
        if reason:
            lines.append(f"              {reason}")
    if len(failures) > max_failures:
        lines.append(f"  … and {len(failures) - max_failures} more (see --status)")
    if blocked:
        lines.append(f"blocked (not run because a task they depend on failed): {len(blocked)}")
    if summary.manifest_path is not None:
        lines.append(f"manifest: {summary.manifest_path}")
    return "\n".join(lines)


def format_plan(summary):
    """The ``--dry-run`` listing: every task with its status, reason, inputs and outputs."""
    lines = []
    for task in summary.tasks:
        status = summary.statuses[task.key]
        reason = summary.reasons.get(task.key, "")
        lines.append(f"[{status}] {task.key}" + (f" ({reason})" if reason else ""))
        lines.append(f"    $ {' '.join(task.command)}")
        for path in task.inputs:
            lines.append(f"    < {path}")
        for path in task.outputs:
            lines.append(f"    > {path}")
    counts = summary.counts()
    width = max((len(s) for s in counts), default=5)
    lines += ["plan:"] + [_count_line(stage, c, width) for stage, c in counts.items()]
    return "\n".join(lines)


def format_status(manifest, root=None):
    """The ``--status`` table of a manifest: one row per task, then counts per stage."""
    root = Path(root) if root is not None else None
    rows = [("stage", "status", "exit", "seconds", "task", "log")]
    for entry in sorted(manifest.tasks.values(), key=lambda e: (e.get("stage", ""), e["key"])):
        log = entry.get("log") or ""
        if root is not None and log.startswith(str(root)):
            log = str(Path(log).relative_to(root))
        duration = entry.get("duration_s")
        rows.append(
            (
                entry.get("stage", "?"),
                entry.get("status", "?"),
                "" if entry.get("exit_code") is None else str(entry["exit_code"]),
                "" if duration is None else f"{duration:.1f}",
                entry["key"],
                log if entry.get("status") != "done" else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    ]
    counts = manifest.status_counts()
    width = max((len(s) for s in counts), default=5)
    lines += [""] + [_count_line(stage, c, width) for stage, c in counts.items()]
    updated = f"(written {manifest.updated})" if manifest.updated else ""
    lines.append(f"manifest: {manifest.path} {updated}".rstrip())
    return "\n".join(line.rstrip() for line in lines)
