"""Schemathesis against the app's own OpenAPI schema, through the real ASGI app.

Every operation gets a bounded number of generated requests (deterministic seed) with a
key that holds every scope; no answer may be a 5xx, and every answer must match the
schema the app publishes for that operation and status.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from live_server import auth, live_settings, save_tiny_model, seed_shop
from schemathesis.python.asgi import shutdown_lifespans

from models.registry import CURRENT_KEY
from service.app import create_app

pytestmark = pytest.mark.slow

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
]
# The schema is read from the app itself (no server needed); the lifespan, which reads
# ``app.state.settings``, starts on the first generated call, once ``fuzz_store`` has
# pointed the app at the test Redis.
APP = create_app(live_settings("redis://127.0.0.1:9/0", Path(tempfile.gettempdir())))
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.location = "/openapi.json"


@pytest.fixture(scope="module")
def fuzz_store(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    seed_shop(client)
    settings = live_settings(redis_server_url, tmp_path_factory.mktemp("fuzz"))
    save_tiny_model(settings.models_dir, "fuzz1")
    client.set(CURRENT_KEY, "fuzz1")
    client.close()
    APP.state.settings = settings
    yield redis_server_url
    # schemathesis started the app's lifespan; end it while the Redis server still runs.
    shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_answers_match_the_schema(
    case: schemathesis.Case, fuzz_store: str
) -> None:
    case.call_and_validate(headers=auth("admin"), checks=CHECKS)
