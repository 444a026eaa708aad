"""A page's LLM texts as they are written: ``GET /v1/recommendations/{id}/explanations``.

With ``Accept: text/event-stream`` the answer is a stream of server-sent events: one
``explanation`` event per item as its text settles (an LLM text, or the fallback that
stays), then ``done``. Otherwise it is JSON to poll: where each pending item stands now,
with ``?wait=N`` to hold the answer up to N seconds for the next text. Only items that
were pending when the page was answered are listed; the page is kept
``explanation_page_ttl_s`` after it was served. A shopper token may follow only its own
shopper's pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from models.evidence import Explanation
from models.explain.queue import job_id
from service.api.deps import RecommendCaller, StateDep, for_shopper
from service.edge.problems import Problem
from service.runtime.explanation_pages import (
    ItemUpdate,
    Page,
    PageItem,
    load_page,
    where_items_stand,
)
from service.runtime.state import ServiceState
from service.schemas.recommendations import ExplanationPublic
from shopmode.errors import NotFound, StoreUnavailable

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])

RecommendationId = Annotated[
    str, Path(pattern=r"^rec-[0-9a-f]{16}$", examples=["rec-5b1c0e9a2f4d7731"])
]
# However quiet the feed, a stream re-reads the cache and queue this often.
RECHECK_S = 5.0
_EVENT_EXAMPLE = (
    'event: explanation\nid: 0\ndata: {"index": 0, "product_id": "p01971", "pending": false, '
    '"explanation": {"text": "Since you follow Northnest, these headphones are an easy '
    'pick.", "source": "llm", "grounded": true, "pending": false}}\n\n'
    'event: done\ndata: {"recommendation_id": "rec-5b1c0e9a2f4d7731", "written": 1, '
    '"settled": 1}\n\n'
)


class ExplanationUpdatePublic(BaseModel):
    index: int = Field(description="The item's position in the answer's `items`.")
    product_id: str
    pending: bool = Field(description="True while the LLM text is still being written.")
    explanation: ExplanationPublic


class ExplanationsPublic(BaseModel):
    """Where each pending item of a served page stands."""

    recommendation_id: str
    user_id: str
    pending: int = Field(description="How many of these items are still being written.")
    items: list[ExplanationUpdatePublic]


def _public(update: ItemUpdate) -> ExplanationUpdatePublic:
    e = update.explanation
    return ExplanationUpdatePublic(
        index=update.index,
        product_id=update.product_id,
        pending=update.pending,
        explanation=ExplanationPublic(
            text=e.text, source=e.source, grounded=e.grounded, pending=update.pending
        ),
    )


async def _stand(state: ServiceState, page: Page, items: Sequence[PageItem]) -> list[ItemUpdate]:
    explaining = state.explaining
    try:
        return await where_items_stand(explaining.explainer, explaining.queue, page, items)
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        raise StoreUnavailable("the feature store is unavailable", retry_after=2) from None


@router.get(
    "/{recommendation_id}/explanations",
    summary="LLM texts of a served page as they are written (SSE or JSON)",
    response_model=ExplanationsPublic,
    description="`Accept: text/event-stream`: server-sent events, one `explanation` per "
    "pending item as it settles, then `done`. Otherwise JSON: where each pending item "
    "stands; `wait` holds the answer up to that many seconds for the next text.",
    responses={
        200: {
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "example": _EVENT_EXAMPLE}
            },
            "description": "JSON (below) or an event stream.",
        },
        403: {"model": Problem, "description": "A shopper token for another shopper's page."},
        404: {"model": Problem, "description": "No such page, or it has expired."},
        422: {"model": Problem, "description": "A malformed id or wait."},
        503: {"model": Problem, "description": "Redis unavailable."},
    },
)
async def page_explanations(
    recommendation_id: RecommendationId,
    request: Request,
    caller: RecommendCaller,
    state: StateDep,
    wait: Annotated[float, Query(ge=0, le=30, allow_inf_nan=False)] = 0.0,
) -> Any:
    try:
        page = await load_page(state.runner, recommendation_id)
    except StoreUnavailable as exc:
        state.health.mark_down(exc)
        raise StoreUnavailable("the feature store is unavailable", retry_after=2) from None
    if page is None:
        raise NotFound(f"no pending explanations for {recommendation_id} (unknown or expired)")
    for_shopper(caller, page.user_id, "recommendation_id")
    if "text/event-stream" in request.headers.get("accept", ""):
        return EventSourceResponse(
            _stream(state, page),
            ping=15,
            sep="\n",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    updates = await _stand(state, page, page.items)
    waiting = [u for u in updates if u.pending]
    if waiting and wait > 0:
        await state.explaining.feed.wait({_job(page, u.index) for u in waiting}, wait)
        updates = await _stand(state, page, page.items)
    body = ExplanationsPublic(
        recommendation_id=page.recommendation_id,
        user_id=page.user_id,
        pending=sum(u.pending for u in updates),
        items=[_public(u) for u in updates],
    )
    return Response(orjson.dumps(body.model_dump()), media_type="application/json")


def _job(page: Page, index: int) -> str:
    item = next(i for i in page.items if i.index == index)
    return job_id(page.mode, item.evidence.fingerprint())


def _event(update: ItemUpdate) -> ServerSentEvent:
    data = orjson.dumps(_public(update).model_dump()).decode()
    return ServerSentEvent(data=data, event="explanation", id=str(update.index))


async def _stream(state: ServiceState, page: Page) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.settings.explanation_stream_s
    remaining = {item.index: item for item in page.items}
    written = settled = 0
    first = True
    while remaining:
        if not first:
            left = deadline - loop.time()
            if left <= 0:
                break
            ids = {job_id(page.mode, i.evidence.fingerprint()) for i in remaining.values()}
            await state.explaining.feed.wait(ids, min(left, RECHECK_S))
        first = False
        try:
            updates = await _stand(state, page, list(remaining.values()))
        except StoreUnavailable:
            continue  # Redis away: try again after the next wait
        for update in updates:
            if not update.pending:
                del remaining[update.index]
                settled += 1
                written += update.explanation.source in ("llm", "best_of")
                yield _event(update)
    for item in remaining.values():  # not written in time: the template stays on this page
        text = state.explainer.writer.write(item.evidence)
        late = Explanation(text=text, source="fallback_timeout", grounded=True)
        settled += 1
        yield _event(ItemUpdate(item.index, item.product_id, False, late))
    summary = {"recommendation_id": page.recommendation_id, "written": written, "settled": settled}
    yield ServerSentEvent(data=orjson.dumps(summary).decode(), event="done")
