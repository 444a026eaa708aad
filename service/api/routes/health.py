"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.responses import Response

from service.api.deps import StateDep
from service.schemas.health import CheckPublic, HealthPublic, ReadinessPublic

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    summary="Redis answers and a trained model serves",
    responses={503: {"model": ReadinessPublic, "description": "Not ready (see checks)."}},
)
async def readyz(state: StateDep) -> Response:
    redis_ok = await state.health.probe()
    model = state.models
    snapshot = state.snapshot
    # The version answers are ranked by: a freshly loaded model serves only once the
    # recommender around it is rebuilt, and readiness must not claim it any sooner.
    serving = state.recommender.model if state.recommender is not None else model.loaded
    checks = {
        "redis": CheckPublic(ok=redis_ok, detail=state.health.last_error),
        "model": CheckPublic(
            ok=serving is not None,
            detail=serving.version if serving else "no trained model: ranking is heuristic",
        ),
        "catalog": CheckPublic(
            ok=snapshot is not None,
            detail=f"{len(snapshot.catalog)} products" if snapshot else state.snapshot_error,
        ),
    }
    body = ReadinessPublic(
        ready=all(check.ok for check in checks.values()),
        checks=checks,
        model_version=serving.version if serving else None,
        model_error=model.last_error,
        explanations=state.llm_problem or state.explaining.backend_id,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(state: StateDep) -> Response:
    payload, media_type = state.metrics.exposition()
    return Response(payload, media_type=media_type)
