"""The serving model's file corrupted on disk, then a reload: the last good model keeps
serving and the error shows in the reload answer, /readyz and /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from live_server import save_tiny_model, seed_shop

from models.ranking.registry import CURRENT_KEY, METADATA_FILE, MODEL_FILE
from service.api.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.fault

Bearer = Callable[[str], dict[str, str]]


_save = save_tiny_model


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 64):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _reseal(models_dir: Path, version: str) -> None:
    """Rewrite the metadata checksum to match the damaged file, so the loader itself must
    notice (a copy tool that 'fixed' the checksum, or damage before it was computed)."""
    import hashlib

    meta_path = models_dir / version / METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["model_sha256"] = hashlib.sha256(
        (models_dir / version / MODEL_FILE).read_bytes()
    ).hexdigest()
    meta_path.write_text(json.dumps(meta))


@pytest.fixture
def serving(
    service_settings: Callable[..., Settings], redis_client: redis.Redis
) -> Iterator[tuple[TestClient, Settings]]:
    seed_shop(redis_client)
    settings = service_settings()
    _save(settings.models_dir, "m1")
    redis_client.set(CURRENT_KEY, "m1")
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 10
        while client.get("/readyz").json()["model_version"] != "m1":
            assert time.monotonic() < deadline, "m1 never loaded"
            time.sleep(0.05)
        yield client, settings


@pytest.mark.parametrize("resealed", [False, True], ids=["checksum-mismatch", "resealed"])
def test_corrupted_current_model_keeps_the_last_good_one(
    serving: tuple[TestClient, Settings], bearer: Bearer, resealed: bool
) -> None:
    client, settings = serving
    _flip_bytes(settings.models_dir / "m1" / MODEL_FILE)
    if resealed:
        _reseal(settings.models_dir, "m1")

    reload = client.post("/v1/admin/models/reload", headers=bearer("admin"))
    assert reload.status_code == 200
    answer = reload.json()
    assert answer["wanted"] == "m1"
    assert answer["serving"] == "m1"  # the copy loaded before the damage
    assert answer["changed"] is False
    assert "m1" in answer["error"]
    assert ("refusing" in answer["error"]) is not resealed

    ready = client.get("/readyz")
    assert ready.json()["model_version"] == "m1"
    assert "m1" in ready.json()["model_error"]
    assert "shopmode_model_reload_failures_total 1.0" in client.get("/metrics").text
    ask = {"user_id": "seed1", "k": 5, "explain": "template"}
    served = client.post("/v1/recommendations", json=ask, headers=bearer("reader"))
    assert served.status_code == 200
    assert len(served.json()["items"]) == 5
    assert "shopmode_unhandled_errors_total 0.0" in client.get("/metrics").text


def test_a_corrupted_new_version_is_not_promoted_and_a_good_one_is(
    serving: tuple[TestClient, Settings], redis_client: redis.Redis, bearer: Bearer
) -> None:
    client, settings = serving
    _flip_bytes(_save(settings.models_dir, "m2"))
    _reseal(settings.models_dir, "m2")
    redis_client.set(CURRENT_KEY, "m2")
    deadline = time.monotonic() + 10
    while client.get("/readyz").json()["model_error"] is None:
        assert time.monotonic() < deadline, "the bad version was never tried"
        time.sleep(0.05)
    assert client.get("/readyz").json()["model_version"] == "m1"

    _save(settings.models_dir, "m3")
    redis_client.set(CURRENT_KEY, "m3")
    deadline = time.monotonic() + 10
    while client.get("/readyz").json()["model_version"] != "m3":
        assert time.monotonic() < deadline, "the good version was never loaded"
        time.sleep(0.05)
    assert client.get("/readyz").json()["model_error"] is None
