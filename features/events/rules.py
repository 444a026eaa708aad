"""The rules an event must follow, one scalar check per field, and its content-derived id.

``features.events.schema.Event`` (pydantic, one row at a time) calls these checks from its
validators; ``features.events.frame.validate_frame`` (numpy, million-row files) applies the
same rules column-wise and falls back to these very functions for unusual cells, and a
property test holds the two equal. Reasons are shared word for word.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from enum import StrEnum

import pandas as pd


class EventType(StrEnum):
    IMPRESSION = "impression"
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    SEARCH = "search"
    FOLLOW_BRAND = "follow_brand"
    LIKE_CATEGORY = "like_category"


PRODUCT_EVENT_TYPES = frozenset(
    {
        EventType.IMPRESSION,
        EventType.VIEW,
        EventType.CLICK,
        EventType.ADD_TO_CART,
        EventType.PURCHASE,
    }
)
# A shopper choosing a product (an impression is shown to them, not chosen), and buying it.
ENGAGEMENT_TYPES: tuple[EventType, ...] = (
    EventType.VIEW,
    EventType.CLICK,
    EventType.ADD_TO_CART,
    EventType.PURCHASE,
)
BUYING_TYPES: tuple[EventType, ...] = (EventType.ADD_TO_CART, EventType.PURCHASE)
MAX_ID_LENGTH = 128
MAX_QUERY_LENGTH = 512
MAX_COUNT = 1_000_000_000  # quantities and positions; keeps them inside int64 downstream
FUTURE_TOLERANCE_SECONDS = 300.0
EARLIEST_TS = 0.0  # 1970-01-01T00:00:00Z: a shop's history may be decades old

# Canonical column order; a row's rejection names the first failing field in this order.
EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "user_id",
    "type",
    "product_id",
    "ts",
    "price",
    "quantity",
    "query",
    "session_id",
    "position",
    "brand",
    "category",
    "recommendation_id",
)
ID_FIELDS: tuple[str, ...] = ("event_id", "user_id", "product_id", "session_id", "brand")
ID_FIELDS += ("category", "recommendation_id")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Reasons, shared word for word by both validators.
REQUIRED = "is required"
NOT_A_STRING = "must be a string"
EMPTY = "must not be empty"
BLANK = "must not be only whitespace"
TOO_LONG_ID = f"is longer than {MAX_ID_LENGTH} characters"
CONTROL = "contains control characters"
TOO_LONG_QUERY = f"is longer than {MAX_QUERY_LENGTH} characters"
NOT_A_NUMBER = "must be a number"
NOT_AN_INTEGER = "must be a whole number"
NOT_FINITE = "must be finite"
NEGATIVE = "must not be negative"
TOO_LARGE_COUNT = f"is larger than {MAX_COUNT:,}"
BAD_TIMESTAMP = "must be epoch seconds or an RFC 3339 timestamp"
TOO_EARLY = "is before 1970-01-01"
IN_FUTURE = "is more than 5 minutes in the future"
UNKNOWN_TYPE = "unknown event type (expected one of: " + ", ".join(t.value for t in EventType)
UNKNOWN_TYPE += ")"


def required_for(event_type: str) -> str:
    return f"is required for a '{event_type}' event"


def is_missing(value: object) -> bool:
    """None, NaN and pandas' NA all mean 'not given'."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def check_id(value: object, *, required_reason: str | None = None) -> str | None:
    if is_missing(value):
        if required_reason is not None:
            raise ValueError(required_reason)
        return None
    if not isinstance(value, str):
        raise ValueError(NOT_A_STRING)
    if value == "":
        raise ValueError(EMPTY)
    if value.strip() == "":
        raise ValueError(BLANK)
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(TOO_LONG_ID)
    if CONTROL_CHARACTERS.search(value):
        raise ValueError(CONTROL)
    return value


def check_type(value: object) -> EventType:
    if is_missing(value):
        raise ValueError(REQUIRED)
    if not isinstance(value, str) or value not in EventType.__members__.values():
        raise ValueError(UNKNOWN_TYPE)
    return EventType(value)


def parse_timestamp(value: object) -> float:
    """Epoch seconds from a number or an RFC 3339 string (naive times are read as UTC)."""
    if isinstance(value, bool):
        raise ValueError(BAD_TIMESTAMP)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(BAD_TIMESTAMP) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(BAD_TIMESTAMP)


def check_ts(value: object, now: float) -> float:
    if is_missing(value):
        raise ValueError(REQUIRED)
    ts = parse_timestamp(value)
    if not math.isfinite(ts):
        raise ValueError(NOT_FINITE)
    if ts < EARLIEST_TS:
        raise ValueError(TOO_EARLY)
    if ts > now + FUTURE_TOLERANCE_SECONDS:
        raise ValueError(IN_FUTURE)
    return ts


def check_amount(value: object) -> float | None:
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(NOT_A_NUMBER)
    amount = float(value)
    if not math.isfinite(amount):
        raise ValueError(NOT_FINITE)
    if amount < 0:
        raise ValueError(NEGATIVE)
    return amount


def check_count(value: object) -> int | None:
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(NOT_A_NUMBER)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(NOT_FINITE)
        if not value.is_integer():
            raise ValueError(NOT_AN_INTEGER)
    if value < 0:
        raise ValueError(NEGATIVE)
    if value > MAX_COUNT:
        raise ValueError(TOO_LARGE_COUNT)
    return int(value)


def check_query(value: object) -> str | None:
    if is_missing(value):
        return None
    if not isinstance(value, str):
        raise ValueError(NOT_A_STRING)
    if len(value) > MAX_QUERY_LENGTH:
        raise ValueError(TOO_LONG_QUERY)
    return value


def content_event_id(
    user_id: str,
    event_type: str,
    product_id: str | None,
    ts: float,
    *rest: object,
) -> str:
    """A deterministic id from an event's content, so a resent batch deduplicates."""
    parts = [user_id, event_type, product_id or "", repr(float(ts))]
    parts += ["" if is_missing(part) else str(part) for part in rest]
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
    return f"c-{digest}"
