"""Shared fixtures: a throwaway real Redis server (never a fake), flushed between tests.

``SHOPMODE_TEST_REDIS_URL`` points the suite at an existing server instead (it is
flushed, so never point it at data you want to keep).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

# A 3-master Redis Cluster of real servers, and a store client over both topologies.
from cluster import redis_cluster_url, store_client  # noqa: F401

from service.runtime.embedded_redis import EmbeddedRedis
from service.settings import Settings


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("SHOPMODE_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The URL of the throwaway server, empty at the start of the test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    return redis_server_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def shopmode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SHOPMODE_HOME for CLI and service tests."""
    home = tmp_path / "home"
    monkeypatch.setenv("SHOPMODE_HOME", str(home))
    from service.settings import get_settings

    get_settings.cache_clear()
    return home


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated world (400 shoppers, 150 products, 14 days, seed 7), built once.

    The returned directory holds catalog/users/events parquet files, ``truth/`` and
    ``world.json``. Treat it as read-only: every test in the session shares it.
    """
    from world.config import WorldConfig
    from world.generate import generate_world

    out = tmp_path_factory.mktemp("small_world") / "world"
    generate_world(WorldConfig(users=400, products=150, days=14, seed=7), out)
    return out


# --- HTTP service (tests/test_service_*.py, tests/test_api_*.py) -------------------------

SERVICE_KEYS = {
    "reader": ("sm_test_reader_key", ("recommend",)),
    "writer": ("sm_test_writer_key", ("recommend", "events:write")),
    "admin": ("sm_test_admin_key", ("recommend", "events:write", "admin")),
}


@pytest.fixture
def service_settings(redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build service ``Settings`` on the throwaway Redis with the three test keys."""
    from service.edge.auth import hash_api_key

    def make(**overrides: object) -> Settings:
        keys = [
            {"name": name, "sha256": hash_api_key(key), "scopes": list(scopes)}
            for name, (key, scopes) in SERVICE_KEYS.items()
        ]
        values: dict[str, object] = {
            "REDIS_URL": redis_url,
            "home": tmp_path / "home",
            "api_keys": keys,
            "model_poll_seconds": 0.2,
            "llm_backend": "template",
        }
        values.update(overrides)
        return Settings.model_validate(values)

    return make


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    """``bearer("reader" | "writer" | "admin")``: the Authorization header of that test key."""

    def header(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {SERVICE_KEYS[who][0]}"}

    return header
