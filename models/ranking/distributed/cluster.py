"""Connecting to a Dask cluster: a scheduler address, or ``local`` for a ``LocalCluster``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster

LOCAL = "local"
CONNECT_TIMEOUT_SECONDS = 10


@contextmanager
def dask_client(address: str, local_workers: int = 2) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (``tcp://host:8786``); for ``local``, of a
    cluster of ``local_workers`` one-thread worker processes on this machine, stopped
    after. ``OSError`` when no scheduler answers."""
    if address == LOCAL:
        with (
            LocalCluster(
                n_workers=local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: never the 8787 another cluster holds
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OSError(f"no Dask scheduler answers at {address}: {exc}") from None
    with client:
        yield client


def worker_count(client: Client) -> int:
    return len(client.scheduler_info().get("workers", {}))
