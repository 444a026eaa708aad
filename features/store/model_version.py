"""The model every service process serves: ``keys.model_current()`` holds its version
(a string, no TTL: it names the model to serve until another version is promoted).
``models.ranking.registry`` promotes; the service polls it and hot-reloads."""

from __future__ import annotations

from features.store import keys
from features.store.calls import Flow, command, optional_text

CURRENT_KEY = keys.model_current()  # its name, for operators and tests


def current_model() -> Flow[str | None]:
    (raw,) = yield [command("GET", keys.model_current())]
    return optional_text(raw)


def set_current_model(version: str) -> Flow[None]:
    yield [command("SET", keys.model_current(), version)]
