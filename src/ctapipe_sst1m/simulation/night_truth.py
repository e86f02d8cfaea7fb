"""The truth of a toy observation night: ``truth.json`` records and the event truth table."""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..io.clock import tai_ns_to_time
from .observation import NS

__all__ = ["night_truth", "run_summary", "truth_rows"]


def run_summary(run, files):
    """The truth-file record of a simulated run."""
    plan = run.plan
    zenith = {}
    for tel_id, (alt, _) in run.pointing.items():
        zenith[str(tel_id)] = [float(90 - np.rad2deg(alt[0])), float(90 - np.rad2deg(alt[-1]))]
    showers_by_tel = {
        tel_id: set(run.images["shower"][rec.image_index[~rec.is_pedestal]].tolist())
        for tel_id, rec in run.telescopes.items()
    }
    common = set.intersection(*showers_by_tel.values()) if showers_by_tel else set()
    primary = run.showers["primary"]
    telescopes = {}
    for tel_id, rec in run.telescopes.items():
        duration = plan.duration_ns / NS
        telescopes[str(tel_id)] = {
            "file": files[tel_id],
            "clock_offset_ns": int(rec.clock_offset_ns),
            "n_shower_triggers": int(rec.n_shower_triggers),
            "n_pedestal_triggers": int(rec.n_pedestal_triggers),
            "n_events": int(np.count_nonzero(~rec.is_pedestal)),
            "n_pedestal_events": int(np.count_nonzero(rec.is_pedestal)),
            "n_gamma_events": int(
                np.count_nonzero(
                    primary[run.images["shower"][rec.image_index[~rec.is_pedestal]]] == 0
                )
            ),
            "dead_time_s": rec.dead_time_s,
            "livetime_s": duration - rec.dead_time_s,
            "dead_time_fraction": rec.dead_time_s / duration,
            "pointing_zenith_deg": zenith[str(tel_id)],
        }
    return {
        "obs_id": plan.obs_id,
        "run_number": plan.run_number,
        "wobble": plan.wobble_name,
        "wobble_ra_deg": float(plan.wobble.ra.deg),
        "wobble_dec_deg": float(plan.wobble.dec.deg),
        "start_utc": tai_ns_to_time(plan.start_ns).utc.isot,
        "start_ns": int(plan.start_ns),
        "planned_duration_s": plan.planned_duration_ns / NS,
        "duration_s": plan.duration_ns / NS,
        "transmission": plan.transmission,
        "nsb_factor": plan.nsb_factor,
        "flags": list(plan.flags),
        "thrown": {k: int(v) for k, v in run.thrown.items()},
        "n_coincidences": len(common),
        "telescopes": telescopes,
    }


def truth_rows(run):
    """Truth table rows (one per written shower event) of a simulated run."""
    showers, images = run.showers, run.images
    rows = []
    for tel_id, rec in run.telescopes.items():
        sel = ~rec.is_pedestal
        idx = rec.image_index[sel]
        shower = images["shower"][idx]
        rows.append(
            Table(
                {
                    "obs_id": np.full(len(idx), run.plan.obs_id, dtype=np.int64),
                    "event_id": rec.event_id[sel],
                    "tel_id": np.full(len(idx), tel_id, dtype=np.int16),
                    "shower_id": showers["shower_id"][shower],
                    "shower_primary_id": showers["primary"][shower].astype(np.int16),
                    "true_energy": showers["energy"][shower] * u.TeV,
                    "true_alt": np.rad2deg(showers["alt"][shower]) * u.deg,
                    "true_az": np.rad2deg(showers["az"][shower]) * u.deg,
                    "true_core_x": showers["core_x"][shower] * u.m,
                    "true_core_y": showers["core_y"][shower] * u.m,
                    "true_x_max": showers["x_max"][shower] * u.g / u.cm**2,
                    "true_impact": images["impact"][idx] * u.m,
                    "true_time_ns": rec.true_time_ns[sel],
                    "time_ns": rec.time_ns[sel],
                }
            )
        )
    return rows


def night_truth(simulator, runs, config):
    """The content of ``truth.json``: what was injected into the night."""
    sim = simulator
    bad = []
    for run in runs:
        for flag in run["flags"]:
            entry = {
                "type": flag,
                "obs_id": run["obs_id"],
                "run_number": run["run_number"],
                "start_ns": run["start_ns"],
                "stop_ns": run["start_ns"] + int(round(run["duration_s"] * NS)),
            }
            if flag == "cloud":
                entry["transmission"] = run["transmission"]
            if flag == "moon":
                entry["nsb_factor"] = run["nsb_factor"]
            if flag == "truncated":
                entry["planned_duration_s"] = run["planned_duration_s"]
            bad.append(entry)
    proton = sim.proton_generator
    gamma = sim.gamma_generator
    return {
        "format": "sst1m-toy-night/1",
        "note": "toy observation night (not CORSIKA + sim_telarray); rates are toy rates",
        "date": sim.night.isoformat(),
        "seed": sim.seed,
        "era": sim.effective_era,
        "auto_matcher": sim.expected_matcher(),
        "target": {
            "name": sim.target_name,
            "ra_deg": float(sim.target_coord.ra.deg),
            "dec_deg": float(sim.target_coord.dec.deg),
        },
        "wobble_offset_deg": float(sim.schedule.wobble_offset.to_value(u.deg)),
        "n_wobbles": sim.schedule.n_wobbles,
        "source_spectrum": {
            "model": "log-parabola dN/dE = A (E/E0)^(-index - curvature log10(E/E0))",
            "amplitude_TeV-1_cm-2_s-1": sim.source_amplitude.to_value("TeV-1 cm-2 s-1"),
            "index": sim.source_index,
            "curvature": sim.source_curvature,
            "reference_energy_TeV": sim.source_reference_energy.to_value(u.TeV),
            "flux_scale": sim.source_flux_scale,
            "energy_range_TeV": [gamma.e_min, gamma.energy_max],
            "scatter_radius_m": gamma.scatter_radius,
            "thrown_rate_hz": sim.gamma_rate,
        },
        "background": {
            "particle": "proton",
            "model": "power law dN/dE = A (E/TeV)^-index, isotropic",
            "amplitude_TeV-1_cm-2_s-1_sr-1": sim.proton_amplitude.to_value("TeV-1 cm-2 s-1 sr-1"),
            "index": sim.proton_index,
            "energy_range_TeV": [proton.e_min, proton.energy_max],
            "viewcone_deg": proton.viewcone_radius,
            "scatter_radius_m": proton.scatter_radius,
            "reduction_factor": sim.background_reduction,
            "thrown_rate_hz": sim.proton_rate,
        },
        "dead_time_s": sim.clocks.dead_time.to_value(u.s),
        "pedestal_rate_hz": sim.pedestal_rate.to_value(u.Hz),
        "nsb_rate_ghz": sim.base_nsb_rate,
        "bad_periods": bad,
        "runs": runs,
        "config": json.loads(json.dumps(config, default=str)),
    }


def write_truth_files(output_dir, truth, table, prepare_output):
    """Write ``truth.json`` and (if there are events) ``truth_events.fits`` atomically.

    ``prepare_output(path)`` gives a pending output (``SST1MTool.prepare_output``).
    """
    pending = prepare_output(Path(output_dir) / "truth.json")
    pending.path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    pending.commit()
    if table is not None:
        pending = prepare_output(Path(output_dir) / "truth_events.fits")
        table.write(pending.path, format="fits")
        pending.commit()
