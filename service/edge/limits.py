"""Request limits: body size (middleware, 413) and a per-key rate limit (429).

The rate limit is a fixed one-minute window per identity, counted atomically on Redis
by one script call (``features.store.limits``). It fails open: when Redis is
down or slow the request goes through uncounted, because refusing every read while the
store recovers would turn an outage of the counter into an outage of the service (and
writes answer 503 anyway when Redis is down).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.store.limits import count_request
from features.store.runner import AsyncRunner
from service.edge.problems import FieldError, problem_response
from shopmode.errors import StoreUnavailable

log = logging.getLogger("shopmode.service")

_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int
    counted: bool


class RateLimiter:
    """At most ``per_minute`` requests per identity per window; fails open on Redis errors."""

    def __init__(self, store: AsyncRunner, per_minute: int) -> None:
        self.store = store
        self.per_minute = per_minute

    async def hit(self, identity: str) -> RateDecision:
        if self.per_minute <= 0:
            return RateDecision(allowed=True, retry_after=0, counted=False)
        window = int(time.time()) // _WINDOW_SECONDS
        try:
            count, ttl = await self.store.run(count_request(identity, window, _WINDOW_SECONDS))
        except StoreUnavailable as exc:
            log.warning("rate limit not counted (Redis: %s); letting the request through", exc)
            return RateDecision(allowed=True, retry_after=0, counted=False)
        if count > self.per_minute:
            return RateDecision(allowed=False, retry_after=max(1, ttl), counted=True)
        return RateDecision(allowed=True, retry_after=0, counted=True)


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, by header or while reading the stream.

    The body is read (up to the limit) before the app sees it, so a lying or missing
    Content-Length cannot get a larger body through.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(scope, receive, send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(
            scope, receive, send, 413, f"the request body is larger than {self.max_bytes} bytes"
        )

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, why: str) -> None:
        response = problem_response(status, why, errors=[FieldError(field="body", message=why)])
        await response(scope, receive, send)
