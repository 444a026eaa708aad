"""The catalog snapshot in Redis: what ``shopmode ingest --catalog`` stores and every API
process loads (one key, ``keys.catalog()``, Parquet bytes; no TTL: reference data)."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio

from features.catalog import Catalog
from features.store import keys
from shopmode.errors import NotFound


def store_catalog(client: redis.Redis | redis.RedisCluster, catalog: Catalog) -> None:
    """Replace the stored catalog snapshot (one key; no TTL: reference data)."""
    client.set(keys.catalog(), catalog.to_parquet_bytes())


def load_catalog(client: redis.Redis | redis.RedisCluster) -> Catalog:
    blob = client.get(keys.catalog())
    if blob is None:
        raise NotFound("no catalog stored: run `shopmode ingest --catalog FILE`")
    assert isinstance(blob, bytes)
    return Catalog.from_parquet_bytes(blob)


async def load_catalog_async(client: redis.asyncio.Redis | redis.asyncio.RedisCluster) -> Catalog:
    blob = await client.get(keys.catalog())
    if blob is None:
        raise NotFound("no catalog stored: run `shopmode ingest --catalog FILE`")
    assert isinstance(blob, bytes)
    # Parsing and validating every product takes a while on a big catalog: off the loop.
    return await asyncio.to_thread(Catalog.from_parquet_bytes, blob)
