"""The shopper's ``state`` hash as stored, and the raw fields both engines decode.

Both engines speak of raw fields, one decayed sum each (``a1d:c:<category>``,
``a14d:c:<category>``, ``pv:w``, ...; ``features.contributions``). Redis packs the sums
of one target into one field of little-endian float64 slots, so a category's name is
stored once for both half-lives (docs/redis-keys.md, "The shopper's state hash"):

- ``c:<category>``, ``b:<brand>``: the affinity at each half-life, in ``SUM_HALF_LIVES``
  order (1d, 14d, then the whole history; a field written before it existed has two);
- ``pv``, ``pb``: the price moments (``PRICE_MOMENTS`` order) of viewed and bought prices.

A slot never folded into holds ``-inf``. Times (``t``, ``p:…``, ``f:…``, ``l:…``) are one
float64 each; window buckets (``w:…``) are text. Both keep their raw names.

The hash holds the rest of the shopper too (layout v3): a recent item is ``r:<product>``
(the interaction rank as one digit, then the float64 time), and the dedup log and the
whole history are packed values cut into chunks of at most ``CHUNK_BYTES``
(``SEEN_FIELDS``, ``HISTORY_FIELDS``: Redis keeps a hash compact only while every value
is at most ``hash-max-listpack-value``, 64 bytes by default). A log or a history that
outgrows its chunks moves to a key of its own (``keys.user_seen``, ``keys.user_history``).
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping
from typing import Any

from features.definitions import PRICE_MOMENTS, SUM_HALF_LIVES
from features.folds import recent_member
from features.store import keys
from features.store.calls import text

_TARGETS = ("c", "b")
_PRICES = ("pv", "pb")
_TIMES = ("p:", "f:", "l:")  # with ``t``: one float64 each
_LABELS = tuple(SUM_HALF_LIVES)
_SUFFIXES = tuple(suffix for suffix, _ in PRICE_MOMENTS)
SLOT_BYTES = 8
RECENT = "r:"
CHUNK_BYTES = 64  # Redis's default hash-max-listpack-value
SEEN_CHUNKS = 16  # the dedup log inline up to 1 KiB (about 120 events in the horizon)
HISTORY_CHUNKS = 8  # the whole history inline up to 128 products
SEEN_FIELDS = tuple(f"s{c}" for c in range(SEEN_CHUNKS))
HISTORY_FIELDS = tuple(f"h{c}" for c in range(HISTORY_CHUNKS))
_CHUNKS = frozenset(SEEN_FIELDS + HISTORY_FIELDS)
# What lua/user_apply.lua is told of the layout: digest, chunk, seen and history chunks.
LAYOUT = f"{keys.EVENT_DIGEST_BYTES},{CHUNK_BYTES},{SEEN_CHUNKS},{HISTORY_CHUNKS}"


@functools.lru_cache(maxsize=65_536)
def packed_slot(raw_field: str) -> tuple[str, int]:
    """The stored field of a raw decayed-sum field and its slot (1-based, as Lua counts)."""
    head, _, rest = raw_field.partition(":")
    if head in _PRICES:
        return head, _SUFFIXES.index(rest) + 1
    target, _, name = rest.partition(":")
    if head.startswith("a") and head[1:] in SUM_HALF_LIVES and target in _TARGETS:
        return f"{target}:{name}", _LABELS.index(head[1:]) + 1
    raise ValueError(f"not a decayed-sum field: {raw_field!r}")


def _unpacked(field: str, value: bytes) -> dict[str, float]:
    sums = struct.unpack(f"<{len(value) // SLOT_BYTES}d", value)
    if field in _PRICES:
        names = [f"{field}:{suffix}" for suffix in _SUFFIXES]
    else:
        names = [f"a{label}:{field}" for label in _LABELS]
    return {name: s for name, s in zip(names, sums, strict=False) if s != -math.inf}


def raw_fields(stored: Mapping[Any, Any]) -> dict[str, str | float]:
    """The raw fields (``features.state.decode_user_state``'s input) of a stored hash;
    the recent items are ``recent_pairs``, the chunks ``chunked``."""
    fields: dict[str, str | float] = {}
    for key, value in stored.items():
        name = text(key)
        head = name[:2]
        if head == RECENT or name in _CHUNKS:
            continue
        if head in ("c:", "b:") or name in _PRICES:
            fields.update(_unpacked(name, bytes(value)))
        elif head in _TIMES or name == "t":
            (fields[name],) = struct.unpack("<d", value)
        else:
            fields[name] = text(value)
    return fields


def recent_pairs(stored: Mapping[Any, Any]) -> list[tuple[str, float]]:
    """The recent items of a stored hash as (``recent_member``, time) pairs, the form both
    engines decode."""
    pairs = []
    for key, value in stored.items():
        name = text(key)
        if name.startswith(RECENT):
            packed = bytes(value)
            (ts,) = struct.unpack_from("<d", packed, 1)
            pairs.append((recent_member(int(packed[:1]), name[len(RECENT) :]), ts))
    return pairs


def chunked(stored: Mapping[Any, Any], fields: tuple[str, ...]) -> bytes:
    """A packed value kept inline (``SEEN_FIELDS`` or ``HISTORY_FIELDS``): its chunks in
    order. ``stored`` maps field names (text or bytes) to values, absent ones to None."""
    by_name = {text(name): value for name, value in stored.items()}
    parts = []
    for name in fields:
        part = by_name.get(name)
        if part is None:
            break
        parts.append(bytes(part))
    return b"".join(parts)
