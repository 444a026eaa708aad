"""Behavioural events in: one event or a batch, each answered on its own."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from features.events.schema import parse_events
from service.answers.served import count_attributed
from service.api.deps import EventWriter, StateDep, refuse_others
from service.edge.problems import FieldError, Problem, problem_response
from service.schemas.events import EVENT_EXAMPLE, EventBatchPublic, EventCreate, EventResultPublic
from shopmode.errors import InvalidInput, StoreUnavailable

router = APIRouter(prefix="/v1/events", tags=["events"])


def document_event_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add ``EventCreate`` to the components (the body is read raw, so FastAPI cannot)."""
    schema = EventCreate.model_json_schema(ref_template="#/components/schemas/{model}")
    openapi.setdefault("components", {}).setdefault("schemas", {})["EventCreate"] = schema
    return openapi


_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/EventCreate"},
                    {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/EventCreate"},
                        "maxItems": 1000,
                    },
                ]
            },
            "examples": {
                "one": {"summary": "One event", "value": EVENT_EXAMPLE},
                "batch": {
                    "summary": "A batch",
                    "value": [EVENT_EXAMPLE, {**EVENT_EXAMPLE, "event_id": "evt-7f3b"}],
                },
            },
        }
    },
}


async def read_json(request: Request) -> object:
    """The body as JSON; NaN/Infinity, >64-bit integers and deep nesting are refused."""
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON ({exc.msg})", "body") from None


@router.post(
    "",
    summary="Send one event or a batch",
    description="Each event is validated on its own: accepted (stored and applied to the "
    "shopper's features before this answer), duplicate (its event_id was already stored) or "
    "rejected (the field and why). A body of one invalid event, or a batch where every event "
    "is invalid, is a 422 problem. Redis unavailable: 503 with Retry-After and nothing "
    "acknowledged; resending is safe (events deduplicate by event_id).",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        403: {"model": Problem, "description": "A shopper token writing for another shopper."},
        413: {"model": Problem, "description": "Too many events in one batch."},
        422: {"model": Problem, "description": "No valid event in the body."},
        503: {"model": Problem, "description": "Redis unavailable; retry after the delay."},
    },
)
async def post_events(request: Request, caller: EventWriter, state: StateDep) -> Response:
    payload = await read_json(request)
    single = isinstance(payload, dict)
    rows = [payload] if single else payload
    if not isinstance(rows, list):
        raise InvalidInput("must be an event object or a list of events", "body")
    limit = state.settings.max_events_per_batch
    if len(rows) > limit:
        raise HTTPException(413, f"a batch holds at most {limit} events, got {len(rows)}")
    if not rows:
        raise InvalidInput("the batch holds no events", "body")
    if caller.shopper is not None:
        # A shopper's token writes that shopper's events only; nothing of a mixed batch.
        refuse_others(
            caller,
            [
                "user_id" if single else f"[{i}].user_id"
                for i, row in enumerate(rows)
                if isinstance(row, dict)
                and isinstance(row.get("user_id"), str)
                and row["user_id"] != caller.shopper
            ],
        )
    events, rejections = parse_events(rows)
    if not events:
        errors = [
            FieldError(field=r.field if single else f"[{r.index}].{r.field}", message=r.reason)
            for r in rejections
        ]
        return problem_response(422, "no valid event", kind="invalid-input", errors=errors)
    store = state.store
    if not state.health.up:
        raise StoreUnavailable("the feature store is unavailable; resend later", retry_after=2)
    if store is None:
        why = state.snapshot_error or "the feature store is not ready"
        raise StoreUnavailable(f"{why}; resend later", retry_after=5)
    try:
        report = await store.apply(events)
    except StoreUnavailable:
        state.metrics.redis_errors.labels("apply_events").inc()
        raise
    attributed = 0
    try:
        attributed = await count_attributed(state.runner, events)
    except StoreUnavailable:  # attribution is bookkeeping; the events are stored
        state.metrics.redis_errors.labels("attribute").inc()
    results = _results(rows, events, rejections, set(report.accepted_ids))
    body = EventBatchPublic(
        accepted=sum(r.status == "accepted" for r in results),
        duplicate=sum(r.status == "duplicate" for r in results),
        rejected=len(rejections),
        attributed=attributed,
        results=results,
    )
    return Response(orjson.dumps(body.model_dump()), media_type="application/json")


def _results(
    rows: list[Any], events: list[Any], rejections: list[Any], accepted_ids: set[str]
) -> list[EventResultPublic]:
    by_index = {r.index: r for r in rejections}
    results: list[EventResultPublic] = []
    parsed = iter(events)
    for index in range(len(rows)):
        rejection = by_index.get(index)
        if rejection is not None:
            results.append(
                EventResultPublic(
                    index=index, status="rejected", field=rejection.field, reason=rejection.reason
                )
            )
            continue
        event = next(parsed)
        # An id accepted once: its first occurrence is the accepted one, repeats duplicate.
        status = "accepted" if event.id in accepted_ids else "duplicate"
        accepted_ids.discard(event.id)
        results.append(EventResultPublic(index=index, status=status, event_id=event.id))
    return results
