"""Light yield and image shape of toy showers as seen by each telescope.

:class:`ShowerImageModel` turns the true shower (:class:`~.showers.ThrownShowers`) into, per
telescope, the expected photo-electron image in the telescope frame:

* **Light yield** ``Q = k · E · f(d) · (L_ref / L)² · p`` with ``d`` the impact distance of
  the telescope to the shower axis, ``L`` its distance to the shower maximum, ``f`` flat inside
  the Cherenkov light pool (radius ``R_pool · L / L_ref``) and falling off exponentially
  beyond, and ``p`` = 1 for gammas or ``proton_light_fraction`` for protons; log-normal
  shower-to-shower fluctuations.
* **Position**: the image centroid is the direction, seen from the telescope, of the shower
  maximum; it is therefore displaced from the true source by ≈ atan(d / L) towards the
  projected core, and the image main axis joins it to the source.
* **Shape**: length grows with log E and with the displacement, width with log E and shrinks
  with L (both in degrees); head–tail skewness points away from the source. Protons are wider,
  longer, misaligned from the source direction, fluctuate more and carry 0–3 sub-showers.
* **Time**: a gradient along the main axis whose slope is proportional to ``d − d_flip`` (so
  it changes sign near 100 m), plus per-pixel jitter added by the camera model.

The expected image is a skew-normal profile along the main axis times a Gaussian across it,
blurred by the optical PSF and the hexagonal pixel footprint, evaluated at the pixel centres
and multiplied by the pixel solid angle, so light falling off the camera is lost.
"""

from dataclasses import dataclass
from types import MappingProxyType

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import Float, Int
from scipy.special import ndtr

from .geometry import altaz_to_telescope_frame, ground_vector_to_altaz, impact_distance
from .quantities import UnitQuantity

__all__ = ["TelescopeView", "ShowerImageModel", "render_expected_image", "signal_times"]

_SQRT_2PI = np.sqrt(2 * np.pi)
#: Number of sub-shower slots drawn per proton image.
MAX_SUBSHOWERS = 3


@dataclass
class TelescopeView:
    """Per shower and telescope (arrays of shape (n, n_tel)) image model parameters.

    Angles in degrees, distances in metres, ``intensity`` in expected p.e. The sub-shower
    arrays have an extra last axis of length :data:`MAX_SUBSHOWERS`.
    """

    impact: np.ndarray
    distance_to_max: np.ndarray
    source_lon: np.ndarray
    source_lat: np.ndarray
    cog_lon: np.ndarray
    cog_lat: np.ndarray
    psi: np.ndarray
    length: np.ndarray
    width: np.ndarray
    skewness: np.ndarray
    intensity: np.ndarray
    time_slope: np.ndarray
    sub_lon: np.ndarray
    sub_lat: np.ndarray
    sub_fraction: np.ndarray
    sub_sigma: np.ndarray

    def reaches_camera(self, camera_radius, blur, n_sigma=5.0):
        """False where the main image and every sub-shower lie ``n_sigma`` outside the camera.

        Light farther than ``n_sigma`` standard deviations from a component's centre is
        negligible, so such images cannot trigger and need not be rendered.
        """
        sigma = np.hypot(self.length, blur)
        reach = camera_radius + n_sigma * sigma
        inside = np.hypot(self.cog_lon, self.cog_lat) < reach
        sub_sigma = np.hypot(self.sub_sigma, blur)
        sub_reach = camera_radius + n_sigma * sub_sigma
        sub_inside = (np.hypot(self.sub_lon, self.sub_lat) < sub_reach) & (self.sub_fraction > 0)
        return inside | sub_inside.any(axis=-1)

    def take(self, shower_index, tel_index):
        """Flat arrays for the (shower, telescope) pairs given by two index arrays."""
        return TelescopeView(**{k: v[shower_index, tel_index] for k, v in self.__dict__.items()})


def _skewnorm_parameters(sigma, skewness):
    """Location offset, scale and shape of a zero-mean skew-normal with given std and skewness."""
    g = np.clip(np.abs(skewness), 0.0, 0.99)
    g23 = g ** (2.0 / 3.0)
    delta = np.sign(skewness) * np.sqrt(0.5 * np.pi * g23 / (g23 + (0.5 * (4 - np.pi)) ** (2 / 3)))
    alpha = delta / np.sqrt(1 - delta**2)
    omega = sigma / np.sqrt(1 - 2 * delta**2 / np.pi)
    xi = -omega * delta * np.sqrt(2 / np.pi)
    return xi, omega, alpha


def render_expected_image(view, pix_lon, pix_lat, pix_area, blur):
    """Expected p.e. per pixel, shape (M, n_pixels), for M flat (shower, telescope) pairs.

    Parameters
    ----------
    view : TelescopeView
        Flat parameters (from :meth:`TelescopeView.take`).
    pix_lon, pix_lat : array, shape (n_pixels,)
        Pixel centres in the telescope frame [deg].
    pix_area : array, shape (n_pixels,)
        Pixel solid angles [deg²].
    blur : float
        Gaussian sigma [deg] of the optical PSF and pixel footprint, added in quadrature.
    """
    dx = pix_lon[None, :] - view.cog_lon[:, None]
    dy = pix_lat[None, :] - view.cog_lat[:, None]
    cos_psi = np.cos(np.deg2rad(view.psi))[:, None]
    sin_psi = np.sin(np.deg2rad(view.psi))[:, None]
    along = dx * cos_psi + dy * sin_psi
    across = -dx * sin_psi + dy * cos_psi

    sigma_l = np.sqrt(view.length**2 + blur**2)
    sigma_w = np.sqrt(view.width**2 + blur**2)
    # the third cumulant is unchanged by a symmetric blur
    skew = view.skewness * (view.length / sigma_l) ** 3
    xi, omega, alpha = _skewnorm_parameters(sigma_l, skew)
    z = (along - xi[:, None]) / omega[:, None]
    pdf_l = 2.0 / (omega[:, None] * _SQRT_2PI) * np.exp(-0.5 * z**2) * ndtr(alpha[:, None] * z)
    pdf_w = np.exp(-0.5 * (across / sigma_w[:, None]) ** 2) / (sigma_w[:, None] * _SQRT_2PI)

    main_fraction = 1.0 - view.sub_fraction.sum(axis=-1)
    image = (main_fraction * view.intensity)[:, None] * pdf_l * pdf_w

    for k in range(view.sub_fraction.shape[-1]):
        frac = view.sub_fraction[:, k]
        if not np.any(frac > 0):
            continue
        sig = np.sqrt(view.sub_sigma[:, k] ** 2 + blur**2)[:, None]
        r2 = (pix_lon[None, :] - view.sub_lon[:, k, None]) ** 2
        r2 = r2 + (pix_lat[None, :] - view.sub_lat[:, k, None]) ** 2
        image += (
            (frac * view.intensity)[:, None] * np.exp(-0.5 * r2 / sig**2) / (2 * np.pi * sig**2)
        )

    return image * pix_area[None, :]


def signal_times(view, pix_lon, pix_lat, time_offset):
    """Arrival time [ns] of the Cherenkov signal per pixel, shape (M, n_pixels)."""
    cos_psi = np.cos(np.deg2rad(view.psi))[:, None]
    sin_psi = np.sin(np.deg2rad(view.psi))[:, None]
    along = (pix_lon[None, :] - view.cog_lon[:, None]) * cos_psi
    along = along + (pix_lat[None, :] - view.cog_lat[:, None]) * sin_psi
    return time_offset + view.time_slope[:, None] * along


class ShowerImageModel(Component):
    """Light yield, image position, shape and timing of toy showers (see the module docstring)."""

    photoelectrons_per_tev = Float(
        100.0,
        help=(
            "Photo-electrons per TeV of a gamma shower seen inside the light pool at the "
            "reference distance (k); 100 puts the SST-1M threshold near 1 TeV."
        ),
    ).tag(config=True)
    light_pool_radius = UnitQuantity(
        default_value=120.0 * u.m,
        physical_type=u.m,
        help=(
            "Radius of the flat Cherenkov light pool at the reference distance (a bare number: m)."
        ),
    ).tag(config=True)
    light_falloff_scale = UnitQuantity(
        default_value=80.0 * u.m,
        physical_type=u.m,
        help="Exponential fall-off length of the light density beyond the pool (a bare number: m).",
    ).tag(config=True)
    reference_distance = UnitQuantity(
        default_value=8700.0 * u.m,
        physical_type=u.m,
        help=(
            "Distance from the telescope to the shower maximum (L_ref) at which the pool "
            "radius and yield hold, about that of a vertical 1 TeV gamma (a bare number: m)."
        ),
    ).tag(config=True)
    gamma_yield_sigma = Float(
        0.15, help="Log-normal spread (in ln) of the light yield of gamma showers."
    ).tag(config=True)
    proton_light_fraction = Float(
        0.33, help="Light yield of a proton relative to a gamma of the same energy."
    ).tag(config=True)
    proton_yield_sigma = Float(
        0.5, help="Log-normal spread (in ln) of the light yield of proton showers."
    ).tag(config=True)
    length_base = UnitQuantity(
        default_value=0.08 * u.deg,
        physical_type=u.deg,
        help="Gamma image length (std) at 1 TeV and zero displacement (a bare number: deg).",
    ).tag(config=True)
    length_per_decade = UnitQuantity(
        default_value=0.03 * u.deg,
        physical_type=u.deg,
        help="Increase of the gamma image length per decade of energy (a bare number: deg).",
    ).tag(config=True)
    length_per_disp = Float(
        0.12, help="Increase of the gamma image length (deg) per degree of displacement."
    ).tag(config=True)
    width_base = UnitQuantity(
        default_value=0.06 * u.deg,
        physical_type=u.deg,
        help="Gamma image width (std) at 1 TeV and the reference distance (a bare number: deg).",
    ).tag(config=True)
    width_per_decade = UnitQuantity(
        default_value=0.012 * u.deg,
        physical_type=u.deg,
        help="Increase of the gamma image width per decade of energy (a bare number: deg).",
    ).tag(config=True)
    shape_sigma = Float(0.1, help="Relative spread of gamma image length and width.").tag(
        config=True
    )
    gamma_skewness = Float(
        0.3, help="Skewness of gamma images along the main axis, positive away from the source."
    ).tag(config=True)
    proton_width_factor = Float(2.5, help="Proton image width relative to a gamma's.").tag(
        config=True
    )
    proton_length_factor = Float(2.0, help="Proton image length relative to a gamma's.").tag(
        config=True
    )
    proton_shape_sigma = Float(0.3, help="Relative spread of proton image length and width.").tag(
        config=True
    )
    proton_misalignment = UnitQuantity(
        default_value=20.0 * u.deg,
        physical_type=u.deg,
        help=(
            "Spread of the angle between proton image axes and the source direction"
            " (a bare number: deg)."
        ),
    ).tag(config=True)
    proton_cog_jitter = UnitQuantity(
        default_value=0.2 * u.deg,
        physical_type=u.deg,
        help=(
            "Spread of proton image centroids around the shower-maximum direction"
            " (a bare number: deg)."
        ),
    ).tag(config=True)
    proton_mean_subshowers = Float(
        1.5, help="Mean number of sub-showers (extra blobs) in a proton image, at most 3."
    ).tag(config=True)
    subshower_spread = UnitQuantity(
        default_value=0.5 * u.deg,
        physical_type=u.deg,
        help=(
            "Spread of sub-shower positions around the proton image centroid (a bare number: deg)."
        ),
    ).tag(config=True)
    time_gradient = UnitQuantity(
        default_value=4.0 * u.ns / u.deg,
        physical_type=u.ns / u.deg,
        help=(
            "Time-gradient slope (along the main axis, away from the source) per "
            "time_gradient_distance of impact beyond time_flip_distance (a bare number: ns/deg)."
        ),
    ).tag(config=True)
    time_flip_distance = UnitQuantity(
        default_value=100.0 * u.m,
        physical_type=u.m,
        help="Impact distance at which the time gradient changes sign (a bare number: m).",
    ).tag(config=True)
    time_gradient_distance = UnitQuantity(
        default_value=100.0 * u.m,
        physical_type=u.m,
        help="Impact-distance scale of the time-gradient slope (a bare number: m).",
    ).tag(config=True)
    psf_sigma = UnitQuantity(
        default_value=0.04 * u.deg,
        physical_type=u.deg,
        help="Gaussian sigma of the optical point-spread function (a bare number: deg).",
    ).tag(config=True)
    n_subshower_slots = Int(
        MAX_SUBSHOWERS,
        min=0,
        max=MAX_SUBSHOWERS,
        help="Maximum number of sub-showers per proton image (0 disables them).",
    ).tag(config=True)

    #: the quantity traits and the units the numerics use them in
    UNITS = MappingProxyType(
        {
            "light_pool_radius": u.m,
            "light_falloff_scale": u.m,
            "reference_distance": u.m,
            "length_base": u.deg,
            "length_per_decade": u.deg,
            "width_base": u.deg,
            "width_per_decade": u.deg,
            "proton_misalignment": u.deg,
            "proton_cog_jitter": u.deg,
            "subshower_spread": u.deg,
            "time_gradient": u.ns / u.deg,
            "time_flip_distance": u.m,
            "time_gradient_distance": u.m,
            "psf_sigma": u.deg,
        }
    )

    def values(self):
        """The quantity traits as floats in the units of `UNITS` (m, deg, ns/deg)."""
        return {k: float(getattr(self, k).to_value(unit)) for k, unit in self.UNITS.items()}

    def view(self, rng, showers, tel_positions, pointing_alt, pointing_az, primary_id):
        """Image-model parameters of every thrown shower in every telescope.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness for the shower-to-shower fluctuations.
        showers : ThrownShowers
            The thrown showers (n entries).
        tel_positions : array, shape (n_tel, 3)
            Ground-frame telescope positions [m].
        pointing_alt, pointing_az : float
            Telescope pointing [rad].
        primary_id : int
            0 for gammas, 101 for protons.

        Returns
        -------
        TelescopeView
            Arrays of shape (n, n_tel).
        """
        n, n_tel = len(showers), len(tel_positions)
        shape = (n, n_tel)
        axis = showers.axis
        core = showers.core
        impact = impact_distance(core, axis, tel_positions)

        sin_alt = np.sin(showers.alt)
        maximum = core + axis * (showers.h_max / sin_alt)[:, None]
        to_max = maximum[:, None, :] - tel_positions[None, :, :]
        distance = np.linalg.norm(to_max, axis=-1)
        max_alt, max_az = ground_vector_to_altaz(to_max)
        cog_lon, cog_lat = np.rad2deg(
            altaz_to_telescope_frame(max_alt, max_az, pointing_alt, pointing_az)
        )
        src_lon, src_lat = np.rad2deg(
            altaz_to_telescope_frame(showers.alt, showers.az, pointing_alt, pointing_az)
        )
        src_lon = np.broadcast_to(src_lon[:, None], shape).copy()
        src_lat = np.broadcast_to(src_lat[:, None], shape).copy()
        disp = np.hypot(cog_lon - src_lon, cog_lat - src_lat)
        psi = np.rad2deg(np.arctan2(cog_lat - src_lat, cog_lon - src_lon))

        v = self.values()
        ref = v["reference_distance"]
        pool = v["light_pool_radius"] * distance / ref
        falloff = np.exp(-np.clip(impact - pool, 0.0, None) / v["light_falloff_scale"])
        mean_q = (
            self.photoelectrons_per_tev * showers.energy[:, None] * falloff * (ref / distance) ** 2
        )

        log_e = np.log10(showers.energy)[:, None]
        length = v["length_base"] + v["length_per_decade"] * log_e + self.length_per_disp * disp
        width = (v["width_base"] + v["width_per_decade"] * log_e) * ref / distance
        length = np.clip(length, 0.02, None)
        width = np.clip(width, 0.015, None)
        time_slope = (
            v["time_gradient"] * (impact - v["time_flip_distance"]) / v["time_gradient_distance"]
        )

        sub_lon = np.zeros(shape + (MAX_SUBSHOWERS,))
        sub_lat = np.zeros_like(sub_lon)
        sub_fraction = np.zeros_like(sub_lon)
        sub_sigma = np.full_like(sub_lon, 0.1)

        if primary_id == 0:
            q = mean_q * np.exp(self.gamma_yield_sigma * rng.standard_normal(shape))
            length = length * np.exp(self.shape_sigma * rng.standard_normal(shape))
            width = width * np.exp(self.shape_sigma * rng.standard_normal(shape))
            skewness = np.full(shape, self.gamma_skewness)
        else:
            q = self.proton_light_fraction * mean_q
            q = q * np.exp(self.proton_yield_sigma * rng.standard_normal(shape))
            spread = self.proton_shape_sigma
            length = (
                self.proton_length_factor * length * np.exp(spread * rng.standard_normal(shape))
            )
            width = self.proton_width_factor * width * np.exp(spread * rng.standard_normal(shape))
            psi = psi + v["proton_misalignment"] * rng.standard_normal(shape)
            cog_lon = cog_lon + v["proton_cog_jitter"] * rng.standard_normal(shape)
            cog_lat = cog_lat + v["proton_cog_jitter"] * rng.standard_normal(shape)
            skewness = rng.uniform(-0.5, 0.5, size=shape)
            n_sub = np.minimum(rng.poisson(self.proton_mean_subshowers, size=shape), MAX_SUBSHOWERS)
            n_sub = np.minimum(n_sub, self.n_subshower_slots)
            slots = np.arange(MAX_SUBSHOWERS)[None, None, :] < n_sub[..., None]
            sub_lon = cog_lon[..., None] + v["subshower_spread"] * rng.standard_normal(
                sub_lon.shape
            )
            sub_lat = cog_lat[..., None] + v["subshower_spread"] * rng.standard_normal(
                sub_lat.shape
            )
            sub_fraction = np.where(slots, rng.uniform(0.05, 0.25, size=sub_lon.shape), 0.0)
            sub_sigma = rng.uniform(0.05, 0.15, size=sub_lon.shape)
        width = np.minimum(width, length)

        return TelescopeView(
            impact=impact,
            distance_to_max=distance,
            source_lon=src_lon,
            source_lat=src_lat,
            cog_lon=cog_lon,
            cog_lat=cog_lat,
            psi=psi,
            length=length,
            width=width,
            skewness=skewness,
            intensity=q,
            time_slope=time_slope,
            sub_lon=sub_lon,
            sub_lat=sub_lat,
            sub_fraction=sub_fraction,
            sub_sigma=sub_sigma,
        )
