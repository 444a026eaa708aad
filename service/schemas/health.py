"""Liveness, readiness and admin answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthPublic(BaseModel):
    status: str = Field(examples=["ok"])


class CheckPublic(BaseModel):
    ok: bool
    detail: str | None = None


class ReadinessPublic(BaseModel):
    """Ready means Redis answers and a trained model serves."""

    ready: bool
    checks: dict[str, CheckPublic] = Field(
        examples=[
            {
                "redis": {"ok": True, "detail": None},
                "model": {"ok": True, "detail": "20261129T101500123Z"},
                "catalog": {"ok": True, "detail": "150 products"},
            }
        ]
    )
    model_version: str | None = None
    model_error: str | None = Field(
        default=None, description="Why the newest model version did not load, if it did not."
    )
    explanations: str = Field(
        description="The LLM backend writing explanations, or why only the template is used.",
        examples=["local-smollm2-135m-instruct-q4_1"],
    )


class ModelReloadPublic(BaseModel):
    wanted: str | None = Field(description="The version named in shopmode:v1:model:current.")
    serving: str | None = Field(description="The version now serving (None: heuristics).")
    changed: bool
    error: str | None = None
