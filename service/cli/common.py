"""What every command shares: settings, the store connection, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from features.store.connect import sync_store
from features.store.runner import SyncRunner
from service.runtime.embedded_redis import redis_url_for
from service.settings import Settings, get_settings


def settings() -> Settings:
    return get_settings()


def interactive() -> bool:
    """Progress bars only for a person at a terminal, never in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A rich progress bar on a terminal; a disabled (silent) one otherwise."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not interactive(),
        transient=False,
    )
    with bar:
        yield bar


@contextmanager
def store_runner(config: Settings) -> Iterator[SyncRunner]:
    """The store on ``REDIS_URL`` (a Cluster with ``SHOPMODE_REDIS_CLUSTER``), or on an
    embedded server under ``SHOPMODE_HOME``; every command's one connection."""
    with (
        redis_url_for(config.redis_url, config.home) as url,
        sync_store(url, cluster=config.redis_cluster) as runner,
    ):
        yield runner
