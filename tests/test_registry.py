"""The registry round-trips a model through disk and Redis and refuses tampered files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from models.ranking.ranker import ShopRanker
from models.ranking.registry import (
    CURRENT_KEY,
    MODEL_FILE,
    list_versions,
    load_current,
    load_version,
    save_model,
    set_current,
)
from shopmode.errors import ModelError, NotFound

FEATURES = ["views_7d", "price_ratio", "trending"]


def _fitted() -> ShopRanker:
    rng = np.random.default_rng(1)
    X = rng.random((300, len(FEATURES)))
    return ShopRanker(max_iter=10).fit(X, (X[:, 0] > 0.5).astype(float))


def _metadata() -> dict[str, Any]:
    return {
        "created_at": 1.0,
        "feature_names": FEATURES,
        "feature_groups": {"recency": ["views_7d"], "price": ["price_ratio"]},
        "baseline": [0.1, 1.0, 0.0],
        "data_fingerprint": "abc",
        "split_ts": 100.0,
        "metrics": {"ndcg@10": 0.3},
        "code_version": "test",
    }


def test_round_trip_through_redis_current_key(tmp_path: Path, redis_client: redis.Redis) -> None:
    model = _fitted()
    meta = save_model(tmp_path, model, _metadata(), version="v1")
    set_current(redis_client, tmp_path, meta.version)
    assert redis_client.get(CURRENT_KEY) == b"v1"
    loaded = load_current(redis_client, tmp_path)
    probe = np.random.default_rng(2).random((20, len(FEATURES)))
    assert np.array_equal(loaded.estimator.predict(probe), model.predict(probe))
    assert loaded.metadata.feature_names == FEATURES
    assert loaded.metadata.metrics == {"ndcg@10": 0.3}
    assert list_versions(tmp_path) == ["v1"]


def test_tampered_model_file_is_refused(tmp_path: Path, redis_client: redis.Redis) -> None:
    meta = save_model(tmp_path, _fitted(), _metadata(), version="v1")
    set_current(redis_client, tmp_path, meta.version)
    path = tmp_path / "v1" / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match"):
        load_current(redis_client, tmp_path)


def test_no_current_model_and_unknown_version_are_clear_errors(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    with pytest.raises(ModelError, match="shopmode train"):
        load_current(redis_client, tmp_path)
    with pytest.raises(NotFound):
        load_version(tmp_path, "nope")
    with pytest.raises(NotFound):
        load_version(tmp_path, "../../etc")


def test_an_existing_version_is_never_overwritten(tmp_path: Path) -> None:
    save_model(tmp_path, _fitted(), _metadata(), version="v1")
    with pytest.raises(ModelError, match="already exists"):
        save_model(tmp_path, _fitted(), _metadata(), version="v1")
