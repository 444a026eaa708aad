"""The service as a real server process (uvicorn or ``shopmode serve``) on a loopback port,
and a small shop seeded into a real Redis, for the fault and scale-out tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis
import redis.cluster
from catalogs import shop_catalog, store_catalog

from features.catalog import Catalog
from features.events.schema import parse_events
from features.store.online import OnlineFeatureStore
from models.ranking.features import RANKING_FEATURES, REASON_GROUPS
from models.ranking.ranker import ShopRanker
from models.ranking.registry import MODEL_FILE, save_model
from service.edge.auth import hash_api_key
from service.runtime.embedded_redis import free_port
from service.settings import Settings

KEYS = {
    "reader": ("sm_live_reader_key", ["recommend"]),
    "writer": ("sm_live_writer_key", ["recommend", "events:write"]),
    "admin": ("sm_live_admin_key", ["recommend", "events:write", "admin"]),
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who][0]}"}


def seed_shop(client: redis.Redis | redis.cluster.RedisCluster) -> Catalog:
    """Store the catalog and a few purchases (so popularity is not flat)."""
    catalog = shop_catalog()
    store_catalog(client, catalog)
    now = time.time() - 120
    rows = [
        {"event_id": f"seed{i}-{j}", "user_id": f"seed{j}", "type": "purchase"}
        | {"product_id": f"p{i}", "ts": now, "price": 10.0 + 5 * i, "quantity": 1}
        for i in range(30)
        for j in range(i % 5)
    ]
    events, rejected = parse_events(rows)
    assert not rejected
    OnlineFeatureStore(client, catalog).apply(events)
    return catalog


def save_tiny_model(models_dir: Path, version: str) -> Path:
    """A small real ranker on the service's own feature list, saved through the registry;
    the path of its model file."""
    names = list(RANKING_FEATURES)
    X = np.random.default_rng(5).random((300, len(names)))
    meta: dict[str, Any] = {
        "created_at": time.time(),
        "feature_names": names,
        "feature_groups": {group: list(columns) for group, columns in REASON_GROUPS.items()},
        "baseline": [0.0] * len(names),
        "data_fingerprint": "live-test",
        "split_ts": 0.0,
        "code_version": "test",
    }
    save_model(models_dir, ShopRanker(max_iter=5).fit(X, X[:, 0]), meta, version=version)
    return models_dir / version / MODEL_FILE


def service_env(redis_url: str, home: Path, **overrides: str) -> dict[str, str]:
    """``SHOPMODE_*`` variables for a server on ``redis_url`` with the three live keys."""
    keys = [
        {"name": name, "sha256": hash_api_key(key), "scopes": scopes}
        for name, (key, scopes) in KEYS.items()
    ]
    env = {
        "SHOPMODE_REDIS_URL": redis_url,
        "SHOPMODE_HOME": str(home),
        "SHOPMODE_API_KEYS": json.dumps(keys),
        "SHOPMODE_LLM_BACKEND": "template",
        "SHOPMODE_RATE_LIMIT_PER_MINUTE": "0",
        "SHOPMODE_REDIS_SOCKET_TIMEOUT": "0.2",
        "SHOPMODE_MODEL_POLL_SECONDS": "0.2",
        "OMP_NUM_THREADS": "1",
    }
    return env | {f"SHOPMODE_{k.upper()}": v for k, v in overrides.items()}


def live_settings(redis_url: str, home: Path, **overrides: object) -> Settings:
    """The same configuration as ``service_env``, for an in-process app."""
    values: dict[str, object] = {
        "REDIS_URL": redis_url,
        "home": home,
        "api_keys": [
            {"name": name, "sha256": hash_api_key(key), "scopes": scopes}
            for name, (key, scopes) in KEYS.items()
        ],
        "llm_backend": "template",
        "rate_limit_per_minute": 0,
        "redis_socket_timeout": 0.2,
        "model_poll_seconds": 0.2,
    }
    return Settings.model_validate(values | overrides)


@dataclass
class LiveService:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not reached within {timeout} s"
        time.sleep(0.05)


def room_in_this_minute(seconds: float, keep_alive: Callable[[], object] | None = None) -> None:
    """Wait, if needed, so that the rate limit's one-minute window has ``seconds`` left.

    ``keep_alive`` runs about every second while waiting, so that keep-alive connections
    a test holds are not closed by the server's idle timeout meanwhile."""
    left = 60.0 - time.time() % 60.0
    if left >= seconds:
        return
    deadline = time.monotonic() + left + 0.05
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(1.0, remaining))
        if keep_alive is not None:
            keep_alive()


@contextmanager
def live_service(env: dict[str, str], log: Path, *, workers: int = 0) -> Iterator[LiveService]:
    """A real server: ``uvicorn`` (workers=0) or ``shopmode serve --workers N``."""
    port = free_port()
    if workers:
        command = [sys.executable, "-c", "from service.cli import main; main()", "serve"]
        command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    else:
        command = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
        command += ["--port", str(port), "--host", "127.0.0.1", "--log-level", "warning"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPMODE_")}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            env=clean | env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = LiveService(f"http://127.0.0.1:{port}", process, log)

    def up() -> bool:
        assert process.poll() is None, f"the server exited:\n{service.log_text()[-3000:]}"
        try:
            return httpx.get(f"{service.url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 60.0, "the server answering /healthz")
        yield service
    finally:
        # The server's own process group (uvicorn's workers included), started above.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
