"""The catalog snapshot in Redis: what ``shopmode ingest --catalog`` stores and every API
process loads (one key, ``keys.catalog()``, Parquet bytes; no TTL: reference data)."""

from __future__ import annotations

from features.catalog import Catalog
from features.store import keys
from features.store.calls import Flow, command
from shopmode.errors import NotFound


def save_catalog(catalog: Catalog) -> Flow[None]:
    """Replace the stored catalog snapshot."""
    yield [command("SET", keys.catalog(), catalog.to_parquet_bytes())]


def load_catalog() -> Flow[Catalog]:
    """The stored catalog (``NotFound`` without one). Parsing a big catalog takes a while:
    the service runs this flow with ``offload=True``."""
    (blob,) = yield [command("GET", keys.catalog())]
    if blob is None:
        raise NotFound("no catalog stored: run `shopmode ingest --catalog FILE`")
    return Catalog.from_parquet_bytes(bytes(blob))


def has_catalog() -> Flow[bool]:
    (found,) = yield [command("EXISTS", keys.catalog())]
    return bool(found)
