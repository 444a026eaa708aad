"""What every command shares: settings, the Redis connection, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from service.embedded_redis import redis_url_for
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
def redis_client(config: Settings | None = None) -> Iterator[redis.Redis]:
    """A sync client on ``REDIS_URL``, or on an embedded server under ``SHOPMODE_HOME``."""
    config = config or settings()
    with redis_url_for(config.redis_url, config.home) as url:
        client = redis.Redis.from_url(url)
        try:
            yield client
        finally:
            client.close()
