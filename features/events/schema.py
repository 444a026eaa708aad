"""The behavioural event (pydantic) and batch parsing that never lets a bad row stop good ones.

The rules themselves live in ``features.events.rules``; this module applies them to one row
at a time (HTTP), ``features.events.frame`` to whole frames (bulk files).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from features.events.rules import (
    BAD_TIMESTAMP,
    BLANK,
    CONTROL,
    CONTROL_CHARACTERS,
    EARLIEST_TS,
    EMPTY,
    EVENT_FIELDS,
    FUTURE_TOLERANCE_SECONDS,
    ID_FIELDS,
    IN_FUTURE,
    MAX_COUNT,
    MAX_ID_LENGTH,
    MAX_QUERY_LENGTH,
    NEGATIVE,
    NOT_A_NUMBER,
    NOT_A_STRING,
    NOT_AN_INTEGER,
    NOT_FINITE,
    PRODUCT_EVENT_TYPES,
    REQUIRED,
    TOO_EARLY,
    TOO_LARGE_COUNT,
    TOO_LONG_ID,
    TOO_LONG_QUERY,
    UNKNOWN_TYPE,
    EventType,
    check_amount,
    check_count,
    check_id,
    check_query,
    check_ts,
    check_type,
    content_event_id,
    is_missing,
    parse_timestamp,
    required_for,
)

__all__ = [
    "BAD_TIMESTAMP", "BLANK", "CONTROL", "CONTROL_CHARACTERS", "EARLIEST_TS", "EMPTY",
    "EVENT_FIELDS", "FUTURE_TOLERANCE_SECONDS", "ID_FIELDS", "IN_FUTURE", "MAX_COUNT",
    "MAX_ID_LENGTH", "MAX_QUERY_LENGTH", "NEGATIVE", "NOT_AN_INTEGER", "NOT_A_NUMBER",
    "NOT_A_STRING", "NOT_FINITE", "PRODUCT_EVENT_TYPES", "REQUIRED", "TOO_EARLY",
    "TOO_LARGE_COUNT", "TOO_LONG_ID", "TOO_LONG_QUERY", "UNKNOWN_TYPE", "Event", "EventType",
    "Rejection", "check_amount", "check_count", "check_id", "check_query", "check_ts",
    "check_type", "content_event_id", "is_missing", "parse_event", "parse_events",
    "parse_timestamp", "required_for",
]  # fmt: skip


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
    from shopmode.errors import InvalidEvent

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
