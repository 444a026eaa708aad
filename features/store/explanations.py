"""The explanation cache's commands: generated texts kept by the evidence they were written
from (the cache's rules, and what a stored value says, are in ``models.explain.cache``).

One string per LLM backend, mode and evidence pack (``keys.explanation``), with a TTL: a
grounded text with the version of the check that passed it, or a record of the tries the
check rejected. A page's outcomes are one ``MGET`` on a standalone Redis (one round trip,
one command to send and parse); on a Redis Cluster, where a page's keys live in many
slots, one ``GET`` per key in the same pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from features.store import keys
from features.store.calls import Call, Flow, command


def cached_explanations(
    backend_id: str, mode: str, fingerprints: Sequence[str], *, cluster: bool
) -> Flow[list[str | None]]:
    """Per fingerprint, in order: the stored value, or None."""
    found = [keys.explanation(backend_id, mode, fingerprint) for fingerprint in fingerprints]
    if not found:
        return []
    if cluster:
        replies = yield [command("GET", key) for key in found]
    else:
        (replies,) = yield [command("MGET", *found)]
    return [_text(value) for value in replies]


def save_explanations(
    backend_id: str, mode: str, values: Mapping[str, str], ttl_s: int
) -> Flow[None]:
    """Store each value by fingerprint; each expires after ``ttl_s``."""
    calls: list[Call] = [
        command("SET", keys.explanation(backend_id, mode, fingerprint), value, "EX", ttl_s)
        for fingerprint, value in values.items()
    ]
    yield calls


def _text(value: bytes | str | None) -> str | None:
    # A generated text: a stray invalid byte is shown replaced, never an error.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
