"""Recommendations for a shopper (POST form)."""

from __future__ import annotations

from fastapi import APIRouter

from service.answers.recommending import recommend
from service.api.deps import RecommendCaller, StateDep, for_shopper
from service.edge.problems import Problem
from service.schemas.recommendations import RecommendationCreate, RecommendationPublic

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])


@router.post(
    "",
    summary="Recommend products to a shopper",
    description="Ranked products with reasons and an explanation each. Filters in `context` "
    "are hard constraints: when fewer than `k` products qualify, fewer come back and "
    "`shortfall`/`note` say so. When the feature store is unreachable the answer comes "
    "from a popularity snapshot within the same filters, with `degraded: true`.",
    responses={
        403: {"model": Problem, "description": "A shopper token for another shopper."},
        422: {"model": Problem, "description": "An invalid field (named in `errors`)."},
        503: {"model": Problem, "description": "No catalog loaded yet."},
    },
)
async def create_recommendation(
    request: RecommendationCreate, caller: RecommendCaller, state: StateDep
) -> RecommendationPublic:
    for_shopper(caller, request.user_id)
    return await recommend(state, request)
