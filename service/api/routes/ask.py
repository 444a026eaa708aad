"""Ask in words: ``POST /v1/ask`` turns a shopper's sentence into a recommendation request.

The message is parsed by ``models.intent``: what it understood (price, category,
department, brand, colour, material) becomes hard filters, the rest ranks by text
relevance, and a gift's recipient or occasion only colours the explanation. The answer is
the recommendation response plus ``intent``, so a page can show what was understood.
The message is data, never instructions: control characters are dropped, and what an
explanation may repeat of it is the ``understood`` summary built from catalog names.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.intent import MAX_QUERY_CHARS, Intent, IntentVocabulary, normalise, parse_intent
from service.answers.recommending import recommend
from service.api.deps import RecommendCaller, StateDep, for_shopper
from service.edge.problems import Problem
from service.schemas.recommendations import (
    ExplainMode,
    RecommendationContext,
    RecommendationCreate,
    RecommendationPublic,
)

router = APIRouter(prefix="/v1/ask", tags=["recommendations"])


class AskCreate(BaseModel):
    """A shopper's request in their own words."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "u000042",
                    "message": "navy sneakers under $80 for my sister",
                    "k": 8,
                    "explain": "template",
                }
            ]
        },
    )

    user_id: str = Field(min_length=1, max_length=128, examples=["u000042"])
    message: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description="What the shopper is looking for, in words.",
        examples=["waterproof hiking boots under $150"],
    )
    # strict: a JSON body gets no coercion (false is not 0, 1 is not true), as documented.
    k: int = Field(default=10, ge=1, le=100, strict=True)
    explain: ExplainMode = "template"
    diversity: float = Field(
        default=0.0,
        ge=0,
        le=1,
        strict=True,
        description="0 keeps the ranking; 1 spreads brands/categories.",
    )
    exclude_purchased: bool = Field(
        default=True,
        strict=True,
        description="Leave out products the shopper already bought (their whole history).",
    )
    exclude_seen: bool = Field(
        default=False,
        strict=True,
        description="Also leave out products the shopper viewed, clicked or carted.",
    )

    @field_validator("user_id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if value.strip() == "" or any(not ch.isprintable() for ch in value):
            raise ValueError("must be printable and not only whitespace")
        return value


class AskPublic(RecommendationPublic):
    intent: Intent = Field(description="What the message was understood to ask for.")


def cleaned(message: str) -> str:
    """The message as the recommendation context carries it: one line, printable."""
    return " ".join(normalise(message).split())


@router.post(
    "",
    summary="Recommend from a request in words",
    description="Parses `message` into filters (price, category, brand, colour, material) "
    "and free text, then answers like `/v1/recommendations` with the parsed `intent` added.",
    responses={
        403: {"model": Problem, "description": "A shopper token for another shopper."},
        422: {"model": Problem, "description": "An invalid field (named in `errors`)."},
        503: {"model": Problem, "description": "No catalog loaded yet."},
    },
)
async def ask(body: AskCreate, caller: RecommendCaller, state: StateDep) -> AskPublic:
    for_shopper(caller, body.user_id)
    text = cleaned(body.message)
    snapshot = state.snapshot
    vocabulary = (
        IntentVocabulary.from_catalog(snapshot.catalog)
        if snapshot is not None
        else IntentVocabulary({})
    )
    intent = parse_intent(text, vocabulary, field="message")
    request = RecommendationCreate(
        user_id=body.user_id,
        k=body.k,
        explain=body.explain,
        diversity=body.diversity,
        context=RecommendationContext(
            query=text or None,
            exclude_purchased=body.exclude_purchased,
            exclude_seen=body.exclude_seen,
        ),
    )
    answer = await recommend(state, request)
    return AskPublic(**answer.model_dump(), intent=intent)
