"""The FastAPI application: ``create_app(settings)`` and its lifespan.

The lifespan opens the async Redis client (starting an embedded server when no
``REDIS_URL`` is set), takes the catalog/popularity snapshot, loads the current model and
the explainer, then keeps them fresh in one background task: a Redis health probe every
second, a check of ``shopmode:v1:model:current`` every ``model_poll_seconds`` (hot
reload), a new snapshot every ``snapshot_refresh_seconds``. None of it may fail the
start-up: a service without Redis or a model answers degraded and says so in ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from features.store.apply import StoreConfig
from features.store.connect import close_async
from features.store.runner import AsyncRunner
from service.api.routes import (
    admin,
    ask,
    events,
    explanations,
    health,
    products,
    recommendations,
    users,
    web,
)
from service.edge.auth import KeyRing
from service.edge.limits import BodyLimitMiddleware, RateLimiter
from service.edge.metrics import MetricsMiddleware, ServiceMetrics
from service.edge.problems import Problem, document_problems, install_problem_handlers
from service.edge.tokens import ShopperTokens, load_secret
from service.runtime.embedded_redis import EmbeddedRedis
from service.runtime.explaining import build_explaining
from service.runtime.freshness import keep_fresh, refresh_snapshot, sync_model
from service.runtime.model_slot import ModelSlot
from service.runtime.redis_link import RedisHealth, open_redis
from service.runtime.state import ServiceState
from service.settings import Settings, get_settings

log = logging.getLogger("shopmode.service")
_FEED_BLOCK_S = 1.0

_DESCRIPTION = """
Personalized product recommendations, each with a short explanation that rests only on
the shopper's own behaviour. Send behavioural events to `/v1/events`; ask for
recommendations at `/v1/recommendations`.

Authenticate with `Authorization: Bearer <key>` (`shopmode demo` prints a key). Errors are
problem details (`application/problem+json`) naming the offending field.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.redis_dir)
        url = await asyncio.to_thread(embedded.start)
    redis = open_redis(url, settings)
    runner = AsyncRunner(redis)
    # The explanation feed blocks on the queue's stream: its own, patient connection.
    blocking = open_redis(url, settings, socket_timeout=_FEED_BLOCK_S + 5)
    metrics: ServiceMetrics = app.state.metrics
    explaining = await build_explaining(settings, runner, AsyncRunner(blocking))
    state = ServiceState(
        settings=settings,
        runner=runner,
        store_config=StoreConfig.from_settings(settings),
        health=RedisHealth(runner),
        metrics=metrics,
        # The demo page's key first: it keeps exactly recommend + events:write.
        keys=KeyRing((*web.demo_key_specs(settings), *settings.api_keys)),
        limiter=RateLimiter(runner, settings.rate_limit_per_minute),
        models=ModelSlot(settings.models_dir),
        explaining=explaining,
        tokens=ShopperTokens(load_secret(settings.token_secret, settings.home)),
    )
    app.state.shopmode = state
    if await state.health.probe():
        await refresh_snapshot(state)
        await sync_model(state)
    metrics.redis_up.set(1 if state.health.up else 0)
    metrics.model_loaded.set(1 if state.models.loaded is not None else 0)
    stop = asyncio.Event()
    refresher = asyncio.create_task(keep_fresh(state, stop), name="shopmode-refresh")
    tasks = {refresher, asyncio.create_task(explaining.feed.run(stop), name="shopmode-feed")}
    if explaining.worker is not None:
        worker = explaining.worker.run(stop)
        tasks.add(asyncio.create_task(worker, name="shopmode-explain-worker"))
    # One BLAS/OpenMP thread for this worker (see service.cli.serve), restored on exit.
    pinned = threadpool_limits(limits=1)
    try:
        yield
    finally:
        gc.unfreeze()  # what freshness.settle_long_lived set aside is collectable again
        pinned.restore_original_limits()
        # In order: no job is claimed after ``stop``; a job in mid-generation is waited for
        # briefly, then cancelled (which cancels its tries: none starts after this) and
        # its lease runs out for another worker to take it over; only then are the
        # explainers' executors closed (``explaining.close``).
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=2 * settings.redis_socket_timeout + 1)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task}, timeout=1)
        explaining.close()
        await close_async(blocking)
        await close_async(redis)
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Shopmode HTTP API; ``settings`` default to the environment (``SHOPMODE_*``)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Shopmode",
        version="1.0.0",
        summary="Personalized shopping recommendations with grounded explanations.",
        description=_DESCRIPTION,
        lifespan=lifespan,
        responses={
            400: {"model": Problem, "description": "The request body is not valid JSON."},
            401: {"model": Problem, "description": "No or unknown API key."},
            403: {"model": Problem, "description": "The key lacks the scope."},
            429: {"model": Problem, "description": "Rate limit reached; see Retry-After."},
            413: {"model": Problem, "description": "The request body is over max_body_bytes."},
        },
    )
    app.state.settings = settings
    metrics = ServiceMetrics()
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    routers = (recommendations, explanations, ask, users, events, products, admin, health, web)
    for module in routers:
        app.include_router(module.router)
    _document_raw_bodies(app)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(events.document_event_schema(plain()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
