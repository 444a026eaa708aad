"""Keeping the serving state fresh: Redis health, the current model, the snapshot.

One background task (started by the lifespan) probes Redis every second, checks
``shopmode:v1:model:current`` every ``model_poll_seconds`` (hot reload) and retakes the
catalog/popularity snapshot every ``snapshot_refresh_seconds``. When Redis comes back
after an outage, the model and the snapshot are refreshed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time

from features.store.online import AsyncOnlineFeatureStore
from models.recommend.recommender import Recommender
from service.runtime.explaining import follow_catalog
from service.runtime.model_slot import SyncResult
from service.runtime.snapshot import take_snapshot
from service.runtime.state import ServiceState
from shopmode.errors import ShopmodeError, StoreUnavailable

log = logging.getLogger("shopmode.service")


async def refresh_snapshot(state: ServiceState) -> None:
    """Retake catalog, popularity and product features; rebuild what depends on them."""
    try:
        snapshot = await take_snapshot(state.runner)
        previous = state.snapshot
        # Comparing (and, below, the grounding vocabulary) scan every product: off the
        # event loop, where a refresh stalled every request in flight.
        if previous is not None and await asyncio.to_thread(
            previous.catalog.frame.equals, snapshot.catalog.frame
        ):
            # Same catalog: keep the object, so the store and recommender stay valid.
            snapshot = dataclasses.replace(snapshot, catalog=previous.catalog)
        store = state.store
        if store is None or store.catalog is not snapshot.catalog:
            store = AsyncOnlineFeatureStore(state.runner, snapshot.catalog, state.store_config)
        products = await store.product_features()
        snapshot = dataclasses.replace(snapshot, products=products)
        if previous is None or previous.catalog is not snapshot.catalog:
            await asyncio.to_thread(follow_catalog, state.explainer, snapshot)
        state.store = store
        state.snapshot = snapshot
        state.snapshot_error = None
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        state.metrics.redis_errors.labels("snapshot").inc()
        state.snapshot_error = f"snapshot not refreshed: {exc}"
    except ShopmodeError as exc:
        state.snapshot_error = str(exc)
        return
    await ensure_recommender(state)


async def ensure_recommender(state: ServiceState) -> None:
    """A recommender for the current catalog and model (built off the event loop)."""
    snapshot = state.snapshot
    if snapshot is None:
        return
    model = state.models.loaded
    current = state.recommender
    rebuilt = False
    if current is None or current.catalog is not snapshot.catalog or current.model is not model:
        try:
            current = await asyncio.to_thread(Recommender, snapshot.catalog, model)
        except ShopmodeError as exc:
            log.error("cannot build a recommender: %s", exc)
            state.snapshot_error = f"recommender not rebuilt: {exc}"
            return
        rebuilt = True
    if snapshot.products is not None:
        # Build the retrieval structures now rather than in the first request.
        await asyncio.to_thread(current.snapshot, snapshot.products)
    state.recommender = current
    if rebuilt:
        settle_long_lived()


def settle_long_lived() -> None:
    """Move what is alive now (catalog, model, vocabularies: ~200k objects) out of the
    collector's sight. Every full collection scanned them all on the event loop, a
    ~0.1 s stall for every request in flight. The price: cyclic garbage among them (a
    replaced model's leftovers) is never collected, a few MB per model reload."""
    gc.collect()
    gc.freeze()


async def sync_model(state: ServiceState, *, force: bool = False) -> SyncResult | None:
    """Follow the current-model key; None when Redis could not be read."""
    try:
        result = await state.models.sync(state.runner, force=force)
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        state.metrics.redis_errors.labels("model_poll").inc()
        return None
    if result.attempted and not result.changed:
        state.metrics.model_reload_failures.inc()
    state.metrics.model_loaded.set(1 if state.models.loaded is not None else 0)
    if result.changed:
        await ensure_recommender(state)
    return result


async def keep_fresh(state: ServiceState, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; no single failure stops it.

    A stop event rather than cancellation alone: a cancel that lands as a Redis socket
    timeout fires is turned into a TimeoutError by ``asyncio.timeout`` and would be
    swallowed as one more Redis error, leaving the loop running at shutdown.
    """
    settings = state.settings
    next_model = time.monotonic() + settings.model_poll_seconds
    next_snapshot = time.monotonic() + settings.snapshot_refresh_seconds
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(1.0, settings.model_poll_seconds))
        if stop.is_set():
            return
        try:
            was_up = state.health.up
            up = await state.health.probe()
            state.metrics.redis_up.set(1 if up else 0)
            if not up:
                continue
            now = time.monotonic()
            if now >= next_model or not was_up:
                await sync_model(state)
                next_model = now + settings.model_poll_seconds
            if now >= next_snapshot or state.snapshot is None or not was_up:
                await refresh_snapshot(state)
                next_snapshot = now + settings.snapshot_refresh_seconds
        except Exception:  # the loop must outlive any single failure
            log.exception("background refresh failed")
