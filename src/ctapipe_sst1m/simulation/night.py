"""Toy observation nights: data-like single-telescope DL1 runs with a known source.

:class:`NightSimulator` draws, run by run, the showers of a night with the shared toy machinery
(:class:`~.showers.ShowerGenerator`, :class:`~.image_model.ShowerImageModel`,
:class:`~.camera.CameraNoiseModel`, :class:`~.camera.ClusterTrigger`):

* gammas from the target with a log-parabola spectrum (default the Crab, MAGIC 2015:
  dN/dE = 3.23e-11 (E/TeV)^(-2.47 - 0.24 log10(E/TeV)) TeV⁻¹ cm⁻² s⁻¹), thrown on a disk
  of ``ShowerGenerator`` scatter radius, drawn by thinning a power-law envelope;
* an isotropic proton background (power law 9.8e-6 (E/TeV)^-2.62 TeV⁻¹ cm⁻² s⁻¹ sr⁻¹, the
  pyirf/IRF-document proton spectrum) within the generator's view cone, at the physical rate
  times ``background_reduction`` (recorded in the truth file) so that runs stay small;
* both telescopes see the same showers, so coincidences are physical; the light of cloudy runs
  is scaled by the atmospheric transmission, the NSB follows
  :class:`~.observation.ObservingConditions`;
* the pointing follows the wobble position in alt/az through every run; the run is simulated in
  time slices (``slice_duration``) with the pointing of the slice centre;
* trigger times with dead time and the per-era camera clocks and event numbers of
  :mod:`.clocks`, interleaved sky-pedestal events (``pedestal_rate``).

Files are written by :mod:`.night_files`, the truth by :mod:`.night_truth`.
"""

from dataclasses import dataclass, field

import astropy.units as u
import ctapipe.fitting as ctapipe_fitting
import numpy as np
from ctapipe.coordinates import TelescopeFrame
from ctapipe.core import TelescopeComponent
from ctapipe.core.traits import AstroQuantity, CaselessStrEnum, Float, Int, Unicode

from ..core.errors import SST1MInputError
from ..stereo.matching import matcher_name_for_date
from .camera import CameraNoiseModel, ClusterTrigger
from .catalogue import resolve_target
from .clocks import ERAS, TelescopeClocks, apply_dead_time, era_for_date, swat_event_ids
from .geometry import altaz_to_telescope_frame
from .image_model import ShowerImageModel
from .observation import (
    NS,
    NightSchedule,
    ObservingConditions,
    UnitQuantity,
    altaz_track,
    grid_times,
    interpolate_altaz,
    run_pointing_grid,
)
from .rendering import CameraPixels, measured_images
from .showers import PRIMARY_IDS, ShowerGenerator

__all__ = [
    "NightSimulator",
    "SimulatedRun",
    "TelescopeRun",
    "demo_night",
    "log_parabola",
    "run_night",
]

_SPEED_OF_LIGHT_M_PER_NS = 0.299792458
_RENDER_BATCH = 1000


def log_parabola(energy, amplitude, index, curvature, reference=1.0):
    """dN/dE = A (E/E0)^(-index - curvature·log10(E/E0)) (units of ``amplitude``)."""
    x = np.asarray(energy, dtype=float) / reference
    return amplitude * x ** (-index - curvature * np.log10(x))


def _reseed_timing_fit(seed):
    """Reset the generator of ctapipe's robust timing fit (``ctapipe.fitting.FIT_RNG``)."""
    fit_rng = getattr(ctapipe_fitting, "FIT_RNG", None)
    if fit_rng is not None:
        fit_rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state


@dataclass
class TelescopeRun:
    """What one telescope recorded in one run: accepted triggers in recorded-time order."""

    tel_id: int
    clock_offset_ns: int
    #: recorded time stamps [ns TAI], strictly increasing
    time_ns: np.ndarray
    #: true arrival times [ns TAI]
    true_time_ns: np.ndarray
    event_id: np.ndarray
    is_pedestal: np.ndarray
    #: index into the run's image arrays (-1 for pedestals)
    image_index: np.ndarray
    n_shower_triggers: int
    n_pedestal_triggers: int
    dead_time_s: float

    @property
    def n_accepted(self):
        """Accepted triggers (showers and pedestals)."""
        return len(self.time_ns)


@dataclass
class SimulatedRun:
    """Showers, triggered images and per-telescope records of one run."""

    plan: object
    era: str
    #: per triggered (shower, telescope) image
    images: dict
    #: per shower with at least one triggered image
    showers: dict
    telescopes: dict = field(default_factory=dict)
    thrown: dict = field(default_factory=dict)
    pointing_grid_ns: np.ndarray | None = None
    pointing: dict = field(default_factory=dict)


class NightSimulator(TelescopeComponent):
    """Showers, triggers and clocks of a toy observation night (see the module docstring)."""

    target = Unicode("Crab", help="Target name, resolved in the packaged source catalogue.").tag(
        config=True
    )
    ra = Float(None, allow_none=True, help="Target right ascension (ICRS, deg); overrides.").tag(
        config=True
    )
    dec = Float(None, allow_none=True, help="Target declination (ICRS, deg); overrides.").tag(
        config=True
    )
    era = CaselessStrEnum(
        ["auto", *ERAS],
        default_value="auto",
        help=(
            "Timing era: pre-wr (unsynchronised clocks), wr (White Rabbit), swat (SWAT array "
            "event ids); auto takes the era of the date."
        ),
    ).tag(config=True)
    seed = Int(0, min=0, help="Seed of the random generators; one seed gives identical files.").tag(
        config=True
    )
    source_amplitude = AstroQuantity(
        default_value=3.23e-11 * u.Unit("TeV-1 cm-2 s-1"),
        physical_type=u.Unit("TeV-1 cm-2 s-1"),
        help="Differential flux of the source at the reference energy (log parabola).",
    ).tag(config=True)
    source_index = Float(2.47, help="Spectral index of the source at the reference energy.").tag(
        config=True
    )
    source_curvature = Float(
        0.24, help="Curvature (beta, per decade of energy, log10) of the source spectrum."
    ).tag(config=True)
    source_reference_energy = AstroQuantity(
        default_value=1.0 * u.TeV, physical_type=u.TeV, help="Reference energy of the spectrum."
    ).tag(config=True)
    source_flux_scale = Float(
        1.0,
        min=0.0,
        help="Factor on the source flux (recorded), e.g. to have more gammas in short tests.",
    ).tag(config=True)
    gamma_energy_min = UnitQuantity(
        default_value=0.2 * u.TeV, physical_type=u.TeV, help="Lowest simulated gamma energy."
    ).tag(config=True)
    gamma_energy_max = UnitQuantity(
        default_value=100.0 * u.TeV, physical_type=u.TeV, help="Highest simulated gamma energy."
    ).tag(config=True)
    proton_amplitude = AstroQuantity(
        default_value=9.8e-6 * u.Unit("TeV-1 cm-2 s-1 sr-1"),
        physical_type=u.Unit("TeV-1 cm-2 s-1 sr-1"),
        help="Differential proton intensity at 1 TeV (power law, pyirf IRF-document value).",
    ).tag(config=True)
    proton_index = Float(2.62, help="Spectral index of the proton power law.").tag(config=True)
    proton_energy_min = UnitQuantity(
        default_value=1.0 * u.TeV,
        physical_type=u.TeV,
        help=(
            "Lowest simulated proton energy; below 1 TeV toy protons (a third of a gamma's "
            "light) practically never trigger, so they are not thrown."
        ),
    ).tag(config=True)
    proton_energy_max = UnitQuantity(
        default_value=200.0 * u.TeV, physical_type=u.TeV, help="Highest simulated proton energy."
    ).tag(config=True)
    background_reduction = Float(
        0.1,
        min=0.0,
        max=1.0,
        help=(
            "Factor on the physical proton rate (recorded in the truth file) so that runs stay "
            "small; 1 simulates the full cosmic-ray background."
        ),
    ).tag(config=True)
    pedestal_rate = UnitQuantity(
        default_value=2.0 * u.Hz,
        physical_type=u.Hz,
        help="Rate of the interleaved sky-pedestal triggers of every camera.",
    ).tag(config=True)
    slice_duration = UnitQuantity(
        default_value=2.0 * u.s,
        physical_type=u.s,
        help=(
            "Length of the time slices in which showers share one pointing (the sky moves "
            "less than 0.005 deg in 1 s)."
        ),
    ).tag(config=True)

    def __init__(self, subarray, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        self.schedule = NightSchedule(parent=self)
        self.conditions = ObservingConditions(parent=self)
        self.clocks = TelescopeClocks(subarray=subarray, parent=self)
        self.gamma_generator = ShowerGenerator(
            parent=self,
            particle="gamma",
            energy_min=self.gamma_energy_min.to_value(u.TeV),
            energy_max=self.gamma_energy_max.to_value(u.TeV),
            shower_reuse=1,
        )
        self.proton_generator = ShowerGenerator(
            parent=self,
            particle="proton",
            energy_min=self.proton_energy_min.to_value(u.TeV),
            energy_max=self.proton_energy_max.to_value(u.TeV),
            spectral_index=-self.proton_index,
            shower_reuse=1,
        )
        self.gamma_generator.validate()
        self.proton_generator.validate()
        self.image_model = ShowerImageModel(parent=self)
        self.camera_noise = CameraNoiseModel(parent=self)
        self.base_nsb_rate = self.camera_noise.nsb_rate_ghz
        self.tel_ids = [int(t) for t in subarray.tel_ids]
        self.positions = subarray.tel_coords.cartesian.xyz.to_value(u.m).T
        self.locations = subarray.tel_earth_locations
        geometry = subarray.tel[self.tel_ids[0]].camera.geometry
        self.trigger = ClusterTrigger(geometry, parent=self)
        fov = geometry.transform_to(TelescopeFrame())
        self._pix_lon = fov.pix_x.to_value(u.deg)
        self._pix_lat = fov.pix_y.to_value(u.deg)
        self._pix_area = fov.pix_area.to_value(u.deg**2)
        self._camera_radius = float(np.hypot(self._pix_lon, self._pix_lat).max())
        pitch = np.sqrt(2 * self._pix_area.mean() / np.sqrt(3))
        self._blur = np.hypot(
            self.image_model.psf_sigma.to_value(u.deg), np.sqrt(5.0 / 72.0) * pitch
        )
        self._obs_height = subarray.reference_location.height.to_value(u.m)
        self.target_name, self.target_coord = resolve_target(self.target, self.ra, self.dec)
        night = self.schedule.night
        self.night = night
        self.effective_era = era_for_date(night) if self.era == "auto" else self.era
        if self.effective_era != era_for_date(night):
            self.log.warning(
                "era %s on %s: sst1m-dl1-stereo --method auto will use %s for this date",
                self.era,
                night,
                self.expected_matcher(),
            )
        self._envelope = self._gamma_envelope()
        self._next_swat_id = 1

    # ------------------------------------------------------------------ rates
    def _gamma_envelope(self):
        """Power-law envelope (index, normalisation) above the log parabola, for thinning."""
        e_min = self.gamma_generator.e_min
        e_max = self.gamma_generator.energy_max
        e0 = self.source_reference_energy.to_value(u.TeV)
        grid = np.geomspace(e_min, e_max, 2001)
        local = self.source_index + 2 * self.source_curvature * np.log10(grid / e0)
        index = float(np.clip(local.min(), 1.05, None))
        amplitude = self.source_amplitude.to_value("TeV-1 cm-2 s-1") * self.source_flux_scale
        ratio = log_parabola(grid, 1.0, self.source_index, self.source_curvature, e0) * grid**index
        norm = amplitude * float(ratio.max()) * 1.0001
        return index, norm

    def _disk_area_cm2(self, generator):
        return np.pi * (generator.scatter_radius * 100.0) ** 2

    @property
    def gamma_envelope_rate(self):
        """Rate [1/s] of thrown envelope gammas (before thinning to the log parabola)."""
        index, norm = self._envelope
        g = self.gamma_generator
        integral = (g.e_min ** (1 - index) - g.energy_max ** (1 - index)) / (index - 1)
        return norm * integral * self._disk_area_cm2(g)

    @property
    def gamma_rate(self):
        """Rate [1/s] of thrown source gammas on the throwing disk."""
        g = self.gamma_generator
        e0 = self.source_reference_energy.to_value(u.TeV)
        grid = np.geomspace(g.e_min, g.energy_max, 4001)
        amplitude = self.source_amplitude.to_value("TeV-1 cm-2 s-1") * self.source_flux_scale
        flux = log_parabola(grid, amplitude, self.source_index, self.source_curvature, e0)
        return float(np.trapezoid(flux * grid, np.log(grid))) * self._disk_area_cm2(g)

    @property
    def proton_rate(self):
        """Rate [1/s] of thrown protons (after the background reduction)."""
        g = self.proton_generator
        index = self.proton_index
        integral = (g.e_min ** (1 - index) - g.energy_max ** (1 - index)) / (index - 1)
        solid_angle = 2 * np.pi * (1 - np.cos(np.deg2rad(g.viewcone_radius)))
        amplitude = self.proton_amplitude.to_value("TeV-1 cm-2 s-1 sr-1")
        physical = amplitude * integral * solid_angle * self._disk_area_cm2(g)
        return physical * self.background_reduction

    def plan(self):
        """The runs of the night (list of `~.observation.RunPlan`)."""
        location = self.locations[self.tel_ids[0]]
        return self.schedule.plan(self.target_coord, location, self.conditions)

    def expected_matcher(self):
        """Matcher ``sst1m-dl1-stereo --method auto`` picks for this night's date."""
        return matcher_name_for_date(self.night)

    # ------------------------------------------------------------------ simulation
    def _streams(self, *key, n=4):
        sequence = np.random.SeedSequence(self.seed, spawn_key=tuple(int(k) for k in key))
        return [np.random.default_rng(s) for s in sequence.spawn(n)]

    def _throw(self, rng, particle, n, p_alt, p_az):
        generator = self.gamma_generator if particle == "gamma" else self.proton_generator
        showers = generator.generate(rng, n, p_alt, p_az, 1, self._obs_height)
        if particle == "gamma":
            index, norm = self._envelope
            e0 = self.source_reference_energy.to_value(u.TeV)
            amplitude = self.source_amplitude.to_value("TeV-1 cm-2 s-1") * self.source_flux_scale
            target = log_parabola(
                showers.energy, amplitude, self.source_index, self.source_curvature, e0
            )
            keep = rng.uniform(size=len(showers)) * norm * showers.energy ** (-index) < target
            showers = showers.select(keep)
        return showers

    def _images(self, light_rng, noise_rng, showers, p_alt, p_az, primary_id, transmission):
        view = self.image_model.view(light_rng, showers, self.positions, p_alt, p_az, primary_id)
        view.intensity = view.intensity * transmission
        pixels = CameraPixels(
            self._pix_lon, self._pix_lat, self._pix_area, self._blur, self._camera_radius
        )
        parts = []
        for s, t, measured, triggered, n_patches in measured_images(
            view, pixels, self.camera_noise, self.trigger, noise_rng, _RENDER_BATCH
        ):
            _, _, charge, peak_time = measured
            parts.append(
                dict(
                    shower=s[triggered],
                    tel=t[triggered],
                    charge=charge[triggered],
                    peak_time=peak_time[triggered],
                    n_patches=n_patches[triggered].astype(np.int64),
                    impact=view.impact[s[triggered], t[triggered]],
                )
            )
        return parts

    def simulate_run(self, plan):
        """Simulate one run: triggered images, accepted triggers and clocks per telescope."""
        slice_ns = int(round(self.slice_duration.to_value(u.s) * NS))
        grid_ns = run_pointing_grid(plan)
        times = grid_times(grid_ns)
        pointing = {t: altaz_track(plan.wobble, self.locations[t], times) for t in self.tel_ids}
        ref = self.tel_ids[0]
        src_alt, src_az = altaz_track(self.target_coord, self.locations[ref], times)
        night_start = getattr(self, "_night_start_ns", plan.start_ns)

        columns = {k: [] for k in ("shower", "tel", "charge", "peak_time", "n_patches", "impact")}
        shower_cols = {
            k: []
            for k in ("time_ns", "primary", "energy", "alt", "az", "core_x", "core_y", "x_max")
        }
        thrown = {"gamma": 0, "proton": 0}
        n_showers = 0
        n_slices = max(1, int(np.ceil(plan.duration_ns / slice_ns)))
        for k in range(n_slices):
            t_a = plan.start_ns + k * slice_ns
            t_b = min(t_a + slice_ns, plan.stop_ns)
            mid = (t_a + t_b) // 2
            p_alt, p_az = (
                float(v[0]) for v in interpolate_altaz(grid_ns, *pointing[ref], np.array([mid]))
            )
            s_alt, s_az = (
                float(v[0]) for v in interpolate_altaz(grid_ns, src_alt, src_az, np.array([mid]))
            )
            lon, lat = altaz_to_telescope_frame(s_alt, s_az, p_alt, p_az)
            self.gamma_generator.source_offset = float(np.rad2deg(np.hypot(lon, lat)))
            self.gamma_generator.source_position_angle = float(np.rad2deg(np.arctan2(lon, lat)))
            self.camera_noise.nsb_rate = float(
                self.conditions.nsb_rate(self.base_nsb_rate, night_start, plan, mid)
            )
            dt = (t_b - t_a) / NS
            for p, (particle, rate) in enumerate(
                (("gamma", self.gamma_envelope_rate), ("proton", self.proton_rate))
            ):
                count_rng, shower_rng, light_rng, noise_rng = self._streams(plan.index, k, p)
                n = int(count_rng.poisson(rate * dt))
                if n == 0:
                    continue
                showers = self._throw(shower_rng, particle, n, p_alt, p_az)
                thrown[particle] += len(showers)
                if len(showers) == 0:
                    continue
                offset = np.floor(count_rng.uniform(size=len(showers)) * (t_b - t_a))
                arrival = t_a + offset.astype(np.int64)  # int64: ns precision
                parts = self._images(
                    light_rng,
                    noise_rng,
                    showers,
                    p_alt,
                    p_az,
                    PRIMARY_IDS[particle],
                    plan.transmission,
                )
                hit = np.unique(np.concatenate([q["shower"] for q in parts] or [np.zeros(0, int)]))
                if len(hit) == 0:
                    continue
                renumber = np.full(len(showers), -1, dtype=np.int64)
                renumber[hit] = n_showers + np.arange(len(hit))
                n_showers += len(hit)
                for q in parts:
                    q["shower"] = renumber[q["shower"]]
                    for name in columns:
                        columns[name].append(q[name])
                shower_cols["time_ns"].append(arrival[hit].astype(np.int64))
                shower_cols["primary"].append(np.full(len(hit), PRIMARY_IDS[particle]))
                for name in ("energy", "alt", "az", "core_x", "core_y", "x_max"):
                    shower_cols[name].append(getattr(showers, name)[hit])
        self.camera_noise.nsb_rate = self.base_nsb_rate

        images = {name: (np.concatenate(v) if v else np.zeros(0)) for name, v in columns.items()}
        if len(images["charge"]) == 0:
            images["charge"] = np.zeros((0, len(self._pix_lon)), np.float32)
            images["peak_time"] = np.zeros((0, len(self._pix_lon)), np.float32)
        for name in ("shower", "tel", "n_patches"):
            images[name] = images[name].astype(np.int64)
        showers = {
            name: (np.concatenate(v) if v else np.zeros(0)) for name, v in shower_cols.items()
        }
        showers["time_ns"] = showers["time_ns"].astype(np.int64)
        showers["shower_id"] = plan.obs_id * 1_000_000 + np.arange(n_showers, dtype=np.int64)
        run = SimulatedRun(plan=plan, era=self.effective_era, images=images, showers=showers)
        run.thrown = thrown
        run.pointing_grid_ns = grid_ns
        run.pointing = pointing
        self._record_triggers(run)
        return run

    def _record_triggers(self, run):
        """Pedestals, dead time, clocks and event numbers of every telescope of ``run``."""
        plan, images, showers = run.plan, run.images, run.showers
        clock_rng, pedestal_rng, stamp_rng, _ = self._streams(plan.index, 1 << 20)
        offsets = self.clocks.run_offsets(clock_rng, run.era, self.tel_ids)
        axes = np.stack(
            [
                np.cos(showers["alt"]) * np.cos(showers["az"]),
                -np.cos(showers["alt"]) * np.sin(showers["az"]),
                np.sin(showers["alt"]),
            ],
            axis=-1,
        ).reshape(-1, 3)
        period_ns = NS / self.pedestal_rate.to_value(u.Hz)
        dead_ns = self.clocks.dead_time_ns
        accepted = {}
        for t_index, tel_id in enumerate(self.tel_ids):
            rows = np.nonzero(images["tel"] == t_index)[0]
            shower = images["shower"][rows]
            delay = -(axes[shower] @ self.positions[t_index]) / _SPEED_OF_LIGHT_M_PER_NS
            shower_t = showers["time_ns"][shower] + np.rint(delay).astype(np.int64)
            # the first trigger of a run is a pedestal (so every event has an NSB level; real
            # data bridge the first pedestals with shower-free events), then a fixed period
            # with a small random phase per telescope
            phase = pedestal_rng.uniform(0, 0.001 * period_ns)
            ped_t = plan.start_ns + np.arange(phase, plan.duration_ns, period_ns).astype(np.int64)
            true_t = np.concatenate([shower_t, ped_t])
            index = np.concatenate([rows, np.full(len(ped_t), -1, dtype=np.int64)])
            order = np.argsort(true_t, kind="stable")
            true_t, index = true_t[order], index[order]
            keep = apply_dead_time(true_t, dead_ns)
            dead_s = float(np.minimum(dead_ns, plan.stop_ns - true_t[keep]).sum()) / NS
            accepted[tel_id] = (true_t[keep], index[keep], len(rows), len(ped_t), dead_s)

        if run.era == "swat":
            merged = [
                (t, tel_id, k)
                for tel_id, (tt, idx, *_rest) in accepted.items()
                for k, (t, i) in enumerate(zip(tt, idx, strict=True))
                if i >= 0
            ]
            merged.sort()
            shower_of = [images["shower"][accepted[tel][1][k]] for _, tel, k in merged]
            ids, self._next_swat_id = swat_event_ids(shower_of, self._next_swat_id)
            swat = {tel_id: {} for tel_id in self.tel_ids}
            for (_, tel_id, k), event_id in zip(merged, ids, strict=True):
                swat[tel_id][k] = int(event_id)

        for tel_id, (true_t, index, n_showers, n_peds, dead_s) in accepted.items():
            stamped = self.clocks.stamp(stamp_rng, run.era, true_t, offsets[tel_id])
            order = np.argsort(stamped, kind="stable")
            camera_counter = np.arange(1, len(true_t) + 1, dtype=np.int64)
            event_id = camera_counter.copy()
            if run.era == "swat":
                # pedestals keep the camera counter, offset beyond the array numbers
                for k, value in swat[tel_id].items():
                    event_id[k] = value
                is_ped = index < 0
                event_id[is_ped] = 10**9 + camera_counter[is_ped]
            run.telescopes[tel_id] = TelescopeRun(
                tel_id=tel_id,
                clock_offset_ns=offsets[tel_id],
                time_ns=stamped[order],
                true_time_ns=true_t[order],
                event_id=event_id[order],
                is_pedestal=(index < 0)[order],
                image_index=index[order],
                n_shower_triggers=n_showers,
                n_pedestal_triggers=n_peds,
                dead_time_s=dead_s,
            )
        if any(np.any(np.diff(t.time_ns) <= 0) for t in run.telescopes.values()):
            raise SST1MInputError(
                "TelescopeClocks: time stamps not strictly increasing; make dead_time much "
                "longer than the clock jitter"
            )

    def nsb_rate_at(self, plan, time_ns):
        """NSB rate [GHz] at a time of a run."""
        night_start = getattr(self, "_night_start_ns", plan.start_ns)
        return self.conditions.nsb_rate(self.base_nsb_rate, night_start, plan, time_ns)

    def pedestal_noise_rng(self, plan, tel_id):
        """Generator of the pedestal waveform noise of one telescope's run."""
        return self._streams(plan.index, 1 << 21, tel_id, n=1)[0]

    def reseed_timing_fit(self, plan, tel_id):
        """Make ctapipe's robust timing fit reproducible run by run."""
        _reseed_timing_fit(self._streams(plan.index, 1 << 22, tel_id, n=1)[0].integers(2**62))

    def start_night(self, plans):
        """Remember the start of the night (the origin of the NSB variation)."""
        self._night_start_ns = plans[0].start_ns


def run_night(
    output_dir,
    *,
    date="2024-03-05",
    target="Crab",
    n_runs=4,
    run_duration=40.0,
    era="auto",
    seed=0,
    overwrite=True,
    config=None,
    extra_args=(),
):
    """Run ``sst1m-simulate-night`` in-process; returns the output directory.

    ``config`` is a traitlets configuration dict (e.g.
    ``{"ObservingConditions": {"cloud_runs": [2]}}``); ``extra_args`` more command-line words.
    """
    from pathlib import Path

    from ctapipe.core import run_tool
    from traitlets.config import Config

    from ..tools.simulate_night import SimulateNightTool

    output_dir = Path(output_dir).expanduser().absolute()
    argv = [
        f"--date={date}",
        f"--target={target}",
        f"--n-runs={int(n_runs)}",
        f"--run-duration={float(run_duration)}",
        f"--era={era}",
        f"--seed={int(seed)}",
        f"--output-dir={output_dir}",
        f"--provenance-log={output_dir.parent / (output_dir.name + '.provenance.log')}",
        "--log-level=WARN",
        *extra_args,
    ]
    if overwrite:
        argv.append("--overwrite")
    tool = SimulateNightTool(config=Config(config or {}))
    run_tool(tool, argv, cwd=output_dir.parent, raises=True)
    return output_dir


def demo_night(out_dir):
    """A short demonstration night (4 runs of 40 s of the Crab, two wobbles, White Rabbit era
    with SWAT ids, run 3 under a cloud); the same as::

        sst1m-simulate-night --date 2024-03-05 --target Crab --n-runs 4 --runs-per-wobble 1 \\
            --seed 1 --output-dir OUT --overwrite --ObservingConditions.cloud_runs=[3]
    """
    return run_night(
        out_dir,
        date="2024-03-05",
        target="Crab",
        n_runs=4,
        seed=1,
        config={"ObservingConditions": {"cloud_runs": [3]}},
        extra_args=("--runs-per-wobble=1",),
    )
