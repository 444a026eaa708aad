"""What the store says to Redis, without saying it.

An operation is written once, as a ``Flow``: a generator that yields a batch of ``Call``s,
receives their replies (one pipelined round trip) and, when done, returns its result.
``features.store.runner`` runs a flow on a sync client (the CLI) or an async one (the
service): the runners are the only code that differs by ``await``. The reply decoders
below are the only place bytes from Redis become text.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One command in a pipeline: a plain command, or a script by name (``scripts``) whose
    first ``keys`` arguments are the keys it touches."""

    command: str
    args: tuple[Any, ...]
    script: str | None = None
    keys: int = 0


Flow: TypeAlias = Generator[list[Call], list[Any], T]


def command(name: str, *args: Any) -> Call:
    return Call(name, args)


def script(name: str, keys: Sequence[Any], args: Sequence[Any]) -> Call:
    return Call("EVALSHA", (*keys, *args), script=name, keys=len(keys))


SCAN = "SCAN"


def scan(match: str, limit: int) -> Call:
    """Up to ``limit`` keys matching the glob ``match``, replied as one list. The runner
    walks the keyspace (every primary of a Cluster) in as many round trips as it takes, so
    a scan is sent alone, never in a batch with other calls."""
    return Call(SCAN, (match, limit))


def text(value: Any) -> str:
    """A reply as text (Redis answers bytes; a decoding client, str)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def optional_text(value: Any) -> str | None:
    return None if value is None else text(value)


def scored(reply: Any) -> list[tuple[str, float]]:
    """``(member, score)`` pairs from a WITHSCORES reply, paired or flat ``[m, s, m, s]``."""
    items = list(reply or [])
    if items and not isinstance(items[0], list | tuple):
        items = list(zip(items[::2], items[1::2], strict=True))
    return [(text(member), float(score)) for member, score in items]
