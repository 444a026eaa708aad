"""A small shopping world loaded into a real Redis, for tests of what a shopper meets.

The world ends now, so its decayed signals and trends are current; events the tests send
land right after it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.ingest import ingest_frame, interest_events
from features.store.catalog import save_catalog
from features.store.connect import flush, sync_store
from features.store.neighbours import save_neighbours
from features.store.online import OnlineFeatureStore
from models.ranking.registry import save_model, set_current
from models.ranking.training import EventLog, TrainConfig, prepare, train_ranker
from models.recommend.regions import ingest_regions
from models.retrieval.cooccurrence import Neighbours
from service.edge.auth import hash_api_key
from service.settings import Settings
from world.config import WorldConfig
from world.generate import generate_world

SEED = 11
DEMO_KEY = "sm_test_demo_page_key"
ADMIN_KEY = "sm_test_shop_admin_key"


@dataclass(frozen=True)
class ShopWorld:
    world_dir: Path
    redis_url: str
    catalog: Catalog
    users: pd.DataFrame
    events: pd.DataFrame
    seed: int

    def settings(self, home: Path, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "REDIS_URL": self.redis_url,
            "home": home,
            "demo_key": DEMO_KEY,
            "demo_page": True,
            "api_keys": [
                {"name": "admin", "sha256": hash_api_key(ADMIN_KEY), "scopes": ["admin"]},
            ],
            "llm_backend": "template",
            "model_poll_seconds": 0.2,
            "rate_limit_per_minute": 0,
        }
        values.update(overrides)
        return Settings.model_validate(values)

    def attributes(self, product_id: str) -> dict[str, str]:
        position = self.catalog.position(product_id)
        parsed: dict[str, str] = json.loads(self.catalog.frame["attributes"].iat[position])
        return parsed

    def active_shopper(self) -> str:
        """The shopper with the most views in the log."""
        views = self.events[self.events["type"] == "view"]
        return str(views["user_id"].value_counts().idxmax())


def build_shop(redis_url: str, out: Path, *, seed: int = SEED) -> ShopWorld:
    """Generate a small world ending today and ingest it as ``shopmode ingest`` would."""
    days = 10
    # Ends at midnight today: every event is in the past, the latest only hours old.
    start = (datetime.now(UTC) - timedelta(days=days + 1)).date()
    generate_world(WorldConfig(users=300, products=160, days=days, seed=seed, start=start), out)
    with sync_store(redis_url) as runner:
        runner.run(flush())
        catalog = Catalog.read(out / "catalog.parquet")
        runner.run(save_catalog(catalog))
        users = pd.read_parquet(out / "users.parquet")
        events = pd.read_parquet(out / "events.parquet")
        store = OnlineFeatureStore(runner, catalog)
        ingest_frame(store, interest_events(users))
        ingest_frame(store, events)
        ingest_regions(runner, users, events)
    return ShopWorld(out, redis_url, catalog, users, events, seed)


@dataclass(frozen=True)
class _Trained:
    models_dir: Path
    version: str
    neighbours: Neighbours


# One training per world per test session: modules that need a model share it.
_TRAINED: dict[tuple[int, str], _Trained] = {}


def train_shop(shop: ShopWorld, models_dir: Path) -> str:
    """A small ranker on the shop's log as ``shopmode train`` would make it, made current
    (trained once per world and session, then copied into ``models_dir``)."""
    key = (shop.seed, str(shop.events["ts"].max()))
    trained = _TRAINED.get(key)
    if trained is None:
        prepared = prepare(EventLog(shop.events, shop.catalog), test_days=2)
        fitted = train_ranker(prepared, TrainConfig(max_iter=40, max_train_decisions=1500))
        meta = save_model(models_dir, fitted.estimator, fitted.metadata)
        trained = _Trained(models_dir, meta.version, prepared.cooccurrence.as_of(np.inf))
        _TRAINED[key] = trained
    elif trained.models_dir != models_dir:
        shutil.copytree(trained.models_dir / trained.version, models_dir / trained.version)
    with sync_store(shop.redis_url) as runner:
        runner.run(save_neighbours(trained.neighbours.lists(shop.catalog)))
        set_current(runner, models_dir, trained.version)
    return trained.version


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
