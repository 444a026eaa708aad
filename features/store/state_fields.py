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
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping
from typing import Any

from features.definitions import PRICE_MOMENTS, SUM_HALF_LIVES
from features.store.calls import text

_TARGETS = ("c", "b")
_PRICES = ("pv", "pb")
_TIMES = ("p:", "f:", "l:")  # with ``t``: one float64 each
_LABELS = tuple(SUM_HALF_LIVES)
_SUFFIXES = tuple(suffix for suffix, _ in PRICE_MOMENTS)
SLOT_BYTES = 8


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
    """The raw fields (``features.state.decode_user_state``'s input) of a stored hash."""
    fields: dict[str, str | float] = {}
    for key, value in stored.items():
        name = text(key)
        head = name[:2]
        if head in ("c:", "b:") or name in _PRICES:
            fields.update(_unpacked(name, bytes(value)))
        elif head in _TIMES or name == "t":
            (fields[name],) = struct.unpack("<d", value)
        else:
            fields[name] = text(value)
    return fields
