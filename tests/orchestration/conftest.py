"""One Dask LocalCluster for the engine tests of a session (starting one costs seconds)."""

import contextlib

import pytest
from workflow_tasks import WRITER


@pytest.fixture(scope="session")
def writer_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("writer") / "writer.py"
    path.write_text(WRITER)
    return path


@pytest.fixture(scope="session")
def dask_client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", memory_limit=0
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def client_factory(dask_client):
    return lambda: contextlib.nullcontext(dask_client)
