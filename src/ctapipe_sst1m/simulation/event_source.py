"""``SST1MToyEventSource``: the toy Monte Carlo as a ctapipe ``EventSource``.

The source draws showers in chunks (:class:`~.showers.ShowerGenerator`), computes how each
telescope sees them (:class:`~.image_model.ShowerImageModel`), skips the (shower, telescope)
pairs that cannot trigger, renders and digitises the rest (:class:`~.camera.CameraNoiseModel`),
applies the :class:`~.camera.ClusterTrigger` and yields one ``ArrayEventContainer`` per shower
that triggered at least one telescope. Events carry either calibrated DL1 images and peak
times (the default) or R1 waveforms, together with the full simulation truth, trigger times
and the constant alt/az pointing of the run.

Randomness: every chunk ``k`` draws from ``SeedSequence(seed, spawn_key=(k,))`` split into
independent streams for showers, light fluctuations, camera noise and waveform noise, so one
seed gives identical output, and the DL1 and R1 variants of a seed contain the same showers,
images and triggers. Event times come from a separate stream of exponential intervals.

Stock ctapipe tools can use the source too: it claims any path ending in ``.sst1mtoy`` (the
file need not exist), e.g. ``ctapipe-process -i gamma.sst1mtoy -o out.h5``.
"""

import astropy.units as u
import numpy as np
from astropy.time import Time
from ctapipe.containers import (
    ArrayEventContainer,
    ArrayPointingContainer,
    CoordinateFrameType,
    DL1CameraContainer,
    EventIndexContainer,
    EventType,
    ObservationBlockContainer,
    ObservationBlockState,
    ObservingMode,
    PixelStatus,
    PointingMode,
    R1CameraContainer,
    SchedulingBlockContainer,
    SchedulingBlockType,
    SimulatedCameraContainer,
    SimulatedEventContainer,
    SimulatedShowerContainer,
    TelescopeImpactParameterContainer,
    TelescopePointingContainer,
    TelescopeTriggerContainer,
    TriggerContainer,
)
from ctapipe.coordinates import TelescopeFrame
from ctapipe.core.traits import AstroQuantity, Bool, Int, List, Unicode
from ctapipe.io import DataLevel, EventSource

from ..instrument import MC_TEL_IDS, sst1m_subarray
from ..version import __version__  # noqa: F401  (ctapipe-info --plugins reports it)
from .camera import CameraNoiseModel, ClusterTrigger
from .image_model import ShowerImageModel
from .quantities import UnitQuantity
from .rendering import CameraPixels, measured_images
from .showers import ShowerGenerator

__all__ = ["SST1MToyEventSource", "TOY_SUFFIX"]

#: File-name suffix that makes stock ctapipe tools pick this source.
TOY_SUFFIX = ".sst1mtoy"
_SPEED_OF_LIGHT_M_PER_NS = 0.299792458
_RENDER_BATCH = 1000
_PIXEL_STATUS = np.uint8(PixelStatus.DVR_0 | PixelStatus.HIGH_GAIN_STORED)


class SST1MToyEventSource(EventSource):
    """Generate toy SST-1M Monte Carlo events (see the module docstring)."""

    n_showers = Int(1000, min=1, help="Number of distinct showers to throw in this run.").tag(
        config=True
    )
    seed = Int(0, min=0, help="Seed of the random generator; one seed gives identical output.").tag(
        config=True
    )
    zenith = AstroQuantity(
        default_value=20.0 * u.deg,
        physical_type=u.physical.angle,
        help="Zenith angle of the pointing, 0 to 70 deg (e.g. '40 deg').",
    ).tag(config=True)
    azimuth = AstroQuantity(
        default_value=0.0 * u.deg,
        physical_type=u.physical.angle,
        help="Azimuth of the pointing (north 0 deg, east 90 deg).",
    ).tag(config=True)
    telescopes = List(
        Int(),
        default_value=list(MC_TEL_IDS),
        minlen=1,
        help="Telescope ids to simulate: MC ids (1, 2) or data ids (21, 22).",
    ).tag(config=True)
    obs_id = Int(1, min=1, help="Observation (run) id written to the events.").tag(config=True)
    chunk_size = Int(
        20000, min=100, help="Showers drawn and processed together (memory vs speed)."
    ).tag(config=True)
    trigger_rate = UnitQuantity(
        default_value=50.0 * u.Hz,
        physical_type=u.Hz,
        help="Mean rate of the Poisson-distributed array trigger times (a bare number: Hz).",
    ).tag(config=True)
    start_time = Unicode("2024-03-01T20:00:00", help="TAI start time of the run (ISO format).").tag(
        config=True
    )
    telescope_time_jitter = UnitQuantity(
        default_value=1.0 * u.ns,
        physical_type=u.ns,
        help="Gaussian jitter of the telescope trigger times (a bare number: ns).",
    ).tag(config=True)
    waveforms = Bool(
        False,
        help="Fill R1 waveforms instead of calibrated DL1 images (exercises R1 -> DL1).",
    ).tag(config=True)
    true_images = Bool(
        True,
        help=(
            "Attach the true p.e. images to the simulation containers (ctapipe then also "
            "parameterises them, about doubling the DL1 cost)."
        ),
    ).tag(config=True)

    def __init__(self, input_url=None, config=None, parent=None, **kwargs):
        super().__init__(input_url=input_url, config=config, parent=parent, **kwargs)
        self.shower_generator = ShowerGenerator(parent=self)
        self.image_model = ShowerImageModel(parent=self)
        self.camera_noise = CameraNoiseModel(parent=self)
        self._apply_url_particle()
        self.shower_generator.validate()
        self._subarray = sst1m_subarray(tuple(self.telescopes), parent=self)
        self._tel_ids = np.array(self._subarray.tel_ids)
        self._positions = self._subarray.tel_coords.cartesian.xyz.to_value(u.m).T
        cameras = {tel.camera for tel in self._subarray.tel.values()}
        geometry = next(iter(cameras)).geometry
        self.trigger = ClusterTrigger(geometry, parent=self)
        fov = geometry.transform_to(TelescopeFrame())
        self._pix_lon = fov.pix_x.to_value(u.deg)
        self._pix_lat = fov.pix_y.to_value(u.deg)
        self._pix_area = fov.pix_area.to_value(u.deg**2)
        self._camera_radius = float(np.hypot(self._pix_lon, self._pix_lat).max())
        pitch = np.sqrt(2 * self._pix_area.mean() / np.sqrt(3))
        # per-axis variance of a uniform hexagon of flat-to-flat size p is 5 p²/72
        self._blur = np.hypot(
            self.image_model.psf_sigma.to_value(u.deg), np.sqrt(5.0 / 72.0) * pitch
        )
        zenith_deg = self.zenith.to_value(u.deg)
        if not 0.0 <= zenith_deg <= 70.0:
            raise ValueError(
                f"SST1MToyEventSource.zenith {self.zenith} is outside 0-70 deg; choose a zenith"
                " the toy's atmosphere and light pool describe"
            )
        self._pointing_alt = np.deg2rad(90.0 - zenith_deg)
        self._pointing_az = self.azimuth.to_value(u.rad)
        self._obs_height = self._subarray.reference_location.height.to_value(u.m)
        self._distributions = None
        #: Number of showers simulated so far (for progress bars).
        self.showers_done = 0
        try:
            self._start = Time(self.start_time, scale="tai")
        except ValueError:
            raise ValueError(
                f"SST1MToyEventSource.start_time {self.start_time!r} is not an ISO time"
            ) from None
        self.metadata["is_simulation"] = True

    def _apply_url_particle(self):
        """Take the particle from a ``<particle>.sst1mtoy`` input name if it names one."""
        if self.input_url is None:
            return
        stem = self.input_url.name.removesuffix(TOY_SUFFIX)
        for particle in ("gamma-diffuse", "proton", "gamma"):
            if stem.startswith(particle):
                self.shower_generator.particle = particle
                return

    # ------------------------------------------------------------------ EventSource API
    @staticmethod
    def is_compatible(file_path):
        """Claim any path ending in ``.sst1mtoy`` (nothing is read from it)."""
        return str(file_path).endswith(TOY_SUFFIX)

    @property
    def subarray(self):
        """The simulated SST-1M ``SubarrayDescription``."""
        return self._subarray

    @property
    def is_simulation(self):
        """Always True."""
        return True

    @property
    def datalevels(self):
        """R1 when ``waveforms`` is set, otherwise DL1 images."""
        return (DataLevel.R1,) if self.waveforms else (DataLevel.DL1_IMAGES,)

    @property
    def obs_ids(self):
        """The single observation id of the run."""
        return [self.obs_id]

    @property
    def scheduling_blocks(self):
        """One fixed-pointing simulation scheduling block."""
        return {
            self.obs_id: SchedulingBlockContainer(
                sb_id=np.uint64(self.obs_id),
                sb_type=SchedulingBlockType.OBSERVATION,
                producer_id="sst1m-toy-mc",
                observing_mode=ObservingMode.UNKNOWN,
                pointing_mode=PointingMode.DRIFT,
            )
        }

    @property
    def observation_blocks(self):
        """One observation block with the constant alt/az pointing of the run."""
        return {
            self.obs_id: ObservationBlockContainer(
                obs_id=np.uint64(self.obs_id),
                sb_id=np.uint64(self.obs_id),
                producer_id="sst1m-toy-mc",
                state=ObservationBlockState.COMPLETED_SUCCEDED,
                subarray_pointing_lat=self._pointing_alt * u.rad,
                subarray_pointing_lon=self._pointing_az * u.rad,
                subarray_pointing_frame=CoordinateFrameType.ALTAZ,
                actual_start_time=self._start,
                scheduled_start_time=self._start,
            )
        }

    @property
    def simulation_config(self):
        """``{obs_id: SimulationConfigContainer}`` of the run."""
        config = self.shower_generator.simulation_config(
            self.n_showers, self._pointing_alt, self._pointing_az, run_number=self.obs_id
        )
        return {self.obs_id: config}

    @property
    def simulated_shower_distributions(self):
        """Energy × core-distance histogram of *all* thrown showers (not only triggered)."""
        if self._distributions is None:
            hist = None
            for chunk, n in self._chunks():
                showers = self._throw(chunk, n)
                h = self.shower_generator.histogram(showers)
                hist = h if hist is None else hist + h
            dist = self.shower_generator.shower_distribution(hist, self.obs_id)
            self._distributions = {self.obs_id: dist}
        return self._distributions

    # ------------------------------------------------------------------ simulation
    def _chunks(self):
        for start in range(0, self.n_showers, self.chunk_size):
            yield start // self.chunk_size, min(self.chunk_size, self.n_showers - start)

    def _streams(self, chunk):
        sequence = np.random.SeedSequence(self.seed, spawn_key=(chunk,))
        return [np.random.default_rng(s) for s in sequence.spawn(4)]

    def _throw(self, chunk, n):
        rng = self._streams(chunk)[0]
        first = chunk * self.chunk_size + 1
        return self.shower_generator.generate(
            rng, n, self._pointing_alt, self._pointing_az, first, self._obs_height
        )

    def simulate_chunk(self, chunk, n):
        """Simulate one chunk; return the showers, the view and the triggered images.

        Returns
        -------
        showers : ThrownShowers
        view : TelescopeView
            Model parameters of every shower in every telescope, shape (n, n_tel).
        images : dict
            Flat arrays over the rendered (shower, telescope) pairs: ``shower``, ``tel``
            (indices), ``true_pe``, ``signal``, ``charge``, ``peak_time``, ``triggered``,
            ``n_patches``.
        wave_rng : numpy.random.Generator
            The stream for waveform noise of this chunk.
        """
        _, light_rng, noise_rng, wave_rng = self._streams(chunk)
        showers = self._throw(chunk, n)
        view = self.image_model.view(
            light_rng,
            showers,
            self._positions,
            self._pointing_alt,
            self._pointing_az,
            self.shower_generator.primary_id,
        )
        pixels = CameraPixels(
            self._pix_lon, self._pix_lat, self._pix_area, self._blur, self._camera_radius
        )
        parts = []
        n_candidates = 0
        for s, t, measured, keep, n_patches in measured_images(
            view, pixels, self.camera_noise, self.trigger, noise_rng, _RENDER_BATCH
        ):
            n_candidates += len(s)
            true_pe, signal, charge, peak_time = measured
            parts.append(
                dict(
                    shower=s[keep],
                    tel=t[keep],
                    true_pe=true_pe[keep],
                    signal=signal[keep],
                    charge=charge[keep],
                    peak_time=peak_time[keep],
                    n_patches=n_patches[keep],
                )
            )
        if parts:
            images = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        else:
            images = dict(shower=np.zeros(0, int), tel=np.zeros(0, int))
        self.log.debug(
            "chunk %d: %d showers, %d candidate images, %d triggered images",
            chunk,
            n,
            n_candidates,
            len(images["shower"]),
        )
        return showers, view, images, wave_rng

    def _generator(self):
        time_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(2**20,)))
        alt = self._pointing_alt * u.rad
        az = self._pointing_az * u.rad
        elapsed_ns = 0.0
        mean_gap_ns = 1e9 / self.trigger_rate.to_value(u.Hz)
        jitter_ns = self.telescope_time_jitter.to_value(u.ns)
        count = 0
        for chunk, n in self._chunks():
            showers, view, images, wave_rng = self.simulate_chunk(chunk, n)
            self.showers_done = chunk * self.chunk_size + n
            order = np.lexsort((images["tel"], images["shower"]))
            images = {k: v[order] for k, v in images.items()}
            triggered_showers, first_rows = np.unique(images["shower"], return_index=True)
            bounds = list(first_rows) + [len(images["shower"])]
            axis = showers.axis
            for k, i in enumerate(triggered_showers):
                rows = range(bounds[k], bounds[k + 1])
                elapsed_ns += time_rng.exponential(mean_gap_ns)
                delay = -(self._positions @ axis[i]) / _SPEED_OF_LIGHT_M_PER_NS
                jitter = jitter_ns * time_rng.standard_normal(len(delay))
                tel_ns = np.round(elapsed_ns + delay - delay.min() + jitter)
                event = self._make_event(
                    count, showers, view, images, rows, i, tel_ns, alt, az, wave_rng
                )
                yield event
                count += 1

    def _time(self, ns):
        return Time(self._start.jd1, self._start.jd2 + ns / 86400e9, format="jd", scale="tai")

    def _make_event(self, count, showers, view, images, rows, i, tel_ns, alt, az, wave_rng):
        event_id = int(showers.shower_number[i] * 100 + showers.reuse_index[i])
        event = ArrayEventContainer(
            count=count, index=EventIndexContainer(obs_id=self.obs_id, event_id=event_id)
        )
        event.simulation = SimulatedEventContainer(
            shower=SimulatedShowerContainer(
                energy=showers.energy[i] * u.TeV,
                alt=showers.alt[i] * u.rad,
                az=showers.az[i] * u.rad,
                core_x=showers.core_x[i] * u.m,
                core_y=showers.core_y[i] * u.m,
                h_first_int=showers.h_first_int[i] * u.m,
                x_max=showers.x_max[i] * u.g / u.cm**2,
                starting_grammage=showers.starting_grammage[i] * u.g / u.cm**2,
                shower_primary_id=self.shower_generator.primary_id,
            )
        )
        event.monitoring.pointing = ArrayPointingContainer(array_altitude=alt, array_azimuth=az)
        tel_triggers = {}
        for row in rows:
            t = images["tel"][row]
            tel_id = int(self._tel_ids[t])
            tel_triggers[tel_id] = TelescopeTriggerContainer(
                time=self._time(tel_ns[t]),
                event_type=EventType.SUBARRAY,
                n_trigger_pixels=int(images["n_patches"][row]),
            )
            event.monitoring.tel[tel_id].pointing = TelescopePointingContainer(
                altitude=alt, azimuth=az
            )
            true_pe = images["true_pe"][row]
            event.simulation.tel[tel_id] = SimulatedCameraContainer(
                true_image_sum=int(true_pe.sum()),
                true_image=true_pe if self.true_images else None,
                impact=TelescopeImpactParameterContainer(
                    distance=view.impact[i, t] * u.m,
                    distance_uncert=0.0 * u.m,
                    prefix="true_impact",
                ),
            )
            if self.waveforms:
                readout = self._subarray.tel[tel_id].camera.readout
                waveform = self.camera_noise.waveforms(
                    wave_rng, readout, images["signal"][row], images["peak_time"][row]
                )
                n_pix = waveform.shape[1]
                event.r1.tel[tel_id] = R1CameraContainer(
                    waveform=waveform,
                    pixel_status=np.full(n_pix, _PIXEL_STATUS, dtype=np.uint8),
                    selected_gain_channel=np.zeros(n_pix, dtype=np.int8),
                )
                event.monitoring.tel[tel_id].camera.coefficients.outlier_mask = np.zeros(
                    (1, n_pix), dtype=bool
                )
            else:
                event.dl1.tel[tel_id] = DL1CameraContainer(
                    image=images["charge"][row], peak_time=images["peak_time"][row]
                )
        first = min(trigger.time for trigger in tel_triggers.values())
        event.trigger = TriggerContainer(
            time=first,
            tels_with_trigger=np.array(sorted(tel_triggers), dtype=np.uint16),
            event_type=EventType.SUBARRAY,
            tel=dict(sorted(tel_triggers.items())),
        )
        return event
