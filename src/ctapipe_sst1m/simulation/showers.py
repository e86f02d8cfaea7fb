"""Thrown showers of the toy Monte Carlo: energies, directions, cores and longitudinal shape.

:class:`ShowerGenerator` draws, fully vectorised, everything about a shower that does not
depend on a telescope: the primary energy from a power law, the arrival direction (a point
source at a wobble offset from the pointing, or isotropic within a view cone around it), the
core position uniformly in a disk on the ground, the depth of the first interaction and of
the shower maximum (Heitler-like elongation for gammas, shallower and more fluctuating for
protons) and the heights these depths correspond to in an isothermal atmosphere.

The same class provides the bookkeeping ctapipe writes for simulations: the
``SimulationConfigContainer`` of the run and the distribution of *all* thrown showers in
energy and core distance (``SimulatedShowerDistribution``), from which pyirf and ctapipe's
IRF tools derive the simulated event counts.
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from ctapipe.containers import SimulatedShowerDistribution, SimulationConfigContainer
from ctapipe.core import Component
from ctapipe.core.traits import CaselessStrEnum, Float, Int

from .atmosphere import SCALE_HEIGHT_M, SEA_LEVEL_DEPTH_G_CM2, height_from_slant_depth
from .geometry import altaz_to_ground_vector, telescope_frame_to_altaz

__all__ = [
    "PARTICLES",
    "PRIMARY_IDS",
    "PARTICLE_DEFAULTS",
    "ThrownShowers",
    "ShowerGenerator",
]

#: Particle types the toy simulates.
PARTICLES = ("gamma", "gamma-diffuse", "proton")
#: CORSIKA-style primary ids written as ``shower_primary_id`` (ctapipe's classifier wants 0).
PRIMARY_IDS = {"gamma": 0, "gamma-diffuse": 0, "proton": 101}
#: Per-particle defaults of the throwing ranges (SST-1M production values).
PARTICLE_DEFAULTS = {
    "gamma": dict(energy_min=0.2, max_scatter_range=800.0, viewcone=0.0),
    "gamma-diffuse": dict(energy_min=0.2, max_scatter_range=800.0, viewcone=6.0),
    "proton": dict(energy_min=0.4, max_scatter_range=1200.0, viewcone=10.0),
}

_CRITICAL_ENERGY_TEV = 83e-6  # 83 MeV


@dataclass
class ThrownShowers:
    """Arrays (one entry per thrown shower, reuses counted separately) of true shower values.

    Angles are in radians, lengths in metres, depths in g/cm², energies in TeV.
    """

    shower_number: np.ndarray
    reuse_index: np.ndarray
    energy: np.ndarray
    alt: np.ndarray
    az: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    h_first_int: np.ndarray
    x_max: np.ndarray
    starting_grammage: np.ndarray
    h_max: np.ndarray

    def __len__(self):
        return len(self.energy)

    @property
    def axis(self):
        """Unit vectors (n, 3) along the shower axes, pointing towards the sky."""
        return altaz_to_ground_vector(self.alt, self.az)

    @property
    def core(self):
        """Core positions (n, 3) on the ground plane z=0 [m]."""
        return np.stack([self.core_x, self.core_y, np.zeros_like(self.core_x)], axis=-1)

    def select(self, mask):
        """A new :class:`ThrownShowers` with only the entries where ``mask`` is true."""
        return ThrownShowers(**{k: v[mask] for k, v in self.__dict__.items()})


def power_law_energies(rng, n, e_min, e_max, index):
    """Draw ``n`` energies from dN/dE ∝ E^index between ``e_min`` and ``e_max`` (inverse CDF)."""
    u_ = rng.uniform(size=n)
    if np.isclose(index, -1.0):
        return e_min * (e_max / e_min) ** u_
    g = index + 1.0
    return (e_min**g + u_ * (e_max**g - e_min**g)) ** (1.0 / g)


class ShowerGenerator(Component):
    """Draw the true parameters of thrown air showers (see the module docstring)."""

    particle = CaselessStrEnum(
        PARTICLES,
        default_value="gamma",
        help=(
            "Primary particle: 'gamma' (point source at source_offset from the pointing), "
            "'gamma-diffuse' (isotropic within the view cone) or 'proton' (diffuse)."
        ),
    ).tag(config=True)
    energy_min = Float(
        None,
        allow_none=True,
        help="Lowest simulated energy in TeV; None takes 0.2 TeV for gammas, 0.4 TeV for protons.",
    ).tag(config=True)
    energy_max = Float(300.0, help="Highest simulated energy in TeV.").tag(config=True)
    spectral_index = Float(
        -2.0, help="Power-law index of the simulated spectrum, dN/dE ∝ E^index."
    ).tag(config=True)
    max_scatter_range = Float(
        None,
        allow_none=True,
        help=(
            "Radius in metres of the ground disk in which cores are thrown uniformly; "
            "None takes 800 m for gammas and 1200 m for protons."
        ),
    ).tag(config=True)
    viewcone = Float(
        None,
        allow_none=True,
        help=(
            "Radius in degrees of the cone around the pointing in which diffuse particles "
            "arrive; None takes 6 deg for diffuse gammas and 10 deg for protons "
            "(ignored for point-like gammas)."
        ),
    ).tag(config=True)
    source_offset = Float(
        0.4, help="Offset in degrees of the point-like gamma source from the pointing (wobble)."
    ).tag(config=True)
    source_position_angle = Float(
        90.0,
        help=(
            "Position angle in degrees of the point source in the telescope frame, counted "
            "from +fov_lat towards +fov_lon (90 puts it at +fov_lon)."
        ),
    ).tag(config=True)
    shower_reuse = Int(
        1,
        min=1,
        max=99,
        help="Number of times each shower is reused with a new core position.",
    ).tag(config=True)
    radiation_length = Float(
        36.7, help="Radiation length in air in g/cm², the elongation rate of gamma showers."
    ).tag(config=True)
    xmax_offset = Float(
        0.0,
        help="Constant added to X0·ln(E/E_c) for the mean gamma X_max, in g/cm².",
    ).tag(config=True)
    gamma_xmax_sigma = Float(25.0, help="Shower-to-shower spread of the gamma X_max in g/cm².").tag(
        config=True
    )
    proton_xmax_shift = Float(
        100.0, help="How much shallower the mean proton X_max is than a gamma's, in g/cm²."
    ).tag(config=True)
    proton_xmax_sigma = Float(
        60.0, help="Shower-to-shower spread of the proton X_max in g/cm²."
    ).tag(config=True)
    proton_interaction_length = Float(
        80.0, help="Mean depth of the first interaction of protons in g/cm²."
    ).tag(config=True)
    n_energy_bins = Int(
        60, min=1, help="Number of log-energy bins of the thrown-shower distribution."
    ).tag(config=True)
    n_core_bins = Int(
        40, min=1, help="Number of core-distance bins of the thrown-shower distribution."
    ).tag(config=True)

    # ------------------------------------------------------------------ derived settings
    def _default(self, name):
        value = getattr(self, name)
        return PARTICLE_DEFAULTS[self.particle][name] if value is None else value

    @property
    def e_min(self):
        """Lowest simulated energy [TeV] (after applying the particle default)."""
        return float(self._default("energy_min"))

    @property
    def scatter_radius(self):
        """Radius of the core disk [m] (after applying the particle default)."""
        return float(self._default("max_scatter_range"))

    @property
    def is_diffuse(self):
        """True for diffuse particles (``gamma-diffuse`` and ``proton``)."""
        return self.particle != "gamma"

    @property
    def viewcone_radius(self):
        """Radius of the view cone [deg]; 0 for point-like gammas."""
        return float(self._default("viewcone")) if self.is_diffuse else 0.0

    @property
    def primary_id(self):
        """``shower_primary_id`` of the particle (0 gamma, 101 proton)."""
        return PRIMARY_IDS[self.particle]

    def validate(self):
        """Raise ``ValueError`` with a one-line fix if the settings cannot be simulated."""
        if not 0 < self.e_min < self.energy_max:
            raise ValueError(
                f"ShowerGenerator: need 0 < energy_min ({self.e_min}) < energy_max "
                f"({self.energy_max}) TeV; fix energy_min/energy_max"
            )
        if self.scatter_radius <= 0:
            raise ValueError("ShowerGenerator.max_scatter_range must be positive")
        if not 0 <= self.viewcone_radius < 90:
            raise ValueError("ShowerGenerator.viewcone must be between 0 and 90 degrees")

    # ------------------------------------------------------------------ drawing
    def _directions(self, rng, n, pointing_alt, pointing_az):
        if not self.is_diffuse:
            offset = np.deg2rad(self.source_offset)
            angle = np.deg2rad(self.source_position_angle)
            lon = np.full(n, offset * np.sin(angle))
            lat = np.full(n, offset * np.cos(angle))
            return telescope_frame_to_altaz(lon, lat, pointing_alt, pointing_az)
        # isotropic within a cone: uniform in cos(theta) around the pointing
        cos_max = np.cos(np.deg2rad(self.viewcone_radius))
        cos_theta = rng.uniform(cos_max, 1.0, size=n)
        theta = np.arccos(cos_theta)
        phi = rng.uniform(0.0, 2 * np.pi, size=n)
        # spherical offset (theta, phi) around the frame centre, as fov coordinates
        x = np.cos(theta)
        y = np.sin(theta) * np.sin(phi)
        z = np.sin(theta) * np.cos(phi)
        lon = np.arctan2(y, x)
        lat = np.arcsin(z)
        return telescope_frame_to_altaz(lon, lat, pointing_alt, pointing_az)

    def generate(self, rng, n_showers, pointing_alt, pointing_az, first_shower=1, obs_height=0.0):
        """Draw ``n_showers`` showers, each used ``shower_reuse`` times.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        n_showers : int
            Number of distinct showers to draw.
        pointing_alt, pointing_az : float
            Telescope pointing [rad].
        first_shower : int
            Number given to the first shower (event ids are ``shower_number * 100 + reuse``).
        obs_height : float
            Height of the ground plane above sea level [m].

        Returns
        -------
        ThrownShowers
        """
        n_reuse = self.shower_reuse
        energy = power_law_energies(
            rng, n_showers, self.e_min, self.energy_max, self.spectral_index
        )
        alt, az = self._directions(rng, n_showers, pointing_alt, pointing_az)
        zenith = 0.5 * np.pi - alt

        gamma_like = self.primary_id == 0
        mean_xmax = self.radiation_length * np.log(energy / _CRITICAL_ENERGY_TEV) + self.xmax_offset
        if gamma_like:
            x_max = mean_xmax + self.gamma_xmax_sigma * rng.standard_normal(n_showers)
            # pair-production length is 9/7 of the radiation length
            first = rng.exponential(9.0 / 7.0 * self.radiation_length, size=n_showers)
        else:
            mean_xmax = mean_xmax - self.proton_xmax_shift
            x_max = mean_xmax + self.proton_xmax_sigma * rng.standard_normal(n_showers)
            first = rng.exponential(self.proton_interaction_length, size=n_showers)
        x_max = np.clip(x_max, first + 20.0, None)
        h_first = height_from_slant_depth(first, zenith, SCALE_HEIGHT_M, SEA_LEVEL_DEPTH_G_CM2)
        h_max = height_from_slant_depth(x_max, zenith, SCALE_HEIGHT_M, SEA_LEVEL_DEPTH_G_CM2)

        n_total = n_showers * n_reuse
        radius = self.scatter_radius * np.sqrt(rng.uniform(size=n_total))
        phi = rng.uniform(0.0, 2 * np.pi, size=n_total)

        def rep(a):
            return np.repeat(a, n_reuse)

        number = np.arange(first_shower, first_shower + n_showers, dtype=np.int64)
        return ThrownShowers(
            shower_number=rep(number),
            reuse_index=np.tile(np.arange(n_reuse, dtype=np.int64), n_showers),
            energy=rep(energy),
            alt=rep(alt),
            az=rep(az),
            core_x=radius * np.cos(phi),
            core_y=radius * np.sin(phi),
            h_first_int=rep(h_first - obs_height),
            x_max=rep(x_max),
            starting_grammage=np.zeros(n_total),
            h_max=rep(h_max - obs_height),
        )

    # ------------------------------------------------------------------ bookkeeping
    def simulation_config(self, n_showers, pointing_alt, pointing_az, run_number=1):
        """The ``SimulationConfigContainer`` describing a run of ``n_showers`` showers."""
        viewcone = self.viewcone_radius
        return SimulationConfigContainer(
            run_number=np.int32(run_number),
            energy_range_min=self.e_min * u.TeV,
            energy_range_max=self.energy_max * u.TeV,
            spectral_index=self.spectral_index,
            n_showers=n_showers,
            shower_reuse=self.shower_reuse,
            max_alt=pointing_alt * u.rad,
            min_alt=pointing_alt * u.rad,
            max_az=pointing_az * u.rad,
            min_az=pointing_az * u.rad,
            diffuse=self.is_diffuse,
            max_viewcone_radius=viewcone * u.deg,
            min_viewcone_radius=0.0 * u.deg,
            max_scatter_range=self.scatter_radius * u.m,
            min_scatter_range=0.0 * u.m,
            core_pos_mode=0,
            shower_prog_id=-1,
            detector_prog_id=-1,
        )

    def distribution_bins(self):
        """Bin edges (energy [TeV], core distance [m]) of the thrown-shower histogram."""
        energy = np.geomspace(self.e_min, self.energy_max, self.n_energy_bins + 1)
        core = np.linspace(0.0, self.scatter_radius, self.n_core_bins + 1)
        return energy, core

    def histogram(self, showers):
        """2-D histogram (energy × core distance) of thrown showers."""
        energy_bins, core_bins = self.distribution_bins()
        distance = np.hypot(showers.core_x, showers.core_y)
        hist, _, _ = np.histogram2d(showers.energy, distance, bins=[energy_bins, core_bins])
        return hist

    def shower_distribution(self, histogram, obs_id):
        """``SimulatedShowerDistribution`` from an accumulated histogram of thrown showers."""
        energy_bins, core_bins = self.distribution_bins()
        return SimulatedShowerDistribution(
            obs_id=obs_id,
            hist_id=6,
            n_entries=int(round(histogram.sum())),
            bins_energy=u.Quantity(energy_bins, u.TeV),
            bins_core_dist=u.Quantity(core_bins, u.m),
            histogram=histogram.astype(np.float32),
        )
