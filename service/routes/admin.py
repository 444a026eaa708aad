"""Operator actions (scope ``admin``)."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import AdminCaller, StateDep
from service.freshness import sync_model
from service.schemas.health import ModelReloadPublic
from shopmode.errors import StoreUnavailable

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post(
    "/models/reload",
    summary="Load the current model version now",
    description="Re-reads `shopmode:v1:model:current` and loads that version, even one that "
    "failed before. A version that fails to load leaves the previous model serving.",
)
async def reload_model(caller: AdminCaller, state: StateDep) -> ModelReloadPublic:
    if not await state.health.probe():
        raise StoreUnavailable("Redis is unavailable: cannot read the current model version")
    result = await sync_model(state, force=True)
    if result is None:
        raise StoreUnavailable("Redis is unavailable: cannot read the current model version")
    return ModelReloadPublic(
        wanted=result.wanted, serving=result.serving, changed=result.changed, error=result.error
    )
