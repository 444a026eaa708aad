"""The online engine: the feature store in Redis (standalone or Cluster).

``OnlineFeatureStore`` (sync: CLI, bulk ingest) and ``AsyncOnlineFeatureStore`` (the
service) run the same flows from ``features.store.flows``; they differ only in how a list
of calls travels to Redis (a pipeline, awaited or not). Key layout: docs/redis-keys.md.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.exceptions import NoScriptError, RedisError, ResponseError

from features.catalog import Catalog
from features.events.frame import validate_frame
from features.events.schema import EVENT_FIELDS, Event
from features.state import ProductFeatures, UserState
from features.store.apply import SCRIPTS, ApplyReport, StoreConfig, apply_flow
from features.store.flows import (
    Call,
    Flow,
    popular_flow,
    product_features_flow,
    request_flow,
    user_expiry_flow,
    user_state_flow,
)
from shopmode.errors import StoreUnavailable

SyncClient = redis.Redis | redis.cluster.RedisCluster
AsyncClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
SHAS = {name: hashlib.sha1(source.encode()).hexdigest() for name, source in SCRIPTS.items()}
EventsInput = pd.DataFrame | Sequence[Event]


def events_frame(events: EventsInput, *, validated: bool = False) -> pd.DataFrame:
    """Validated events as an ``EVENT_FIELDS`` frame (``Event`` objects are already valid)."""
    if isinstance(events, pd.DataFrame) and validated:
        return events
    if isinstance(events, pd.DataFrame):
        frame, rejections = validate_frame(events)
        if rejections:
            from shopmode.errors import InvalidEvent

            first = rejections[0]
            raise InvalidEvent(f"row {first.index}: {first.reason}", field=first.field)
        return frame
    rows = [event.to_row() for event in events]
    return pd.DataFrame(rows, columns=list(EVENT_FIELDS)).astype(
        {"ts": "float64", "price": "float64", "quantity": "Int64", "position": "Int64"}
    )


def catalog_positions(catalog: Catalog, product_ids: Iterable[str] | None) -> np.ndarray:
    """Catalog positions of ``product_ids`` (unknown ids dropped); None: every product."""
    if product_ids is None:
        return np.arange(len(catalog))
    positions = catalog.index_of(product_ids)
    return positions[positions >= 0]


def _queue(pipe: Any, call: Call) -> None:
    if call.script is not None:
        pipe.execute_command("EVALSHA", SHAS[call.script], len(_script_keys(call)), *call.args)
    else:
        pipe.execute_command(call.command, *call.args)


def _script_keys(call: Call) -> tuple[Any, ...]:
    # Scripts declare their keys: user_apply takes 3, the others 1.
    return call.args[:3] if call.script == "user_apply" else call.args[:1]


def _missing_script(reply: object) -> bool:
    return isinstance(reply, NoScriptError) or (
        isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT")
    )


def _raise_errors(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise StoreUnavailable(f"Redis refused a feature-store command: {reply}")
    return replies


def _is_cluster(client: object) -> bool:
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


class OnlineFeatureStore:
    """Sync access to the online feature store."""

    def __init__(
        self, client: SyncClient, catalog: Catalog, config: StoreConfig | None = None
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.config = config or StoreConfig()
        self.cluster = _is_cluster(client)
        self._scripts_loaded = False

    def _send(self, calls: list[Call]) -> list[Any]:
        try:
            if not self._scripts_loaded:
                for source in SCRIPTS.values():
                    self.client.script_load(source)
                self._scripts_loaded = True
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                _queue(pipe, call)
            replies = list(pipe.execute(raise_on_error=False))
            missing = [i for i, reply in enumerate(replies) if _missing_script(reply)]
            if missing:
                for source in SCRIPTS.values():
                    self.client.script_load(source)
                retry = self.client.pipeline(transaction=False)
                for i in missing:
                    _queue(retry, calls[i])
                for i, reply in zip(missing, retry.execute(raise_on_error=False), strict=True):
                    replies[i] = reply
        except RedisError as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
        return _raise_errors(replies)

    def _run(self, flow: Flow) -> Any:
        try:
            calls = next(flow)
            while True:
                calls = flow.send(self._send(calls))
        except StopIteration as stop:
            return stop.value

    def apply(self, events: EventsInput, *, validated: bool = False) -> ApplyReport:
        """Fold events in; each event counts once however often it is sent (within the
        dedup horizon). Accepted events are also appended to the live event log.

        A DataFrame is validated first (``InvalidEvent`` on the first bad row) unless
        ``validated`` says it came from ``validate_frame`` already.
        """
        frame = events_frame(events, validated=validated)
        if frame.empty:
            return ApplyReport()
        report: ApplyReport = self._run(apply_flow(frame, self.catalog, self.config))
        return report

    def user_state(self, user_id: str, at: float | None = None) -> UserState:
        state: UserState = self._run(user_state_flow(user_id, time.time() if at is None else at))
        return state

    def product_features(
        self, product_ids: Iterable[str] | None = None, at: float | None = None
    ) -> ProductFeatures:
        """Features of the given products (default: the whole catalog), as of ``at``."""
        positions = catalog_positions(self.catalog, product_ids)
        at = time.time() if at is None else at
        flow = product_features_flow(self.catalog, positions, at, cluster=self.cluster)
        features: ProductFeatures = self._run(flow)
        return features

    def features_for(
        self, user_id: str, product_ids: Iterable[str], at: float | None = None
    ) -> tuple[UserState, ProductFeatures]:
        """A shopper's state and candidates' features in one round trip (standalone)."""
        positions = catalog_positions(self.catalog, product_ids)
        at = time.time() if at is None else at
        flow = request_flow(user_id, self.catalog, positions, at, cluster=self.cluster)
        both: tuple[UserState, ProductFeatures] = self._run(flow)
        return both

    def popular(self, category: str | None = None, limit: int = 100) -> list[str]:
        """Most popular products overall or in a category (long half-life), best first."""
        found: list[str] = self._run(popular_flow(category, limit))
        return found

    def user_ttls(self, user_id: str) -> list[int]:
        ttls: list[int] = self._run(user_expiry_flow(user_id))
        return ttls


class AsyncOnlineFeatureStore:
    """The same store for the service (``redis.asyncio``)."""

    def __init__(
        self, client: AsyncClient, catalog: Catalog, config: StoreConfig | None = None
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.config = config or StoreConfig()
        self.cluster = _is_cluster(client)
        self._scripts_loaded = False

    async def _send(self, calls: list[Call]) -> list[Any]:
        try:
            if not self._scripts_loaded:
                for source in SCRIPTS.values():
                    await self.client.script_load(source)
                self._scripts_loaded = True
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                _queue(pipe, call)
            replies = list(await pipe.execute(raise_on_error=False))
            missing = [i for i, reply in enumerate(replies) if _missing_script(reply)]
            if missing:
                for source in SCRIPTS.values():
                    await self.client.script_load(source)
                retry = self.client.pipeline(transaction=False)
                for i in missing:
                    _queue(retry, calls[i])
                for i, reply in zip(
                    missing, await retry.execute(raise_on_error=False), strict=True
                ):
                    replies[i] = reply
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
        return _raise_errors(replies)

    async def _run(self, flow: Flow) -> Any:
        try:
            calls = next(flow)
            while True:
                calls = flow.send(await self._send(calls))
        except StopIteration as stop:
            return stop.value

    async def apply(self, events: EventsInput, *, validated: bool = False) -> ApplyReport:
        frame = events_frame(events, validated=validated)
        if frame.empty:
            return ApplyReport()
        report: ApplyReport = await self._run(apply_flow(frame, self.catalog, self.config))
        return report

    async def user_state(self, user_id: str, at: float | None = None) -> UserState:
        flow = user_state_flow(user_id, time.time() if at is None else at)
        state: UserState = await self._run(flow)
        return state

    async def product_features(
        self, product_ids: Iterable[str] | None = None, at: float | None = None
    ) -> ProductFeatures:
        positions = catalog_positions(self.catalog, product_ids)
        at = time.time() if at is None else at
        flow = product_features_flow(self.catalog, positions, at, cluster=self.cluster)
        features: ProductFeatures = await self._run(flow)
        return features

    async def features_for(
        self, user_id: str, product_ids: Iterable[str], at: float | None = None
    ) -> tuple[UserState, ProductFeatures]:
        positions = catalog_positions(self.catalog, product_ids)
        at = time.time() if at is None else at
        flow = request_flow(user_id, self.catalog, positions, at, cluster=self.cluster)
        both: tuple[UserState, ProductFeatures] = await self._run(flow)
        return both

    async def popular(self, category: str | None = None, limit: int = 100) -> list[str]:
        found: list[str] = await self._run(popular_flow(category, limit))
        return found
