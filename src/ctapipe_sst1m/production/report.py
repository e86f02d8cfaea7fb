"""The one-page summary of a production (``PROD/summary.md``)."""

__all__ = ["write_summary"]


def write_summary(layout, production):
    path = layout.summary
    path.write_text(f"# {production.name}\n")
    return path
