"""Human-readable summary and pictures of the SST-1M instrument."""

import astropy.units as u
import numpy as np

__all__ = ["instrument_summary", "plot_camera", "plot_array"]


def instrument_summary(subarray):
    """Multi-line text describing a subarray of SST-1M telescopes."""
    lines = [
        f"Subarray {subarray.name}: {subarray.n_tels} telescopes {subarray.tel_ids.tolist()}",
        f"  reference location: lon {subarray.reference_location.lon.deg:.6f} deg, "
        f"lat {subarray.reference_location.lat.deg:.6f} deg, "
        f"height {subarray.reference_location.height.to_value(u.m):.2f} m",
    ]
    for tel_id, tel in subarray.tel.items():
        x, y, z = subarray.positions[tel_id].to_value(u.m)
        lines.append(
            f"  tel {tel_id:3d}: {tel}  ground (x north, y west, z up) = "
            f"({x:8.2f}, {y:8.2f}, {z:6.2f}) m"
        )
    tel = next(iter(subarray.tel.values()))
    geom, readout, optics = tel.camera.geometry, tel.camera.readout, tel.optics
    n_neighbors = np.bincount([len(n) for n in geom.neighbors])
    first_neighbor = geom.neighbors[0][0]
    pitch = np.hypot(
        geom.pix_x[first_neighbor] - geom.pix_x[0], geom.pix_y[first_neighbor] - geom.pix_y[0]
    )
    fov = np.hypot(geom.pix_x, geom.pix_y).max() / optics.effective_focal_length * u.rad
    xyz = u.Quantity(list(subarray.positions.values())).to_value(u.m)
    distances = np.linalg.norm(xyz[:, np.newaxis] - xyz[np.newaxis], axis=-1)
    lines += [
        f"Optics {optics.name}: {optics.reflector_shape.name}, "
        f"{optics.n_mirror_tiles} facets, mirror area {optics.mirror_area:.3f}, "
        f"equivalent focal length {optics.equivalent_focal_length:.3f}, "
        f"effective {optics.effective_focal_length:.5f}",
        f"Camera {geom.name}: {geom.n_pixels} {geom.pix_type.name.lower()} pixels, "
        f"pitch {pitch.to(u.mm):.1f}, pixel area {geom.pix_area[0].to(u.mm**2):.2f}, "
        f"field-of-view radius {fov.to(u.deg):.2f}",
        "  neighbours per pixel: " + ", ".join(f"{n}: {c}" for n, c in enumerate(n_neighbors) if c),
        f"Readout {readout.name}: {readout.sampling_rate.to(u.MHz):.0f}, "
        f"{readout.n_samples} samples, {readout.n_channels} gain channel",
    ]
    if len(xyz) > 1:
        lines.append(f"Largest inter-telescope distance: {distances.max():.1f} m")
    return "\n".join(lines)


def plot_camera(geometry, ax=None, title=None):
    """Draw the DigiCam pixels, coloured by software pixel id, with a few ids annotated."""
    import matplotlib.pyplot as plt
    from ctapipe.visualization import CameraDisplay

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 7))
    display = CameraDisplay(geometry, ax=ax, image=geometry.pix_id.astype(float), cmap="viridis")
    display.add_colorbar(ax=ax, label="software pixel id")
    for pix in (0, geometry.n_pixels // 2, geometry.n_pixels - 1):
        ax.annotate(
            str(pix),
            (geometry.pix_x[pix].to_value(u.m), geometry.pix_y[pix].to_value(u.m)),
            color="white",
            ha="center",
            va="center",
            fontsize=7,
            weight="bold",
        )
    ax.set_title(title or f"{geometry.name} ({geometry.n_pixels} pixels), CameraFrame")
    return ax


def plot_array(subarray, ax=None):
    """Draw the telescope positions in the ground frame (north up, east right)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    for tel_id, pos in subarray.positions.items():
        north, west = pos[0].to_value(u.m), pos[1].to_value(u.m)
        ax.scatter(-west, north, s=300, marker="H", zorder=3)
        ax.annotate(f"tel {tel_id}", (-west, north), xytext=(8, 8), textcoords="offset points")
    ax.scatter(0, 0, marker="+", color="k", s=100, label="array centre (reference location)")
    ax.set_xlabel("east [m]")
    ax.set_ylabel("north [m]")
    ax.set_aspect("equal")
    lim = 1.4 * max(float(np.abs(p[:2].to_value(u.m)).max()) for p in subarray.positions.values())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{subarray.name} at Ondřejov")
    return ax
