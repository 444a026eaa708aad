"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers has the same shape: ``type``, ``title``, ``status``,
``detail`` and, for input errors, ``errors: [{field, message}]`` naming each field by its
path (``context.max_price``, ``items[3].ts``). Domain errors from ``shopmode.errors`` map
by base class; anything unexpected becomes a generic 500 with no details (and a log line).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shopmode.errors import (
    InvalidInput,
    LLMUnavailable,
    ModelError,
    NotFound,
    ShopmodeError,
    StoreUnavailable,
)

log = logging.getLogger("shopmode.service")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://shopmode.dev/problems/"
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


class FieldError(BaseModel):
    field: str = Field(description="Path of the offending field, e.g. context.max_price.")
    message: str


class FieldProblem(StarletteHTTPException):
    """An HTTP error about named fields (401/403 for a credential, a shopper id...)."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[FieldError],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers=dict(headers) if headers else None)
        self.errors = list(errors)


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    phrase = HTTPStatus(status).phrase
    body = Problem(
        type=_TYPE_BASE + (kind or phrase.lower().replace(" ", "-").replace("'", "")),
        title=phrase,
        status=status,
        detail=detail,
        errors=list(errors),
    )
    return Response(
        orjson.dumps(body.model_dump()),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "context", "max_price")`` → ``context.max_price``; indexes as ``[3]``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _validation_errors(errors: Sequence[Any]) -> list[FieldError]:
    found = []
    for error in errors:
        message = str(error.get("msg", "invalid value"))
        found.append(FieldError(field=field_path(error.get("loc", ())), message=message))
    return found


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            400,
            "the request body is not valid JSON",
            kind="malformed-json",
            errors=[FieldError(field="body", message="JSON decode error")],
        )
    return problem_response(
        422,
        "the request has invalid fields",
        kind="invalid-input",
        errors=_validation_errors(errors),
    )


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if detail == _FASTAPI_BODY_ERROR:
        # JSON that parses in no sane way (integers past 4300 digits, nesting past the
        # recursion limit): say so as for any malformed body.
        return problem_response(
            400,
            "the request body is not valid JSON",
            kind="malformed-json",
            errors=[FieldError(field="body", message="cannot be parsed")],
        )
    errors = exc.errors if isinstance(exc, FieldProblem) else ()
    return problem_response(exc.status_code, detail, errors=errors, headers=exc.headers)


async def _on_domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShopmodeError)
    if isinstance(exc, InvalidInput):
        errors = [FieldError(field=exc.field, message=exc.message)] if exc.field else []
        return problem_response(422, str(exc), kind="invalid-input", errors=errors)
    if isinstance(exc, NotFound):
        return problem_response(404, str(exc), kind="not-found")
    if isinstance(exc, StoreUnavailable):
        return problem_response(
            503,
            str(exc),
            kind="store-unavailable",
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, ModelError):
        return problem_response(503, str(exc), kind="model-unavailable")
    if isinstance(exc, LLMUnavailable):
        return problem_response(503, str(exc), kind="llm-unavailable")
    log.error("unmapped domain error %s: %s", type(exc).__name__, exc)
    return problem_response(500, "internal error", kind="internal-error")


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Document every error answer as it is sent: ``application/problem+json``, ``Problem``.

    FastAPI files a route's declared ``Problem`` responses under ``application/json`` and
    adds its own 422 (``HTTPValidationError``), which ``_on_validation`` never sends.
    """
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                sent = response.get("content", {}).get("application/json", {})
                ref = str(sent.get("schema", {}).get("$ref", ""))
                if ref.endswith("/HTTPValidationError"):
                    response["description"] = "An invalid parameter (named in `errors`)."
                if ref.endswith(("/Problem", "/HTTPValidationError")):
                    response["content"] = {PROBLEM_MEDIA_TYPE: problem}
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if f'/{name}"' not in orjson.dumps(schema).decode():
            components.pop(name, None)
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    """Map validation, HTTP and domain errors to problem details."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ShopmodeError, _on_domain)
