"""Chunked reading of MC DL2 for IRFs: `SST1MDL2EventReader`.

ctapipe's `~ctapipe.io.DL2EventLoader` reads a whole file into one table (memory grows with
the file), reads subarray events only and counts multiplicity in a way that rejects mono
events in the optimizers' default cuts. This reader uses ctapipe's `~ctapipe.io.TableLoader`
chunk by chunk and yields, per chunk, the columns pyirf needs (``true_energy``,
``reco_energy``, ``gh_score``, ``theta``, ``true_source_fov_offset``,
``reco_source_fov_offset``, ``multiplicity``, directions and pointing): the memory is that of
one chunk whatever the size of the file. It reads

* DL2 of ``sst1m-dl1-dl2`` and of stock ``ctapipe-apply-models`` (the reconstructor prefixes
  come from ``/dl2/sst1m_models`` or, failing that, from the file's DL2 groups);
* ``tel_setup="stereo"``: the subarray DL2 tables; multiplicity = telescopes used by all three
  reconstructors (ctapipe's definition);
* ``tel_setup="tel_021"``/``"tel_022"``: one telescope's DL2 tables (mono), multiplicity 1;
  MC telescope ids 1/2 stand for 21/22 (``telescope_map``).
"""

import gc
import json

import astropy.units as u
import numpy as np
import tables
from astropy.coordinates import angular_separation
from astropy.table import QTable
from ctapipe.core import Component, QualityQuery
from ctapipe.core.traits import Dict, Int, List, Tuple, Unicode
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import TableLoader, read_table

from ..core.errors import SST1MInputError
from ..io.datamodel import (
    DL1_SUBARRAY_TRIGGER_TABLE,
    DL2_MODELS_TABLE,
    DL2_SUBARRAY_GROUP,
    OBSERVATION_BLOCK_TABLE,
    SHOWER_DISTRIBUTION_TABLE,
    SIMULATION_RUN_TABLE,
    SIMULATION_SHOWER_TABLE,
)
from .spectra import simulation_info

__all__ = ["SST1MDL2EventReader", "TEL_SETUPS", "INSTRUMENT", "separation"]

#: Telescope setups of SST-1M IRFs and the GADF INSTRUME keyword of each.
INSTRUMENT = {"tel_021": "SST1M-1", "tel_022": "SST1M-2", "stereo": "SST1M-1,2"}
TEL_SETUPS = tuple(INSTRUMENT)

_GROUPS = {"energy": "energy", "geometry": "geometry", "classifier": "particle_type"}
_COLUMN = {"energy": "energy", "classifier": "prediction"}


def separation(alt1, az1, alt2, az2):
    """Angular distance between two horizontal directions (Quantities) in degrees."""
    return angular_separation(az1, alt1, az2, alt2).to(u.deg)


class SST1MDL2EventReader(Component):
    """Read MC DL2 events of one telescope setup in chunks, with the columns pyirf needs."""

    #: MC input: the simulation tables are required and read (observed-data subclasses: False)
    simulated = True

    chunk_size = Int(200_000, min=1, help="Events read at once; memory is proportional to it.").tag(
        config=True
    )
    energy_reconstructor = Unicode(
        None,
        allow_none=True,
        help="Prefix of the reconstructed energy; None takes it from the file's model table"
        " or its single energy group.",
    ).tag(config=True)
    geometry_reconstructor = Unicode(
        None,
        allow_none=True,
        help="Prefix of the reconstructed direction; None takes the models' (disp) or the"
        " file's single geometry group.",
    ).tag(config=True)
    gammaness_classifier = Unicode(
        None,
        allow_none=True,
        help="Prefix of the gammaness; None takes it from the file's model table or its"
        " single classification group.",
    ).tag(config=True)
    quality_criteria = List(
        Tuple(Unicode(), Unicode()),
        default_value=[],
        help="Extra (name, expression) event selections on the loaded columns, on top of"
        " the validity of the three reconstructions.",
    ).tag(config=True)
    telescope_map = Dict(
        default_value={21: 1, 22: 2},
        help="Data telescope id -> MC telescope id standing for it when the file has no"
        " telescope of the data id.",
    ).tag(config=True)

    def __init__(self, path, tel_setup, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        if tel_setup not in TEL_SETUPS:
            raise SST1MInputError(f"tel_setup {tel_setup!r}: choose one of {TEL_SETUPS}")
        self.path, self.tel_setup = path, tel_setup
        self.subarray = SubarrayDescription.from_hdf(path)
        with tables.open_file(path) as h5:
            if self.simulated and SIMULATION_RUN_TABLE not in h5:
                raise SST1MInputError(f"{path}: no /configuration/simulation/run; IRFs need MC")
            self.models = self._read_models(h5)
            self.prefixes = {k: self._prefix(h5, k) for k in _GROUPS}
        self.tel_id = None if tel_setup == "stereo" else self._tel_id(int(tel_setup[-3:]))
        self.sim_info = None
        if self.simulated:
            runs = read_table(path, SIMULATION_RUN_TABLE)
            try:
                dist = read_table(path, SHOWER_DISTRIBUTION_TABLE)
            except tables.NoSuchNodeError:
                dist = None
            self.sim_info = simulation_info(runs, dist, source=str(path))
        block = read_table(path, OBSERVATION_BLOCK_TABLE)
        self._pointing = {
            int(o): (lat, lon)
            for o, lat, lon in zip(
                block["obs_id"],
                u.Quantity(block["subarray_pointing_lat"]).to_value(u.deg),
                u.Quantity(block["subarray_pointing_lon"]).to_value(u.deg),
                strict=True,
            )
        }
        self.pointing_alt = u.Quantity(block["subarray_pointing_lat"]).to(u.deg).mean()
        self.pointing_az = u.Quantity(block["subarray_pointing_lon"]).to(u.deg).mean()
        tel = "" if self.tel_id is None else "_tel"
        e, g, c = (self.prefixes[k] for k in ("energy", "geometry", "classifier"))
        self.columns = {
            "reco_energy": f"{e}{tel}_energy",
            "reco_alt": f"{g}{tel}_alt",
            "reco_az": f"{g}{tel}_az",
            "gh_score": f"{c}{tel}_prediction",
        }
        criteria = [(f"valid {p}", f"{p}{tel}_is_valid") for p in (e, g, c)]
        self.quality_query = QualityQuery(quality_criteria=criteria + list(self.quality_criteria))

    @property
    def point_like(self):
        """True if the gammas were simulated from a single direction."""
        return (self.sim_info.viewcone_max - self.sim_info.viewcone_min).value == 0

    def _read_models(self, h5):
        if DL2_MODELS_TABLE not in h5:
            return {"models": {}, "node": {}, "mode": None}
        table = read_table(h5, DL2_MODELS_TABLE)
        node = json.loads(table.meta.get("node", "{}") or "{}")
        models = {str(r["kind"]): (str(r["prefix"]), str(r["sha256"])) for r in table}
        return {"models": models, "node": node, "mode": table.meta.get("mode")}

    def _prefix(self, h5, kind):
        configured = getattr(
            self,
            {
                "energy": "energy_reconstructor",
                "geometry": "geometry_reconstructor",
                "classifier": "gammaness_classifier",
            }[kind],
        )
        if configured:
            return configured
        model_kind = "disp" if kind == "geometry" else kind
        if model_kind in self.models["models"]:
            return self.models["models"][model_kind][0]
        group = f"{DL2_SUBARRAY_GROUP}/{_GROUPS[kind]}"
        names = sorted(h5.get_node(group)._v_children) if group in h5 else []
        if kind == "geometry" and "disp" in names:
            return "disp"
        if len(names) != 1:
            raise SST1MInputError(
                f"{self.path}: cannot tell the {kind} reconstructor among {names}; set"
                f" SST1MDL2EventReader.{kind}_reconstructor"
                if kind != "classifier"
                else f"{self.path}: cannot tell the classifier among {names}; set"
                " SST1MDL2EventReader.gammaness_classifier"
            )
        return names[0]

    def _tel_id(self, data_id):
        if data_id in self.subarray.tel:
            return data_id
        mc_id = int(self.telescope_map.get(data_id, self.telescope_map.get(str(data_id), -1)))
        if mc_id in self.subarray.tel:
            return mc_id
        raise SST1MInputError(
            f"{self.path}: no telescope {data_id} (or MC {mc_id}); it has"
            f" {sorted(int(t) for t in self.subarray.tel)}"
        )

    def __iter__(self):
        """Yield (n_read, QTable of selected events with the pyirf columns) per chunk."""
        for events in self._chunks():
            n = len(events)
            if n:
                events = events[self.quality_query.get_table_mask(events)]
            derived = self._derived(events)
            del events
            # astropy tables hold reference cycles: free the chunk now, not at some later
            # garbage collection, so that the memory stays that of one chunk
            gc.collect(1)
            yield n, derived

    def _aligned_tables(self, h5):
        """Subarray tables row-aligned with the trigger table (as ctapipe writes them)."""
        paths = [SIMULATION_SHOWER_TABLE] * self.simulated + [
            f"{DL2_SUBARRAY_GROUP}/{_GROUPS[kind]}/{prefix}"
            for kind, prefix in self.prefixes.items()
        ]
        n = h5.get_node(DL1_SUBARRAY_TRIGGER_TABLE).nrows
        if all(p in h5 and h5.get_node(p).nrows == n for p in paths):
            return paths
        return None

    def _chunks(self):
        """Event tables of ``chunk_size`` rows (pointing columns added from the OB table).

        Subarray events: the trigger, shower and three DL2 tables are read by row range and
        put side by side when their ``obs_id``/``event_id`` agree (ctapipe writes them
        aligned); otherwise, and for telescope events, ctapipe's TableLoader joins them.
        """
        if self.tel_id is None:
            with tables.open_file(self.path) as h5:
                paths = self._aligned_tables(h5)
                if paths is not None:
                    n = h5.get_node(DL1_SUBARRAY_TRIGGER_TABLE).nrows
                    for start in range(0, n, self.chunk_size):
                        stop = min(start + self.chunk_size, n)
                        chunk = self._side_by_side(h5, paths, start, stop)
                        if chunk is None:
                            break
                        yield chunk
                    else:
                        return
        yield from self._loader_chunks()

    def _side_by_side(self, h5, paths, start, stop):
        trigger = h5.get_node(DL1_SUBARRAY_TRIGGER_TABLE)
        ids = [trigger.read(start, stop, field=f) for f in ("obs_id", "event_id")]
        table = QTable({"obs_id": ids[0], "event_id": ids[1]})
        for path in paths:
            part = read_table(h5, path, start=start, stop=stop)
            if not (np.array_equal(part["obs_id"], ids[0])
                    and np.array_equal(part["event_id"], ids[1])):  # fmt: skip
                if start > 0:
                    raise SST1MInputError(f"{self.path}: {path} is not aligned with the triggers")
                return None
            for name in part.colnames:
                if name not in table.colnames:
                    table[name] = part[name]
        self._add_pointing(table)
        return table

    def _add_pointing(self, table):
        obs = np.asarray(table["obs_id"])
        lat, lon = np.empty(len(obs)), np.empty(len(obs))
        for o in np.unique(obs):
            if int(o) not in self._pointing:
                raise SST1MInputError(f"{self.path}: obs_id {o} has no observation block")
            lat[obs == o], lon[obs == o] = self._pointing[int(o)]
        table["subarray_pointing_lat"] = u.Quantity(lat, u.deg)
        table["subarray_pointing_lon"] = u.Quantity(lon, u.deg)

    def _loader_chunks(self):
        opts = dict(dl2=True, simulated=self.simulated, observation_info=False)
        with TableLoader(self.path, dl1_parameters=self.tel_id is not None, **opts) as loader:
            if self.tel_id is None:
                chunks = loader.read_subarray_events_chunked(self.chunk_size, **opts)
            else:
                chunks = loader.read_telescope_events_chunked(
                    self.chunk_size,
                    telescopes=[self.tel_id],
                    dl1_parameters=True,
                    pointing=False,
                    **opts,
                )
            for _, _, events in chunks:
                self._add_pointing(events)
                yield events

    def _derived(self, events):
        out = QTable()
        out["obs_id"], out["event_id"] = events["obs_id"], events["event_id"]
        out["true_energy"] = u.Quantity(events["true_energy"]).to(u.TeV)
        out["true_alt"] = u.Quantity(events["true_alt"]).to(u.deg)
        out["true_az"] = u.Quantity(events["true_az"]).to(u.deg)
        for name, column in self.columns.items():
            if name == "gh_score":
                out[name] = np.asarray(events[column], dtype=float)
            else:
                out[name] = u.Quantity(events[column]).to(u.TeV if name == "reco_energy" else u.deg)
        alt = u.Quantity(events["subarray_pointing_lat"]).to(u.deg)
        az = u.Quantity(events["subarray_pointing_lon"]).to(u.deg)
        out["pointing_alt"], out["pointing_az"] = alt, az
        out["theta"] = separation(out["reco_alt"], out["reco_az"], out["true_alt"], out["true_az"])
        out["true_source_fov_offset"] = separation(alt, az, out["true_alt"], out["true_az"])
        out["reco_source_fov_offset"] = separation(alt, az, out["reco_alt"], out["reco_az"])
        out["multiplicity"] = self._multiplicity(events)
        return out

    def _multiplicity(self, events):
        """Telescopes used by all three reconstructions (1 for a telescope's own tables)."""
        if self.tel_id is not None:
            return np.ones(len(events), dtype=np.int16)
        used = [
            np.count_nonzero(events[f"{p}_telescopes"], axis=1)
            for p in self.prefixes.values()
            if f"{p}_telescopes" in events.colnames
        ]
        return np.min(used, axis=0).astype(np.int16)

    def read_all(self):
        """All selected events of the file in one table (small files: cuts, performance)."""
        from astropy.table import vstack

        parts, n_read = [], 0
        for n, chunk in self:
            parts.append(chunk)
            n_read += n
        return (vstack(parts) if len(parts) > 1 else parts[0]), n_read

    def metadata(self):
        """Header facts of the file: pointing, NSB label, model hashes and mode."""
        node = self.models["node"]
        return {
            "ZEN_PNT": float((90 * u.deg - self.pointing_alt).to_value(u.deg)),
            "AZ_PNT": float(self.pointing_az.to_value(u.deg) % 360),
            "NSB": "none" if node.get("nsb") is None else str(node.get("nsb")),
            "hashes": {k: v[1] for k, v in self.models["models"].items()},
        }
