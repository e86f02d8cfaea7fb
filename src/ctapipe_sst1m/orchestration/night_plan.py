"""The task graph of one observation night (``sst1m-nightly``).

:class:`NightPlanner` finds the night's files, groups them by target and builds the
:class:`~.tasks.Task` list of :func:`~.engine.run_workflow`. Layout of the products::

    ANA/<YYYYMMDD>/manifest.json              the night's manifest
    ANA/<YYYYMMDD>/config/<stage>.yaml        the configuration given to each stage's command
    ANA/<YYYYMMDD>/<target>/cs1|cs2/DL1/SST1M<c>_<YYYYMMDD>_<RRRR>.dl1.h5     (r0_dl1)
    ANA/<YYYYMMDD>/<target>/stereo/DL1/SST1M_<YYYYMMDD>_<RRRR>.stereo.dl1.h5  (stereo)
    ANA/<YYYYMMDD>/<target>/<setup>/DL2/<stem>.dl2.h5                        (dl2)
    ANA/<YYYYMMDD>/<target>/<setup>/DL3/  per-wobble DL3 files + their index  (dl3)
    ANA/<YYYYMMDD>/index/<setup>/{hdu,obs}-index.fits.gz                      (index)
    ANA/<YYYYMMDD>/quality/dq_table.ecsv, quality/summary/                    (quality)

Beside every product: ``<product>.log`` (the command's output), ``<product>.config.yaml`` (the
exact configuration) and ``<product>.provenance.log`` (ctapipe provenance).

Stages and their tasks:

``r0_dl1``
    ``sst1m-r0-dl1`` per raw file ``RAW/<raw_pattern>`` (reference layout
    ``cs<c>/data/raw/YYYY/MM/DD/SST1M<c>/SST1M<c>_YYYYMMDD_RRRR.fits.fz``). The target is the
    ``TARGET`` card of the file's ``Events`` header; raw files without it get
    ``default_target`` (and its catalogue position as pointing), files of a calibration, dark
    or transition target (``skip_targets``) are skipped, an unreadable file gets its task
    anyway (under ``unreadable/``) so that its failure is reported. With ``--dl1-dir`` the
    night enters at DL1 (``DL1/<dl1_pattern>``, e.g. a toy night): the target is the catalogue
    source nearest to the observation-block pointing.
``stereo``
    ``sst1m-dl1-stereo`` per run observed by both telescopes (same target and run number).
``dl2``
    ``sst1m-dl1-dl2 --mode mono`` per telescope DL1 file (``mono_models``) and ``--mode
    stereo`` per stereo file (``stereo_models``); the tool picks the model node per file.
``dl3``
    ``sst1m-dl2-dl3`` per target and telescope setup over the setup's DL2 directory, after its
    DL2 tasks (it uses the DL2 files that were made, so one failed run does not stop it).
``index``
    ``sst1m-create-index`` per telescope setup over the night's DL3 directories.
``quality``
    ``sst1m-data-quality`` over the night's DL1 directories, then ``sst1m-night-summary`` of
    the night directory.
"""

import re
from dataclasses import dataclass, field
from datetime import date as Date
from importlib.resources import files
from pathlib import Path

import astropy.units as u
import yaml
from ctapipe.core import Component
from ctapipe.core.traits import AstroQuantity, Bool, Dict, List, Unicode
from ctapipe.core.traits import Path as PathTrait

from ..core.config import read_config_file
from ..core.errors import SST1MInputError
from .raw_files import (
    events_header_cards,
    match_catalogue,
    observation_pointing,
    parse_run_name,
)
from .tasks import Task

__all__ = ["STAGES", "NightPlan", "NightPlanner", "NightRun", "target_directory"]

STAGES = ("r0_dl1", "stereo", "dl2", "dl3", "index", "quality")
#: camera number -> (setup directory, DL3 telescope setup)
SETUPS = {1: ("cs1", "tel_021"), 2: ("cs2", "tel_022"), "stereo": ("stereo", "stereo")}
COMMANDS = {
    "r0_dl1": "sst1m-r0-dl1",
    "stereo": "sst1m-dl1-stereo",
    "dl2": "sst1m-dl1-dl2",
    "dl3": "sst1m-dl2-dl3",
    "index": "sst1m-create-index",
    "quality": "sst1m-data-quality",
    "summary": "sst1m-night-summary",
}
UNREADABLE = "unreadable"


def target_directory(name):
    """File-system name of a target: spaces and unusual characters removed (``Mrk421``)."""
    return re.sub(r"[^A-Za-z0-9+\-.]", "", str(name)) or "UNKNOWN"


def _catalogue():
    from astropy.table import Table

    text = (files("ctapipe_sst1m") / "resources" / "catalogue" / "sources.ecsv").read_text()
    table = Table.read(text, format="ascii.ecsv")
    return [
        (str(r["name"]), float(r["ra"]), float(r["dec"]), str(r["aliases"]).split("|"))
        for r in table
    ]


def _key(name):
    return "".join(str(name).lower().split()).replace("_", "")


@dataclass(frozen=True)
class NightRun:
    """One file of the night: a raw file (``level="raw"``) or a DL1 file (``"dl1"``)."""

    path: Path
    camera: int
    tel_id: int
    run: int
    date: str
    target: str  # catalogue spelling when known ("Mrk 421"), else the header's name
    level: str
    coordinates: tuple | None = None  # (ra, dec) deg of the target, when known

    @property
    def stem(self):
        """``SST1M<c>_<YYYYMMDD>_<RRRR>``."""
        return f"SST1M{self.camera}_{self.date}_{self.run:04d}"


@dataclass
class NightPlan:
    """The tasks of a night and what was found (or left out) on the way."""

    night_dir: Path
    date: str
    tasks: list
    runs: list
    skipped: list = field(default_factory=list)  # (path, reason)
    configs: dict = field(default_factory=dict)  # stage -> (path, YAML text)
    raw_dir: Path | None = None
    dl1_dir: Path | None = None

    @property
    def manifest_path(self):
        """``ANA/<YYYYMMDD>/manifest.json``."""
        return self.night_dir / "manifest.json"

    def write_configs(self):
        """Write the stage configurations (only those whose content changed)."""
        from ..core.atomic import atomic_output

        for path, text in self.configs.values():
            if path.exists() and path.read_text() == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path, overwrite=True) as tmp:
                Path(tmp).write_text(text)

    def describe(self):
        """The night for the manifest: date, input directories, targets, skipped files."""
        return {
            "night": f"{self.date[:4]}-{self.date[4:6]}-{self.date[6:]}",
            "raw_dir": None if self.raw_dir is None else str(self.raw_dir),
            "dl1_dir": None if self.dl1_dir is None else str(self.dl1_dir),
            "targets": {t: {f"cs{c}": n for c, n in v.items()} for t, v in self.targets().items()},
            "skipped": [[str(p), reason] for p, reason in self.skipped],
        }

    def targets(self):
        """``{target: {camera: n_files}}``."""
        out = {}
        for run in self.runs:
            out.setdefault(run.target, {}).setdefault(run.camera, 0)
            out[run.target][run.camera] += 1
        return out


class NightPlanner(Component):
    """Find a night's files and build its task graph (see the module documentation)."""

    raw_pattern = Unicode(
        "cs{cam}/data/raw/{yyyy}/{mm}/{dd}/SST1M{cam}/SST1M{cam}_{yyyymmdd}_*.fits.fz",
        help=(
            "Glob of a telescope's raw files below the raw directory; {cam} (1, 2), {yyyy}, "
            "{mm}, {dd} and {yyyymmdd} are replaced by the camera number and the night's date."
        ),
    ).tag(config=True)
    dl1_pattern = Unicode(
        "SST1M{cam}_{yyyymmdd}_*.dl1.h5",
        help="Glob of a telescope's DL1 files below --dl1-dir (same placeholders).",
    ).tag(config=True)
    skip_targets = List(
        Unicode(),
        default_value=[
            "dark",
            "transition",
            "bias",
            "wrtest",
            "calibration",
            "flatfield",
            "pedestal",
        ],
        help="Targets that are not sky observations (compared case-insensitively); skipped.",
    ).tag(config=True)
    default_target = Unicode(
        "",
        help=(
            "Target of raw files whose header has no TARGET and of DL1 files whose pointing "
            "is near no catalogue source; empty: such files are skipped (and listed)."
        ),
    ).tag(config=True)
    target_match_radius = AstroQuantity(
        default_value=1.5 * u.deg,
        physical_type=u.deg,
        help="Largest distance between a DL1 file's pointing and a catalogue source.",
    ).tag(config=True)
    mono_models = PathTrait(
        None, allow_none=True, help="Model directory (or bank) of the mono DL2 stage."
    ).tag(config=True)
    stereo_models = PathTrait(
        None, allow_none=True, help="Model directory (or bank) of the stereo DL2 stage."
    ).tag(config=True)
    irf_bank = PathTrait(None, allow_none=True, help="IRF bank of the DL3 stage.").tag(config=True)
    mc_reference = PathTrait(
        None,
        allow_none=True,
        help="MC proton DL1 file for the cosmic-ray rate of the quality stage (optional).",
    ).tag(config=True)
    night_summary = Bool(
        True,
        help="End the quality stage with sst1m-night-summary of the night (PDF and HTML pages).",
    ).tag(config=True)
    stage_configs = Dict(
        help=(
            "Configuration of each stage's command: {stage: mapping of sections, or the path "
            "of a YAML/JSON file}; written to <night>/config/<stage>.yaml and given with -c."
        ),
    ).tag(config=True)
    stage_arguments = Dict(
        help="Extra command-line arguments per stage, e.g. {dl3: ['--granularity', 'run']}.",
    ).tag(config=True)

    # ------------------------------------------------------------------ finding files
    def find_runs(self, night, raw_dir=None, dl1_dir=None, telescopes=(21, 22)):
        """``(runs, skipped)``: the night's files with their target, and those left out."""
        date = _parse_date(night)
        values = {
            "yyyy": f"{date:%Y}",
            "mm": f"{date:%m}",
            "dd": f"{date:%d}",
            "yyyymmdd": f"{date:%Y%m%d}",
        }
        catalogue = _catalogue()
        runs, skipped = [], []
        cameras = [c for c, tel in ((1, 21), (2, 22)) if tel in telescopes]
        for level, root, pattern in (
            ("raw", raw_dir, self.raw_pattern),
            ("dl1", dl1_dir, self.dl1_pattern),
        ):
            if root is None:
                continue
            for cam in cameras:
                glob = pattern.format(cam=cam, **values)
                for path in sorted(Path(root).glob(glob)):
                    name = parse_run_name(path)
                    if name is None or name.camera != cam or name.date != values["yyyymmdd"]:
                        skipped.append((path, "not named SST1M<c>_<YYYYMMDD>_<RRRR> of this night"))
                        continue
                    run, why = self._identify(path, name, level, catalogue)
                    if run is None:
                        skipped.append((path, why))
                    else:
                        runs.append(run)
        return runs, skipped

    def _identify(self, path, name, level, catalogue):
        coords = None
        if level == "raw":
            cards = events_header_cards(path, keys={"TARGET", "PBFHEAD"})
            if cards is None or cards.get("PBFHEAD") != "DataModel.CameraEvent":
                target = UNREADABLE
            else:
                target, coords = _parse_target(cards.get("TARGET"))
        else:
            pointing = observation_pointing(path)
            if pointing is None:
                target = UNREADABLE
            else:
                cat = [(n, ra, dec) for n, ra, dec, _ in catalogue]
                target = match_catalogue(*pointing, cat, self.target_match_radius.to_value(u.deg))
        if target is None and self.default_target:
            target = self.default_target
        if target is None:
            return None, "no target (header or pointing); set NightPlanner.default_target"
        if _key(target) in {_key(t) for t in self.skip_targets}:
            return None, f"target {target} is not a sky observation"
        if target != UNREADABLE:
            for cat_name, ra, dec, aliases in catalogue:
                if _key(target) in {_key(n) for n in (cat_name, *aliases) if n}:
                    target = cat_name
                    coords = coords or (ra, dec)
                    break
        run = NightRun(path, name.camera, name.tel_id, name.run, name.date, target, level, coords)
        return run, ""

    # ------------------------------------------------------------------ the graph
    def plan(
        self, night, output_dir, raw_dir=None, dl1_dir=None, telescopes=(21, 22), stages=STAGES
    ):
        """The :class:`NightPlan` of ``night`` (``YYYY-MM-DD``) into ``output_dir``."""
        runs, skipped = self.find_runs(night, raw_dir, dl1_dir, telescopes)
        date = f"{_parse_date(night):%Y%m%d}"
        night_dir = Path(output_dir).absolute() / date
        plan = NightPlan(night_dir, date, [], runs, skipped, raw_dir=raw_dir, dl1_dir=dl1_dir)
        for stage in (*STAGES, "summary"):
            plan.configs[stage] = (night_dir / "config" / f"{stage}.yaml", self._config_text(stage))
        self._check_stage_inputs(stages)
        builder = _Builder(self, plan, set(stages))
        builder.build()
        return plan

    def _config_text(self, stage):
        value = self.stage_configs.get(stage, {})
        if isinstance(value, str):
            value = read_config_file(value)
        if not isinstance(value, dict):
            raise SST1MInputError(
                f"NightPlanner.stage_configs[{stage}]: give a mapping of sections or a file path"
            )
        header = f"# configuration of the {stage} stage ({COMMANDS.get(stage, stage)})\n"
        body = yaml.safe_dump(_plain(value), sort_keys=True) if value else "{}\n"
        return header + body

    def _check_stage_inputs(self, stages):
        unknown = sorted(set(self.stage_configs) - set(STAGES) - {"summary"})
        unknown += sorted(set(self.stage_arguments) - set(STAGES) - {"summary"})
        if unknown:
            raise SST1MInputError(
                f"NightPlanner: unknown stage {unknown[0]}; stages are {','.join(STAGES)},summary"
            )
        needs = {"mono_models": "dl2", "stereo_models": "dl2", "irf_bank": "dl3"}
        for trait, stage in needs.items():
            path = getattr(self, trait)
            if stage in stages and path is not None and not Path(path).exists():
                raise SST1MInputError(f"NightPlanner.{trait}: {path} does not exist")
        for trait, stage in (("mono_models", "dl2"), ("irf_bank", "dl3")):
            if stage in stages and getattr(self, trait) is None:
                raise SST1MInputError(
                    f"the {stage} stage needs NightPlanner.{trait} (in the night configuration)"
                    f"; set it or leave {stage} out of --stages"
                )


def _plain(value):
    """Config/dict trees as plain dicts (for YAML)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _parse_date(night):
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(night)):
            raise ValueError
        return Date.fromisoformat(str(night))
    except ValueError:
        raise SST1MInputError(f"--date {night!r}: give the night as YYYY-MM-DD") from None


def _parse_target(value):
    """``(name, (ra, dec) or None)`` from a TARGET card (formats of io.pointing.parse_target)."""
    if value is None or not str(value).strip():
        return None, None
    from ..io.pointing import parse_target

    info = parse_target(value)
    name = (info.name or "").split(",")[0].split("_")[0].strip()
    coords = (info.ra_deg, info.dec_deg) if info.has_coordinates else None
    return (name or None), coords


class _Builder:
    """Builds the task list of a plan, stage by stage (an internal helper of NightPlanner)."""

    def __init__(self, planner, plan, stages):
        self.p, self.plan, self.stages = planner, plan, stages
        self.dl1 = {}  # (target, camera or "stereo", run) -> (path, producing task key or None)
        self.dl2 = {}  # (target, setup) -> [task keys]
        self.dl3 = {}  # setup -> [(dl3 dir, task key)]

    def config(self, stage):
        return self.plan.configs[stage][0]

    def add(
        self,
        stage,
        key,
        command,
        inputs,
        outputs,
        log,
        depends_on=(),
        after=(),
        dirs=(),
        optional=(),
    ):
        command = [COMMANDS[stage], *command]
        command += [str(a) for a in self.p.stage_arguments.get(stage, [])]
        command += [
            "-c",
            self.config(stage),
            "--provenance-log",
            log.with_suffix(".provenance.log"),
        ]
        task = Task(
            key=key,
            stage="quality" if stage == "summary" else stage,
            command=tuple(command),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            log=log,
            config=self.config(stage),
            depends_on=tuple(depends_on),
            after=tuple(after),
            output_dirs=tuple(dirs),
            optional_inputs=tuple(optional),
        )
        if task.stage in self.stages:
            self.plan.tasks.append(task)
            return task.key
        return None

    def target_dir(self, target):
        return self.plan.night_dir / target_directory(target)

    def build(self):
        for run in sorted(self.plan.runs, key=lambda r: (r.target, r.camera, r.run)):
            self.dl1_task(run)
        self.stereo_tasks()
        self.dl2_tasks()
        self.dl3_tasks()
        self.index_tasks()
        self.quality_tasks()

    def dl1_task(self, run):
        setup = SETUPS[run.camera][0]
        if run.level == "dl1":
            self.dl1[(run.target, run.camera, run.run)] = (run.path, None)
            return
        out = self.target_dir(run.target) / setup / "DL1" / f"{run.stem}.dl1.h5"
        command = ["-i", run.path, "-o", out, "--no-summary"]
        if run.coordinates is not None:  # used only if the header has none
            ra, dec = run.coordinates
            command += [
                f"--SST1MEventSource.pointing_ra={ra}",
                f"--SST1MEventSource.pointing_dec={dec}",
            ]
        key = self.add(
            "r0_dl1",
            f"r0_dl1/{run.stem}",
            command,
            [run.path],
            [out],
            out.with_suffix(".log"),
        )
        if run.target != UNREADABLE:
            self.dl1[(run.target, run.camera, run.run)] = (out, key)

    def stereo_tasks(self):
        for (target, camera, number), (dl1_1, key_1) in sorted(self.dl1.items()):
            if camera != 1 or (target, 2, number) not in self.dl1:
                continue
            dl1_2, key_2 = self.dl1[(target, 2, number)]
            stem = f"SST1M_{self.plan.date}_{number:04d}"
            out = self.target_dir(target) / "stereo" / "DL1" / f"{stem}.stereo.dl1.h5"
            png = out.with_name(out.stem + "_matching.png")
            key = self.add(
                "stereo",
                f"stereo/{stem}",
                ["--tel1", dl1_1, "--tel2", dl1_2, "-o", out],
                [dl1_1, dl1_2],
                [out, png],
                out.with_suffix(".log"),
                depends_on=[k for k in (key_1, key_2) if k],
            )
            self.dl1[(target, "stereo", number)] = (out, key)

    def dl2_tasks(self):
        for (target, camera, _run), (dl1, dl1_key) in sorted(self.dl1.items(), key=str):
            setup = SETUPS[camera][0]
            stereo = camera == "stereo"
            models = self.p.stereo_models if stereo else self.p.mono_models
            if models is None:
                continue
            stem = dl1.name.removesuffix(".dl1.h5")
            out = self.target_dir(target) / setup / "DL2" / f"{stem}.dl2.h5"
            key = self.add(
                "dl2",
                f"dl2/{target_directory(target)}/{setup}/{stem.split('.')[0]}",
                ["-i", dl1, "-m", models, "-o", out, "--mode", "stereo" if stereo else "mono"],
                [dl1, models],
                [out],
                out.with_suffix(".log"),
                depends_on=[dl1_key] if dl1_key else [],
            )
            self.dl2.setdefault((target, setup), []).append(key)  # None: stage not selected

    def dl3_tasks(self):
        if self.p.irf_bank is None:  # only possible when the dl3 stage is not run
            return
        for (target, setup), keys in sorted(self.dl2.items()):
            tel_setup = {v[0]: v[1] for v in SETUPS.values()}[setup]
            base = self.target_dir(target) / setup
            out_dir = base / "DL3"
            target_args = ["--target", target]
            coords = next((r.coordinates for r in self.plan.runs if r.target == target), None)
            if not _in_catalogue(target) and coords is not None:
                target_args = ["--target-ra", coords[0], "--target-dec", coords[1]]
            key = self.add(
                "dl3",
                f"dl3/{target_directory(target)}/{setup}",
                ["-i", base / "DL2", "--irfs", self.p.irf_bank, "--output-dir", out_dir]
                + target_args
                + ["--tel-setup", tel_setup],
                [base / "DL2", self.p.irf_bank],
                [out_dir / "hdu-index.fits.gz", out_dir / "obs-index.fits.gz"],
                base / "DL3.log",
                after=[k for k in keys if k],
                dirs=[out_dir],
            )
            self.dl3.setdefault(setup, []).append((out_dir, key))

    def index_tasks(self):
        for setup, items in sorted(self.dl3.items()):
            out_dir = self.plan.night_dir / "index" / setup
            dirs = [d for d, _ in items]
            self.add(
                "index",
                f"index/{setup}",
                [*(w for d in dirs for w in ("-i", d)), "-o", out_dir],
                dirs,
                [out_dir / "hdu-index.fits.gz", out_dir / "obs-index.fits.gz"],
                out_dir.with_suffix(".log"),
                depends_on=[k for _, k in items if k],
            )

    def quality_tasks(self):
        dl1_files = sorted(path for path, _ in self.dl1.values())
        producers = sorted({k for _, k in self.dl1.values() if k})
        if not dl1_files:
            return
        given = {r.path for r in self.plan.runs}  # existing inputs; the others may be missing
        quality = self.plan.night_dir / "quality"
        table = quality / "dq_table.ecsv"
        command = [*(f"--input={p}" for p in dl1_files), "-o", table]
        inputs = []
        if self.p.mc_reference is not None:
            command += ["--mc-reference", self.p.mc_reference]
            inputs.append(self.p.mc_reference)
        dq = self.add(
            "quality",
            "quality/dq_table",
            command,
            inputs,
            [table],
            table.with_suffix(".log"),
            after=producers,
            optional=[p for p in dl1_files if p not in given],
        )
        if not self.p.night_summary:
            return
        summary_dir = quality / "summary"
        dl3_keys = [k for items in self.dl3.values() for _, k in items if k]
        self.add(
            "summary",
            "quality/night_summary",
            [self.plan.night_dir, "-o", summary_dir],
            [table] if dq else [],
            [],
            quality / "night_summary.log",
            after=[k for k in (dq, *dl3_keys) if k],
            dirs=[summary_dir],
        )


def _in_catalogue(name):
    return any(_key(name) in {_key(n) for n in (c, *a) if n} for c, _, _, a in _catalogue())
