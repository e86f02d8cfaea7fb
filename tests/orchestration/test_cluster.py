"""The cluster choices: LocalCluster, and dask-jobqueue Slurm/PBS up to their job scripts."""

import pytest
from traitlets.config import Config

from ctapipe_sst1m.core import SST1MInputError
from ctapipe_sst1m.orchestration import ClusterFactory


def factory(scheduler, **traits):
    config = Config({"ClusterFactory": {"scheduler": scheduler, **traits}})
    return ClusterFactory(config=config)


def test_slurm_job_script_carries_the_configured_resources(tmp_path):
    cf = factory(
        "slurm",
        n_workers=5,
        processes=2,
        cores=4,
        memory="8GB",
        walltime="02:30:00",
        queue="short",
        account="sst1m",
        job_extra_directives=["--qos=normal"],
        job_script_prologue=["source /opt/sst1m/venv/bin/activate"],
        log_directory=str(tmp_path / "jobs"),
    )
    script = cf.job_script()
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for directive in (
        "#SBATCH -p short",
        "#SBATCH -A sst1m",
        "#SBATCH -n 1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH -t 02:30:00",
        "#SBATCH --qos=normal",
    ):
        assert directive in lines, directive
    assert "source /opt/sst1m/venv/bin/activate" in lines
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--nworkers 2" in worker and "--nthreads 2" in worker
    assert f"#SBATCH -o {tmp_path / 'jobs'}/dask-worker-%J.out" in lines
    assert cf.n_jobs() == 3


def test_pbs_job_script(tmp_path):
    cf = factory(
        "pbs",
        cores=2,
        memory="4GB",
        walltime="01:00:00",
        queue="batch",
        account="proj",
        job_extra_directives=["-l place=scatter"],
    )
    lines = cf.job_script().splitlines()
    for directive in (
        "#PBS -q batch",
        "#PBS -A proj",
        "#PBS -l select=1:ncpus=2:mem=3815MB",
        "#PBS -l walltime=01:00:00",
        "#PBS -l place=scatter",
    ):
        assert directive in lines, directive


def test_local_cluster_runs_n_single_threaded_workers():
    with factory("local", n_workers=2)() as client:
        info = client.scheduler_info()["workers"]
        assert len(info) == 2
        assert [w["nthreads"] for w in info.values()] == [1, 1]
        assert client.submit(sum, [1, 2, 3]).result() == 6


def test_an_address_is_connected_to_not_started():
    cf = factory("tcp://127.0.0.1:1")
    with pytest.raises(SST1MInputError, match="submits no job script"):
        cf.job_script()
    with pytest.raises(SST1MInputError, match="no cluster object"):
        cf.make_cluster()
