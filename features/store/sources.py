"""Where ingested data came from, when the evaluation needs to know: the directory of a
generated world whose events were ingested (``keys.ingested_world``; it holds the world's
hidden ``truth/``, which only ``shopmode evaluate``'s oracle reads). No TTL: it describes
the data in the store, and goes when the store is emptied."""

from __future__ import annotations

from pathlib import Path

from features.store import keys
from features.store.calls import Flow, command, optional_text


def remember_world(world_dir: Path) -> Flow[None]:
    yield [command("SET", keys.ingested_world(), str(world_dir))]


def forget_world() -> Flow[None]:
    yield [command("DEL", keys.ingested_world())]


def ingested_world() -> Flow[Path | None]:
    (raw,) = yield [command("GET", keys.ingested_world())]
    found = optional_text(raw)
    return None if found is None else Path(found)
