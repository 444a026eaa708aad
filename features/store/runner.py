"""Running flows (``features.store.calls``) on Redis: the only code that differs by ``await``.

``SyncRunner`` serves the CLI and bulk ingest, ``AsyncRunner`` the service. Each sends a
flow's batches as non-transactional pipelines (standalone or Cluster alike), loads the
Lua scripts when first needed and again after NOSCRIPT, walks the keyspace for a scan
(``calls.scan``: every primary of a Cluster), and turns every Redis failure,
refused command or network error into ``StoreUnavailable``: nothing above the store layer
needs to know what a Redis error looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any, TypeAlias, cast

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.exceptions import NoScriptError, RedisError, ResponseError

from features.store.calls import SCAN, Call, Flow, T
from features.store.scripts import SCRIPTS, SHAS
from shopmode.errors import StoreUnavailable

SyncClient: TypeAlias = redis.Redis | redis.cluster.RedisCluster
AsyncClient: TypeAlias = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster


def is_cluster(client: object) -> bool:
    return isinstance(client, redis.cluster.RedisCluster | redis.asyncio.cluster.RedisCluster)


def _arguments(call: Call) -> tuple[Any, ...]:
    if call.script is not None:
        return ("EVALSHA", SHAS[call.script], call.keys, *call.args)
    return (call.command, *call.args)


def _queue(pipe: Any, call: Call) -> None:
    pipe.execute_command(*_arguments(call))


def _one(client: Any, call: Call) -> Any:
    """Send one call without a pipeline (awaitable on an async client)."""
    return client.execute_command(*_arguments(call))


SCAN_COUNT = 500  # keys Redis looks at per SCAN round trip


def _scan_of(calls: list[Call]) -> tuple[str, int] | None:
    """A scan's (pattern, limit) when the batch is one; a scan batched with others is a
    mistake in the flow."""
    if all(call.command != SCAN for call in calls):
        return None
    if len(calls) != 1:
        raise ValueError("a SCAN is sent alone, not in a batch")
    match, limit = calls[0].args
    return str(match), int(limit)


def _missing_script(reply: object) -> bool:
    return isinstance(reply, NoScriptError) or (
        isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT")
    )


def _checked(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise StoreUnavailable(f"Redis refused a command: {reply}")
    return replies


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"Redis unavailable: {type(exc).__name__}: {exc}")


def _step(flow: Flow[Any], replies: list[Any] | None) -> tuple[bool, Any]:
    """Resume ``flow``: (False, its next calls) or (True, its result). StopIteration must
    not cross a thread boundary into an asyncio future, hence the pair."""
    try:
        return False, (next(flow) if replies is None else flow.send(replies))
    except StopIteration as stop:
        return True, stop.value


class SyncRunner:
    """Runs flows on a sync client (the CLI, bulk ingest, tests)."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client
        self.cluster = is_cluster(client)
        self._scripts_loaded = False

    def run(self, flow: Flow[T]) -> T:
        done, value = _step(flow, None)
        while not done:
            done, value = _step(flow, self._send(value))
        result: T = value
        return result

    def _load_scripts(self) -> None:
        for source in SCRIPTS.values():
            self.client.script_load(source)
        self._scripts_loaded = True

    def _scan(self, match: str, limit: int) -> list[Any]:
        found: list[Any] = []
        for key in self.client.scan_iter(match=match, count=SCAN_COUNT):
            found.append(key)
            if len(found) >= limit:
                break
        return found

    def _send(self, calls: list[Call]) -> list[Any]:
        if not calls:
            return []
        try:
            if (scan := _scan_of(calls)) is not None:
                return [self._scan(*scan)]
            if not self._scripts_loaded and any(call.script for call in calls):
                self._load_scripts()
            if len(calls) == 1:  # no pipeline for one command: less to build per request
                try:
                    return [_one(self.client, calls[0])]
                except NoScriptError:
                    self._load_scripts()
                    return [_one(self.client, calls[0])]
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                _queue(pipe, call)
            replies = list(pipe.execute(raise_on_error=False))
            missing = [i for i, reply in enumerate(replies) if _missing_script(reply)]
            if missing:
                self._load_scripts()
                retry = self.client.pipeline(transaction=False)
                for i in missing:
                    _queue(retry, calls[i])
                for i, reply in zip(missing, retry.execute(raise_on_error=False), strict=True):
                    replies[i] = reply
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return _checked(replies)


class AsyncRunner:
    """Runs flows on the service's async client."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.cluster = is_cluster(client)
        self._scripts_loaded = False

    async def run(self, flow: Flow[T], *, offload: bool = False) -> T:
        """``offload``: decode replies in a worker thread (a whole catalog, say), so the
        event loop keeps serving while the flow works through them."""
        done, value = _step(flow, None)
        while not done:
            replies = await self._send(value)
            if offload:
                done, value = await asyncio.to_thread(_step, flow, replies)
            else:
                done, value = _step(flow, replies)
        result: T = value
        return result

    async def _load_scripts(self) -> None:
        for source in SCRIPTS.values():
            await self.client.script_load(source)
        self._scripts_loaded = True

    async def _scan(self, match: str, limit: int) -> list[Any]:
        found: list[Any] = []
        # Closed here, not by the garbage collector, when the limit ends the walk early.
        walk = cast(AsyncGenerator[Any, None], self.client.scan_iter(match=match, count=SCAN_COUNT))
        async with contextlib.aclosing(walk) as keys:
            async for key in keys:
                found.append(key)
                if len(found) >= limit:
                    break
        return found

    async def _send(self, calls: list[Call]) -> list[Any]:
        if not calls:
            return []
        try:
            if (scan := _scan_of(calls)) is not None:
                return [await self._scan(*scan)]
            if not self._scripts_loaded and any(call.script for call in calls):
                await self._load_scripts()
            if len(calls) == 1:  # no pipeline for one command: less to build per request
                try:
                    return [await _one(self.client, calls[0])]
                except NoScriptError:
                    await self._load_scripts()
                    return [await _one(self.client, calls[0])]
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                _queue(pipe, call)
            replies = list(await pipe.execute(raise_on_error=False))
            missing = [i for i, reply in enumerate(replies) if _missing_script(reply)]
            if missing:
                await self._load_scripts()
                retry = self.client.pipeline(transaction=False)
                for i in missing:
                    _queue(retry, calls[i])
                again = await retry.execute(raise_on_error=False)
                for i, reply in zip(missing, again, strict=True):
                    replies[i] = reply
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return _checked(replies)
