"""A shopper's recommendations (GET form) and features (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from service.answers.recommending import recommend
from service.api.deps import AdminCaller, RecommendCaller, StateDep, for_shopper
from service.edge.problems import Problem
from service.schemas.recommendations import (
    ExplainMode,
    RecommendationContext,
    RecommendationCreate,
    RecommendationPublic,
)
from shopmode.errors import InvalidInput, StoreUnavailable

router = APIRouter(prefix="/v1/users", tags=["users"])

UserId = Annotated[str, Path(min_length=1, max_length=128, examples=["u-00042"])]


class UserFeaturesPublic(BaseModel):
    user_id: str
    known: bool = Field(description="False for a shopper with no events yet.")
    features: dict[str, Any] = Field(description="The shopper's online feature state.")


class RecommendationQuery(BaseModel):
    """The query-string form of a recommendation request."""

    model_config = {"extra": "forbid"}

    k: int = Field(default=10, ge=1, le=100)
    query: str | None = Field(default=None, min_length=1, max_length=500)
    category: str | None = Field(default=None, min_length=1, max_length=128)
    brand: str | None = Field(default=None, min_length=1, max_length=128)
    min_price: float | None = Field(default=None, ge=0, le=10_000_000, allow_inf_nan=False)
    max_price: float | None = Field(default=None, ge=0, le=10_000_000, allow_inf_nan=False)
    exclude_purchased: bool = Field(
        default=True,
        description="Leave out products the shopper already bought (their whole history).",
    )
    exclude_seen: bool = Field(
        default=False,
        description="Also leave out products the shopper viewed, clicked or carted.",
    )
    explain: ExplainMode = "template"
    diversity: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)


@router.get(
    "/{user_id}/recommendations",
    summary="Recommendations for one shopper (query-string form)",
    responses={
        403: {"model": Problem, "description": "A shopper token for another shopper."},
        422: {"model": Problem, "description": "An invalid parameter."},
    },
)
async def get_recommendations(
    user_id: UserId,
    params: Annotated[RecommendationQuery, Query()],
    caller: RecommendCaller,
    state: StateDep,
) -> RecommendationPublic:
    for_shopper(caller, user_id)
    try:
        request = RecommendationCreate(
            user_id=user_id,
            k=params.k,
            explain=params.explain,
            diversity=params.diversity,
            context=RecommendationContext(
                query=params.query,
                category=params.category,
                brand=params.brand,
                min_price=params.min_price,
                max_price=params.max_price,
                exclude_purchased=params.exclude_purchased,
                exclude_seen=params.exclude_seen,
            ),
        )
    except ValidationError as exc:
        # The same rules as the POST body; report them against the query string.
        raise RequestValidationError(
            [
                {**e, "loc": ("query", *(x for x in e["loc"] if x != "context"))}
                for e in exc.errors()
            ]
        ) from None
    try:
        return await recommend(state, request)
    except InvalidInput as exc:  # a filter the catalog cannot meet: name the query parameter
        if exc.field is None or not exc.field.startswith("context."):
            raise
        raise InvalidInput(exc.message, exc.field.removeprefix("context.")) from None


@router.get(
    "/{user_id}/features",
    summary="A shopper's online features (admin)",
    responses={503: {"model": Problem, "description": "Redis unavailable."}},
)
async def get_features(user_id: UserId, caller: AdminCaller, state: StateDep) -> UserFeaturesPublic:
    store = state.store
    if store is None:
        raise StoreUnavailable("the feature store is not ready")
    user = await store.user_state(user_id)
    return UserFeaturesPublic(user_id=user_id, known=user.known, features=user.to_json())
