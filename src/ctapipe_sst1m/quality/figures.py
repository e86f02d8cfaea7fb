"""The figures of the night summary: each function takes aggregates and returns a Figure.

Times on the x axes are UTC; every figure says what it shows (the sst1mpipe summary called
the DL1 rate of events surviving cleaning a "trigger rate", spec quirk 41).
"""

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from astropy.time import Time  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .night import COG_EDGES, DT_EDGES, INTENSITY_EDGES  # noqa: E402

__all__ = [
    "cog_figure",
    "dq_table_figure",
    "dt_figure",
    "intensity_figure",
    "moon_figure",
    "nsb_figure",
    "rate_figure",
    "status_figure",
    "theta2_figure",
    "zenith_figure",
]

COLORS = {"tel_021": "tab:blue", "tel_022": "tab:orange", "stereo": "tab:green"}


def _dates(t):
    return Time(np.asarray(t, dtype=float), format="unix_tai").utc.datetime


def _time_axis(ax):
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("UTC")


def _empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def rate_figure(setups, title, column=1, what="DL1 events surviving cleaning"):
    """Event rate in time bins per setup (``column`` 1: DL1, 2: DL2) and a zoom."""
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 1)
    medians = []
    for name, summary in setups.items():
        data = np.array(summary.rate_time, dtype=float).reshape(-1, 3)
        values = data[:, column]
        if len(data) == 0 or not np.isfinite(values).any():
            continue
        for ax in axes:
            ax.plot(_dates(data[:, 0]), values, ".", ms=3, color=COLORS.get(name), label=name)
        medians.append(np.nanmedian(values))
    if not medians:
        for ax in axes:
            _empty(ax, f"no {what}")
    else:
        axes[0].legend()
        axes[1].set_ylim(0, 2 * max(medians) if max(medians) > 0 else 1)
        for ax in axes:
            ax.set_ylabel("rate [Hz]")
            _time_axis(ax)
        axes[1].set_title("zoom: 0 – 2 × the largest median")
    fig.suptitle(f"{title}: rate of {what}")
    fig.tight_layout()
    return fig


def nsb_figure(setups, title):
    """Pedestal NSB level vs time per telescope."""
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    plotted = False
    for summary in setups.values():
        for tel_id, series in sorted(summary.nsb_time.items()):
            if series:
                data = np.array(series)
                ax.plot(_dates(data[:, 0]), data[:, 1], ".", ms=3, label=f"tel {tel_id}")
                plotted = True
    if plotted:
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys())
        ax.set_ylabel("NSB level (mean pedestal charge) [p.e.]")
        _time_axis(ax)
    else:
        _empty(ax, "no pedestal monitoring")
    fig.suptitle(f"{title}: NSB from the interleaved pedestals")
    fig.tight_layout()
    return fig


def zenith_figure(setups, title):
    """Zenith distribution (per run) and zenith vs time."""
    fig = Figure(figsize=(10, 5))
    a, b = fig.subplots(1, 2)
    plotted = False
    for name, summary in setups.items():
        data = np.array(summary.zenith_time, dtype=float).reshape(-1, 2)
        data = data[np.isfinite(data[:, 1])]
        if len(data):
            a.hist(data[:, 1], bins=50, range=(0, 65), histtype="step", label=name)
            b.plot(_dates(data[:, 0]), data[:, 1], "o", ms=3, color=COLORS.get(name), label=name)
            plotted = True
    if plotted:
        a.set_xlabel("zenith [deg]")
        a.set_ylabel("runs")
        a.legend()
        b.set_ylabel("zenith [deg]")
        _time_axis(b)
    else:
        _empty(a, "no pointing")
        _empty(b, "")
    fig.suptitle(f"{title}: zenith")
    fig.tight_layout()
    return fig


def intensity_figure(summary, title, mc_rate=None):
    """Differential rate of cleaned images vs intensity per wobble, and the MC expectation.

    ``mc_rate(q, zenith)`` -> R(> q) [Hz] or None.
    """
    fig = Figure(figsize=(10, 5))
    a, b = fig.subplots(1, 2)
    widths = np.diff(INTENSITY_EDGES)
    centres = np.sqrt(INTENSITY_EDGES[1:] * INTENSITY_EDGES[:-1])
    livetimes = []
    for wobble, (counts, live, zsum, n) in sorted(summary.intensity.items()):
        if live <= 0:
            continue
        rate = counts / live / widths
        ok = counts > 0
        err = np.sqrt(counts[ok]) / live / widths[ok]
        a.errorbar(centres[ok], rate[ok], err, fmt=".", label=f"wobble {wobble}")
        livetimes.append(live / 60)
        if mc_rate is not None:
            r = mc_rate(INTENSITY_EDGES, zsum / max(n, 1))
            if r is not None:
                diff = (r[:-1] - r[1:]) / widths
                good = diff > 0
                a.plot(centres[good], diff[good], "-", lw=1, label=f"MC at {zsum / n:.0f} deg")
    if livetimes:
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlim(10, 1e5)
        a.axvline(50, color="gray", ls=":")
        a.set_xlabel("image intensity [p.e.]")
        a.set_ylabel("dR/dQ [Hz / p.e.]")
        a.legend(fontsize="small")
        b.bar(range(len(livetimes)), livetimes)
        b.set_xticks(range(len(livetimes)), [w for w in sorted(summary.intensity)], rotation=30)
        b.set_ylabel("livetime per wobble [min]")
    else:
        _empty(a, "no events")
        _empty(b, "")
    fig.suptitle(f"{title}, {summary.tel_setup}: differential intensity rate per wobble")
    fig.tight_layout()
    return fig


def cog_figure(summary, title, gamma=False):
    """Maps of the image centres of gravity (telescope frame) per telescope."""
    maps = summary.cog_gamma if gamma else summary.cog
    fig = Figure(figsize=(5 * max(len(maps), 1), 5))
    axes = np.atleast_1d(fig.subplots(1, max(len(maps), 1)))
    if not maps:
        _empty(axes[0], "no DL2 gammaness" if gamma else "no images")
    for ax, (tel_id, h) in zip(axes, sorted(maps.items()), strict=False):
        extent = (COG_EDGES[0], COG_EDGES[-1], COG_EDGES[0], COG_EDGES[-1])
        mesh = ax.imshow(np.asarray(h).T, origin="lower", extent=extent, cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="events")
        ax.set_aspect("equal")
        ax.set_xlabel("fov_lon [deg]")
        ax.set_ylabel("fov_lat [deg]")
        ax.set_title(f"tel {tel_id}")
    what = "gammaness > cut (DL2)" if gamma else "images surviving cleaning (DL1)"
    fig.suptitle(f"{title}, {summary.tel_setup}: centre of gravity, {what}")
    fig.tight_layout()
    return fig


def dt_figure(summary, title):
    """White-Rabbit Δt (tel 22 − tel 21) of the stereo pairs: histogram and per run."""
    fig = Figure(figsize=(10, 5))
    a, b = fig.subplots(1, 2)
    if summary.dt_hist.sum() == 0:
        _empty(a, "no stereo pairs")
        _empty(b, "")
    else:
        a.stairs(summary.dt_hist, DT_EDGES)
        a.set_xlabel("Δt [ns]")
        a.set_ylabel("pairs")
        data = np.array(summary.dt_time)
        b.errorbar(_dates(data[:, 0]), data[:, 1], data[:, 2], fmt="o", ms=3)
        b.set_ylabel("median Δt ± robust spread [ns]")
        _time_axis(b)
    fig.suptitle(f"{title}: White-Rabbit time difference of stereo pairs")
    fig.tight_layout()
    return fig


def moon_figure(setups, title):
    """Moon altitude, separation from the pointing and illuminated fraction per run."""
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(3, 1, sharex=True)
    rows = [r for s in setups.values() for r in s.moon_time]
    data = np.array(rows, dtype=float).reshape(-1, 4)
    data = data[np.isfinite(data[:, 1])]
    if len(data) == 0:
        for ax in axes:
            _empty(ax, "no Moon geometry (no pointing or site)")
    else:
        labels = ("Moon altitude [deg]", "Moon–pointing [deg]", "illuminated fraction")
        for k, (ax, label) in enumerate(zip(axes, labels, strict=True)):
            ax.plot(_dates(data[:, 0]), data[:, k + 1], ".")
            ax.set_ylabel(label)
        axes[0].axhline(0, color="gray", ls=":")
        axes[2].set_ylim(0, 1)
        _time_axis(axes[2])
    fig.suptitle(f"{title}: Moon")
    fig.tight_layout()
    return fig


def theta2_figure(setups, title):
    """θ² per setup with N_on, N_off, α, excess, livetime and the Li & Ma significance."""
    names = list(setups)
    fig = Figure(figsize=(5 * max(len(names), 1), 5))
    axes = np.atleast_1d(fig.subplots(1, max(len(names), 1)))
    for ax, name in zip(axes, names, strict=False):
        th = setups[name].theta2
        if th is None or th.n_runs == 0:
            _empty(ax, f"{name}: no DL2 directions or DL3 events (or no target position)")
            continue
        centres = 0.5 * (th.edges[1:] + th.edges[:-1])
        ax.errorbar(centres, th.on, np.sqrt(th.on), fmt="o", label="ON")
        ax.errorbar(centres, th.alpha * th.off, th.alpha * np.sqrt(th.off), fmt="s", label="α·OFF")
        ax.axvline(th.theta_cut**2, ls="--", color="gray")
        ax.set_xlabel("θ² [deg²]")
        ax.set_ylabel("events")
        ax.legend(loc="upper right")
        text = (
            f"N_on {th.n_on}\nN_off {th.n_off} ({th.n_off_regions} regions, α={th.alpha:.2f})\n"
            f"excess {th.excess:.1f}\nlivetime {th.livetime / 3600:.2f} h\n"
            f"Li & Ma {th.significance:.1f} σ\nfrom {th.source}"
        )
        ax.text(0.35, 0.6, text, transform=ax.transAxes, fontsize="small")
        ax.set_title(name)
    fig.suptitle(
        f"{title}: θ² (θ cut {setups[names[0]].theta2.theta_cut:g} deg)" if names else title
    )
    fig.tight_layout()
    return fig


def _text_page(title, lines, colors=None, size=7):
    fig = Figure(figsize=(11, 8.5))
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title)
    for k, line in enumerate(lines[:60]):
        color = colors[k] if colors else "black"
        ax.text(0.0, 1 - (k + 1) / 62, line, family="monospace", fontsize=size, color=color,
                transform=ax.transAxes)  # fmt: skip
    if len(lines) > 60:
        ax.text(
            0.0, 0.0, f"… {len(lines) - 60} more lines in the HTML page", transform=ax.transAxes
        )
    return fig


def dq_table_figure(table, title):
    """The DQ table as text; flagged rows in red."""
    if table is None or len(table) == 0:
        return _text_page(title, ["no DQ rows"])
    lines, colors = [], []
    header = "      obs_id setup    good    zen  live[s]   nsb    LY  flags"
    lines.append(header)
    colors.append("black")
    for row in table:
        ly = row["light_yield"] if "light_yield" in table.colnames else np.nan
        lines.append(
            f"{row['obs_id']:>12} {row['tel_setup']:8} {str(bool(row['good'])):5}"
            f" {u.Quantity(row['zenith']).to_value(u.deg):5.1f}"
            f" {u.Quantity(row['livetime']).to_value(u.s):8.0f} {row['nsb_level']:5.2f}"
            f" {ly:5.2f}  {row['flags']}"
        )
        colors.append("black" if row["good"] else "red")
    return _text_page(title, lines, colors)


def status_figure(title, lines, colors):
    """Processing status (from the nightly manifest) and the files of the night."""
    return _text_page(title, lines, colors, size=8)
