"""Write the night summary: one multi-page PDF and a static HTML page with the same PNGs.

``OUT/night_summary.pdf`` (matplotlib ``PdfPages``, one figure per page), ``OUT/index.html``
(plain HTML, no script, no server: open the file in any browser) with ``OUT/figures/*.png``,
and ``OUT/dq_table.ecsv`` (the DQ table shown). Pages: processing status and files, then per
target: DL1 and DL2 rates vs time, NSB vs time, zenith, differential intensity rates per
wobble and setup (with the MC expectation when given), centre-of-gravity maps (DL1, DL2
gamma-like), White-Rabbit Δt (stereo), Moon, θ² per setup; last the DQ table.
"""

import html
import shutil
import tempfile
from pathlib import Path

import astropy.units as u
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from . import figures

__all__ = ["HTML_COLUMNS", "PendingDirectory", "build_pages", "write_summary"]


class PendingDirectory:
    """A temporary directory beside ``target`` that replaces it on :meth:`commit`.

    Leaving the ``with`` block without a commit (an error, an interruption) removes it, so a
    half-written summary never appears under the final name.
    """

    def __init__(self, target):
        self.target = Path(target)
        prefix = f".{self.target.name}."
        self.path = Path(tempfile.mkdtemp(prefix=prefix, suffix=".part", dir=self.target.parent))

    def commit(self):
        """Move the completed directory onto the target (an existing one is replaced)."""
        if self.target.exists():
            shutil.rmtree(self.target)
        self.path.rename(self.target)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


#: DQ-table columns shown in the HTML page
HTML_COLUMNS = (
    "obs_id", "tel_setup", "target", "wobble", "good", "zenith", "livetime", "rate_cleaned",
    "nsb_level", "light_yield", "light_yield_error", "moon_altitude", "wr_dt_spread", "flags",
)  # fmt: skip


def _status_lines(files, manifest_rows, manifest_problem, skipped):
    lines, colors = [], []
    counts = {}
    for row in manifest_rows:
        counts.setdefault(row["stage"], {}).setdefault(row["status"], 0)
        counts[row["stage"]][row["status"]] += 1
    lines.append("Processing status (nightly manifest)" if manifest_rows else manifest_problem)
    colors.append("black")
    for stage, by_status in counts.items():
        text = ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
        lines.append(f"  {stage or '?'}: {text}")
        colors.append("red" if set(by_status) - {"done"} else "black")
    failed = [r for r in manifest_rows if r["status"] not in ("done", "pending")]
    if failed:
        lines.append("Failed or blocked tasks:")
        colors.append("red")
        for r in failed:
            lines.append(
                f"  {r['key']} [{r['status']}, exit {r['exit_code']}] {r['message']}"
                f" log: {r['log']}"
            )
            colors.append("red")
    lines.append(
        f"Files: {len(files.hdf5)} HDF5, {len(files.dl3)} DL3, DQ tables {len(files.dq_tables)}"
    )
    colors.append("black")
    for path, why in skipped:
        lines.append(f"  skipped {path.name}: {why}")
        colors.append("darkorange")
    return lines, colors, failed


def build_pages(acc, table, files, manifest_rows, manifest_problem, mc_rate=None):
    """List of (section, name, caption, figure) of the summary."""
    pages = []
    lines, colors, failed = _status_lines(files, manifest_rows, manifest_problem, acc.skipped)
    pages.append(
        (
            "Night",
            "status",
            "Processing status and files",
            figures.status_figure("Night", lines, colors),
        )
    )
    for target in sorted(acc.targets):
        setups = dict(sorted(acc.targets[target].items()))
        t = str(target)
        slug = "".join(c if c.isalnum() else "_" for c in t)
        pages.append(
            (
                t,
                f"{slug}_dl1_rate",
                "DL1 event rate (events surviving cleaning)",
                figures.rate_figure(setups, t, 1),
            )
        )
        pages.append(
            (
                t,
                f"{slug}_dl2_rate",
                "DL2 event rate (reconstructed events)",
                figures.rate_figure(setups, t, 2, "DL2 events"),
            )
        )
        pages.append((t, f"{slug}_nsb", "NSB level vs time", figures.nsb_figure(setups, t)))
        pages.append((t, f"{slug}_zenith", "Zenith", figures.zenith_figure(setups, t)))
        for name, summary in setups.items():
            rate = None if mc_rate is None else (lambda q, z, n=name: mc_rate(n, q, z))
            pages.append(
                (
                    t,
                    f"{slug}_{name}_intensity",
                    f"{name}: intensity rates per wobble",
                    figures.intensity_figure(summary, t, rate),
                )
            )
            pages.append(
                (
                    t,
                    f"{slug}_{name}_cog",
                    f"{name}: CoG of DL1 images",
                    figures.cog_figure(summary, t),
                )
            )
            if summary.cog_gamma:
                pages.append(
                    (
                        t,
                        f"{slug}_{name}_cog_gamma",
                        f"{name}: CoG of gamma-like DL2 events",
                        figures.cog_figure(summary, t, gamma=True),
                    )
                )
            if name == "stereo":
                pages.append((t, f"{slug}_wr_dt", "White-Rabbit Δt", figures.dt_figure(summary, t)))
        pages.append((t, f"{slug}_moon", "Moon geometry", figures.moon_figure(setups, t)))
        pages.append(
            (t, f"{slug}_theta2", "θ² and Li & Ma per setup", figures.theta2_figure(setups, t))
        )
    pages.append(
        (
            "Data quality",
            "dq_table",
            "DQ table (flagged rows in red)",
            figures.dq_table_figure(table, "DQ table"),
        )
    )
    return pages, lines, colors, failed  # fmt: skip


def _table_html(table):
    if table is None or len(table) == 0:
        return "<p>No DQ rows.</p>"
    cols = [c for c in HTML_COLUMNS if c in table.colnames]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"]
    for row in table:
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, u.Quantity):
                v = f"{v.value:.3g} {v.unit}"
            elif isinstance(v, (float, np.floating)):
                v = f"{v:.3g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        cls = "" if row["good"] else ' class="flagged"'
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_summary(out_dir, pages, table, status_lines, failed, title):
    """Write the PDF, the PNGs and ``index.html`` into ``out_dir`` (an existing directory)."""
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    body = [f"<h1>{html.escape(title)}</h1>"]
    if failed:
        body.append(
            '<p class="flagged">Failed tasks: '
            + html.escape(", ".join(r["key"] for r in failed))
            + "</p>"
        )
    body.append("<pre>" + html.escape("\n".join(status_lines)) + "</pre>")
    section = None
    with PdfPages(out_dir / "night_summary.pdf") as pdf:
        for sec, name, caption, fig in pages:
            pdf.savefig(fig)
            png = fig_dir / f"{name}.png"
            fig.savefig(png, dpi=80)
            if sec != section:
                body.append(f"<h2>{html.escape(sec)}</h2>")
                section = sec
            body.append(
                f'<figure><img src="figures/{png.name}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        info = pdf.infodict()
        info["Title"] = title
    body.append("<h2>DQ table</h2>")
    body.append(_table_html(table))
    style = (
        "body{font-family:sans-serif;margin:1em}img{max-width:100%}"
        "table{border-collapse:collapse;font-size:small}"
        "td,th{border:1px solid #999;padding:2px 4px}"
        ".flagged{color:#b00;background:#fee}"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    (out_dir / "index.html").write_text(page, encoding="utf-8")
    return out_dir / "index.html"
