"""``shopmode explain-worker``: write LLM explanations from the queue, in its own process.

Run as many as the machine (or a GPU server behind ``SHOPMODE_LLM_BACKEND=openai``)
allows; they share the queue in Redis with the API processes' own workers (turn those off
with ``SHOPMODE_EXPLAIN_IN_PROCESS=false``). Configure it like the API: the same
``SHOPMODE_LLM_*`` and ``SHOPMODE_OPENAI_*`` settings, so that it writes for the same
backend, whose cache and queue the API reads. SIGTERM or Ctrl-C stops it after the job
in hand (a killed worker's job is taken over once its lease runs out).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from typing import Annotated

import typer

from features.catalog import Catalog
from features.store.catalog import load_catalog
from features.store.connect import close_async
from features.store.runner import AsyncRunner
from models.explain import Explainer, build_backend
from models.explain.worker import ExplainWorker
from service.cli import app
from service.cli.common import settings as current_settings
from service.runtime.embedded_redis import redis_url_for
from service.runtime.explaining import (
    WORKER_CACHE_TIMEOUT_S,
    explainer_for,
    follow_catalog_of,
    queue_for,
    worker_budget,
)
from service.runtime.redis_link import open_redis
from service.settings import Settings
from shopmode.errors import InvalidInput, ShopmodeError


async def run_worker(
    settings: Settings, url: str, concurrency: int, max_jobs: int | None
) -> Counter[str]:
    """Work the queue until stopped (or ``max_jobs`` are done); the outcomes counted."""
    client = open_redis(url, settings, socket_timeout=5.0)
    runner = AsyncRunner(client)
    backend = await asyncio.to_thread(
        build_backend,
        settings.llm_backend,
        model_path=settings.llm_model_path,
        threads=settings.llm_threads,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        timeout_s=settings.openai_timeout_s,
    )
    explainer = explainer_for(settings, backend, runner, backend.id, WORKER_CACHE_TIMEOUT_S)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        catalog = await runner.run(load_catalog(), offload=True)
        await asyncio.to_thread(follow_catalog_of, explainer, catalog)
        worker = ExplainWorker(
            queue_for(settings, runner, backend.id),
            lambda: explainer,
            budget_s=worker_budget(settings),
            concurrency=concurrency,
        )
        typer.echo(f"explain-worker: {backend.id}, {concurrency} at a time; waiting for jobs")
        refresher = asyncio.create_task(_follow_catalog(settings, runner, explainer, catalog, stop))
        await worker.run(stop, max_jobs)
        stop.set()
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        return worker.counts
    finally:
        explainer.close()
        backend.close()
        await close_async(client)


async def _follow_catalog(
    settings: Settings,
    runner: AsyncRunner,
    explainer: Explainer,
    catalog: Catalog,
    stop: asyncio.Event,
) -> None:
    """Rebuild the grounding vocabulary when the catalog in Redis changes."""
    current = await asyncio.to_thread(catalog.to_parquet_bytes)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.snapshot_refresh_seconds)
        try:
            catalog = await runner.run(load_catalog(), offload=True)
        except ShopmodeError:
            continue
        fresh = await asyncio.to_thread(catalog.to_parquet_bytes)
        if fresh != current:
            current = fresh
            await asyncio.to_thread(follow_catalog_of, explainer, catalog)


@app.command("explain-worker")
def explain_worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Jobs at a time (default SHOPMODE_EXPLAIN_WORKER_CONCURRENCY)."
        ),
    ] = None,
    max_jobs: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many jobs (default: never).")
    ] = None,
) -> None:
    """Write LLM explanations from the queue until stopped."""
    settings = current_settings()
    if settings.llm_backend == "template":
        raise InvalidInput(
            "explain-worker writes LLM text: set SHOPMODE_LLM_BACKEND to local or openai",
            "SHOPMODE_LLM_BACKEND",
        )
    with redis_url_for(settings.redis_url, settings.home) as url:
        counts = asyncio.run(
            run_worker(settings, url, concurrency or settings.explain_worker_concurrency, max_jobs)
        )
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no jobs"
    typer.echo(f"explain-worker stopped: {done}")
