"""Everything the lifespan opens, held on ``app.state.shopmode`` for the routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from features.store.apply import StoreConfig
from features.store.online import AsyncOnlineFeatureStore
from features.store.runner import AsyncRunner
from models.explain import Explainer
from models.recommend.recommender import Recommender
from service.edge.auth import KeyRing
from service.edge.limits import RateLimiter
from service.edge.metrics import ServiceMetrics
from service.edge.tokens import ShopperTokens
from service.runtime.explaining import Explaining
from service.runtime.model_slot import ModelSlot
from service.runtime.redis_link import RedisHealth
from service.runtime.snapshot import CatalogSnapshot
from service.settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    # The runner every Redis call goes through (features.store); the store config is the
    # settings' (SHOPMODE_*_TTL_DAYS...).
    runner: AsyncRunner
    store_config: StoreConfig
    health: RedisHealth
    metrics: ServiceMetrics
    keys: KeyRing
    limiter: RateLimiter
    models: ModelSlot
    explaining: Explaining
    tokens: ShopperTokens
    snapshot: CatalogSnapshot | None = None
    store: AsyncOnlineFeatureStore | None = None
    recommender: Recommender | None = None
    snapshot_error: str | None = None
    background_errors: list[str] = field(default_factory=list)

    @property
    def explainer(self) -> Explainer:
        return self.explaining.explainer

    @property
    def llm_problem(self) -> str | None:
        return self.explaining.problem
