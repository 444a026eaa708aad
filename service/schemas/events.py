"""Sending behavioural events, and the per-event answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from features.events.rules import EventType

EVENT_EXAMPLE: dict[str, Any] = {
    "event_id": "evt-7f3a",
    "user_id": "u-00042",
    "type": "purchase",
    "product_id": "p-000042",
    "ts": "2026-11-29T09:30:00Z",
    "price": 89.9,
    "quantity": 1,
    "recommendation_id": "rec-5b1c0e9a",
}


class EventCreate(BaseModel):
    """One event (documentation of the accepted shape; each row is checked on its own)."""

    event_id: str | None = Field(
        default=None,
        max_length=128,
        description="Your id for the event; resending it is a no-op (duplicate). "
        "Omitted: derived from the content.",
    )
    user_id: str = Field(max_length=128)
    type: str = Field(
        json_schema_extra={"enum": [kind.value for kind in EventType]},
        description="What happened.",
    )
    product_id: str | None = Field(
        default=None, max_length=128, description="Required for product events."
    )
    ts: float | str = Field(
        description="Epoch seconds or RFC 3339; not before 1970, at most 5 minutes ahead."
    )
    price: float | None = Field(default=None, ge=0)
    quantity: int | None = Field(default=None, ge=0)
    query: str | None = Field(default=None, max_length=512, description="For search events.")
    session_id: str | None = Field(default=None, max_length=128)
    position: int | None = Field(default=None, ge=0)
    brand: str | None = Field(default=None, max_length=128, description="For follow_brand.")
    category: str | None = Field(default=None, max_length=128, description="For like_category.")
    recommendation_id: str | None = Field(
        default=None,
        max_length=128,
        description="The recommendation this event follows from (for attribution).",
    )


EventStatus = Literal["accepted", "duplicate", "rejected"]


class EventResultPublic(BaseModel):
    index: int = Field(description="Position of the event in the batch (0 for one event).")
    status: EventStatus
    event_id: str | None = None
    field: str | None = Field(default=None, description="The offending field, if rejected.")
    reason: str | None = None


class EventBatchPublic(BaseModel):
    """Every event is accounted for: accepted (stored), duplicate (already stored) or rejected."""

    accepted: int
    duplicate: int
    rejected: int
    attributed: int = Field(
        default=0, description="Accepted events that follow from a served recommendation."
    )
    results: list[EventResultPublic]
