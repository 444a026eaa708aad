"""The online engine: the feature store in Redis (standalone or Cluster).

``FeatureFlows`` holds each operation once, as a flow over one catalog and one
``StoreConfig``. ``OnlineFeatureStore`` (sync: CLI, bulk ingest) and
``AsyncOnlineFeatureStore`` (the service) hand those flows to a runner; they hold no
logic of their own. Key layout: docs/redis-keys.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.events.frame import validate_frame
from features.events.schema import EVENT_FIELDS, Event
from features.state import ProductFeatures, UserState
from features.store.apply import ApplyReport, StoreConfig, apply_flow
from features.store.calls import Flow
from features.store.flows import (
    popular_flow,
    product_features_flow,
    request_flow,
    user_expiry_flow,
    user_state_flow,
)
from features.store.runner import AsyncClient, AsyncRunner, SyncClient, SyncRunner
from shopmode.errors import InvalidEvent

EventsInput = pd.DataFrame | Sequence[Event]


def events_frame(events: EventsInput, *, validated: bool = False) -> pd.DataFrame:
    """Validated events as an ``EVENT_FIELDS`` frame (``Event`` objects are already valid)."""
    if isinstance(events, pd.DataFrame) and validated:
        return events
    if isinstance(events, pd.DataFrame):
        frame, rejections = validate_frame(events)
        if rejections:
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


def _now(at: float | None) -> float:
    return time.time() if at is None else at


class FeatureFlows:
    """The feature store's operations over one catalog, each written once as a flow."""

    def __init__(self, catalog: Catalog, config: StoreConfig, *, cluster: bool) -> None:
        self.catalog = catalog
        self.config = config
        self.cluster = cluster

    def apply(self, events: EventsInput, *, validated: bool = False) -> Flow[ApplyReport]:
        """Fold events in; each counts once however often it is sent (within the dedup
        horizon); accepted events also go to the live event log (``config``).

        A DataFrame is validated first (``InvalidEvent`` on the first bad row) unless
        ``validated`` says it came from ``validate_frame`` already.
        """
        return apply_flow(events_frame(events, validated=validated), self.catalog, self.config)

    def user_state(self, user_id: str, at: float | None = None) -> Flow[UserState]:
        return user_state_flow(user_id, _now(at))

    def product_features(
        self, product_ids: Iterable[str] | None = None, at: float | None = None
    ) -> Flow[ProductFeatures]:
        """Features of the given products (default: the whole catalog), as of ``at``."""
        positions = catalog_positions(self.catalog, product_ids)
        return product_features_flow(self.catalog, positions, _now(at), cluster=self.cluster)

    def features_for(
        self, user_id: str, product_ids: Iterable[str], at: float | None = None
    ) -> Flow[tuple[UserState, ProductFeatures]]:
        """A shopper's state and candidates' features in one round trip."""
        positions = catalog_positions(self.catalog, product_ids)
        return request_flow(user_id, self.catalog, positions, _now(at), cluster=self.cluster)

    def popular(self, category: str | None = None, limit: int = 100) -> Flow[list[str]]:
        """Most popular products overall or in a category (long half-life), best first."""
        return popular_flow(category, limit)

    def user_ttls(self, user_id: str) -> Flow[list[int]]:
        return user_expiry_flow(user_id)


class OnlineFeatureStore:
    """The feature store for sync callers; every method runs one ``FeatureFlows`` flow."""

    def __init__(
        self, client: SyncClient | SyncRunner, catalog: Catalog, config: StoreConfig | None = None
    ) -> None:
        self.runner = client if isinstance(client, SyncRunner) else SyncRunner(client)
        self.flows = FeatureFlows(catalog, config or StoreConfig(), cluster=self.runner.cluster)
        self.catalog, self.config = catalog, self.flows.config

    def apply(self, events: EventsInput, *, validated: bool = False) -> ApplyReport:
        return self.runner.run(self.flows.apply(events, validated=validated))

    def user_state(self, user_id: str, at: float | None = None) -> UserState:
        return self.runner.run(self.flows.user_state(user_id, at))

    def product_features(
        self, product_ids: Iterable[str] | None = None, at: float | None = None
    ) -> ProductFeatures:
        return self.runner.run(self.flows.product_features(product_ids, at))

    def features_for(
        self, user_id: str, product_ids: Iterable[str], at: float | None = None
    ) -> tuple[UserState, ProductFeatures]:
        return self.runner.run(self.flows.features_for(user_id, product_ids, at))

    def popular(self, category: str | None = None, limit: int = 100) -> list[str]:
        return self.runner.run(self.flows.popular(category, limit))

    def user_ttls(self, user_id: str) -> list[int]:
        return self.runner.run(self.flows.user_ttls(user_id))


class AsyncOnlineFeatureStore:
    """The same store for the service; every method awaits one ``FeatureFlows`` flow."""

    def __init__(
        self, client: AsyncClient | AsyncRunner, catalog: Catalog, config: StoreConfig | None = None
    ) -> None:
        self.runner = client if isinstance(client, AsyncRunner) else AsyncRunner(client)
        self.flows = FeatureFlows(catalog, config or StoreConfig(), cluster=self.runner.cluster)
        self.catalog, self.config = catalog, self.flows.config

    async def apply(self, events: EventsInput, *, validated: bool = False) -> ApplyReport:
        return await self.runner.run(self.flows.apply(events, validated=validated))

    async def user_state(self, user_id: str, at: float | None = None) -> UserState:
        return await self.runner.run(self.flows.user_state(user_id, at))

    async def product_features(
        self, product_ids: Iterable[str] | None = None, at: float | None = None
    ) -> ProductFeatures:
        return await self.runner.run(self.flows.product_features(product_ids, at))

    async def features_for(
        self, user_id: str, product_ids: Iterable[str], at: float | None = None
    ) -> tuple[UserState, ProductFeatures]:
        return await self.runner.run(self.flows.features_for(user_id, product_ids, at))

    async def popular(self, category: str | None = None, limit: int = 100) -> list[str]:
        return await self.runner.run(self.flows.popular(category, limit))

    async def user_ttls(self, user_id: str) -> list[int]:
        return await self.runner.run(self.flows.user_ttls(user_id))
