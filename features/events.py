"""The behavioural event: its schema, its validation rules, and a content-derived id.

Every rule lives in one scalar check function per field. ``Event`` (pydantic, one row at a
time, for HTTP) calls them from its validators; ``features.bulk.validate_frame`` (numpy, for
million-row files) applies the same rules column-wise and is tested to agree.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)


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
MAX_ID_LENGTH = 128
MAX_QUERY_LENGTH = 512
MAX_COUNT = 1_000_000_000  # quantities and positions; keeps them inside int64 downstream
FUTURE_TOLERANCE_SECONDS = 300.0
EARLIEST_TS = 946_684_800.0  # 2000-01-01T00:00:00Z

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
TOO_EARLY = "is before 2000-01-01"
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


def _now(info: ValidationInfo) -> float:
    context = info.context
    if isinstance(context, Mapping) and "now" in context:
        return float(context["now"])
    return time.time()


class Event(BaseModel):
    """One behavioural or interest event, as sent by a shop and stored in the log."""

    model_config = ConfigDict(extra="ignore")

    event_id: str | None = None
    user_id: str
    type: EventType
    product_id: str | None = Field(default=None, validate_default=True)
    ts: float
    price: float | None = None
    quantity: int | None = None
    query: str | None = None
    session_id: str | None = None
    position: int | None = None
    brand: str | None = Field(default=None, validate_default=True)
    category: str | None = Field(default=None, validate_default=True)
    recommendation_id: str | None = None

    @field_validator("event_id", "session_id", "recommendation_id", mode="before")
    @classmethod
    def _optional_id(cls, value: object) -> str | None:
        return check_id(value)

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id(cls, value: object) -> str | None:
        return check_id(value, required_reason=REQUIRED)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> EventType:
        return check_type(value)

    @field_validator("product_id", "brand", "category", mode="before")
    @classmethod
    def _typed_target(cls, value: object, info: ValidationInfo) -> str | None:
        event_type = info.data.get("type")
        needs = {
            "product_id": event_type in PRODUCT_EVENT_TYPES,
            "brand": event_type == EventType.FOLLOW_BRAND,
            "category": event_type == EventType.LIKE_CATEGORY,
        }[str(info.field_name)]
        reason = required_for(str(event_type)) if needs else None
        return check_id(value, required_reason=reason)

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: object, info: ValidationInfo) -> float:
        return check_ts(value, _now(info))

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: object) -> float | None:
        return check_amount(value)

    @field_validator("quantity", "position", mode="before")
    @classmethod
    def _count(cls, value: object) -> int | None:
        return check_count(value)

    @field_validator("query", mode="before")
    @classmethod
    def _query(cls, value: object) -> str | None:
        return check_query(value)

    def model_post_init(self, context: Any, /) -> None:
        if self.event_id is None:
            self.event_id = content_event_id(
                self.user_id,
                self.type.value,
                self.product_id,
                self.ts,
                self.query,
                self.session_id,
                self.position,
                self.brand,
                self.category,
                self.recommendation_id,
                self.price,
                self.quantity,
            )

    @property
    def id(self) -> str:
        """The event id (always set after validation)."""
        assert self.event_id is not None
        return self.event_id

    def to_row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in EVENT_FIELDS} | {"type": self.type.value}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why row ``index`` of a batch was not accepted."""

    index: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.index}: {self.field}: {self.reason}"


def _first_error(exc: ValidationError) -> tuple[str, str]:
    found: list[tuple[int, str, str]] = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "(row)"
        cause = (error.get("ctx") or {}).get("error")
        reason = str(cause) if isinstance(cause, ValueError) else error["msg"]
        if error["type"] == "missing":
            reason = REQUIRED
        order = EVENT_FIELDS.index(field) if field in EVENT_FIELDS else len(EVENT_FIELDS)
        found.append((order, field, reason))
    _, field, reason = min(found)
    return field, reason


def parse_event(row: Mapping[str, Any], now: float | None = None) -> Event:
    """One event, or ``InvalidEvent`` naming the first bad field."""
    from features.errors import InvalidEvent

    try:
        return Event.model_validate(row, context={"now": time.time() if now is None else now})
    except ValidationError as exc:
        field, reason = _first_error(exc)
        raise InvalidEvent(reason, field=field) from None


def parse_events(
    rows: Iterable[object], now: float | None = None
) -> tuple[list[Event], list[Rejection]]:
    """Validate rows one by one; a bad row is reported and never stops the good ones."""
    context = {"now": time.time() if now is None else now}
    events: list[Event] = []
    rejections: list[Rejection] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            rejections.append(Rejection(index, "(row)", "must be an object"))
            continue
        try:
            events.append(Event.model_validate(row, context=context))
        except ValidationError as exc:
            field, reason = _first_error(exc)
            rejections.append(Rejection(index, field, reason))
    return events, rejections
