"""The explanation job queue's commands (one queue per LLM backend; the queue's rules are
in ``models.explain.queue``). Every key shares the hash tag ``{xq:<backend>}``, one cluster
slot, so each step is one atomic script (``lua/explain_*.lua``); the explanation pages
a stream reads are kept here too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from features.store import keys
from features.store.calls import Flow, command, optional_text, script, text

PARTS = ("pending", "jobs", "meta", "outcomes", "settled", "done", "leased")


def queue_keys(backend_id: str) -> list[str]:
    return [keys.explain_queue(backend_id, part) for part in PARTS]


def enqueue_jobs(
    backend_id: str,
    jobs: Sequence[tuple[str, float, bytes]],
    max_jobs: int,
    done_maxlen: int,
    now: float,
) -> Flow[list[str]]:
    """``queued`` or ``full`` per (job id, priority, payload)."""
    args: list[Any] = [max_jobs, done_maxlen, now]
    for job, priority, payload in jobs:
        args += [job, priority, payload]
    (statuses,) = yield [script("explain_enqueue", queue_keys(backend_id)[:6], args)]
    return [text(s) for s in statuses]


def claim_job(
    backend_id: str,
    now: float,
    lease_s: float,
    max_attempts: int,
    retention_s: float,
    done_maxlen: int,
) -> Flow[tuple[str, bytes, int] | None]:
    """The most urgent job, leased: (id, payload, attempts), or None."""
    args = [now, lease_s, max_attempts, retention_s, done_maxlen]
    (found,) = yield [script("explain_claim", queue_keys(backend_id), args)]
    if not found:
        return None
    job, payload, attempts = found
    return text(job), bytes(payload), int(attempts)


def settle_job(
    backend_id: str, job: str, outcome: str, now: float, max_attempts: int, done_maxlen: int
) -> Flow[str]:
    """``settled``, ``retry`` or ``gone``."""
    args = [job, outcome, now, max_attempts, done_maxlen]
    (result,) = yield [script("explain_settle", queue_keys(backend_id), args)]
    return text(result)


def job_places(backend_id: str, jobs: Sequence[str]) -> Flow[list[tuple[bool, bool, str | None]]]:
    """Per job: waiting?, leased?, its outcome if settled."""
    pending, _, _, outcomes, _, _, leased = queue_keys(backend_id)
    waiting, working, settled = yield [
        command("ZMSCORE", pending, *jobs),
        command("ZMSCORE", leased, *jobs),
        command("HMGET", outcomes, *jobs),
    ]
    return [
        (queued is not None, busy is not None, optional_text(outcome))
        for queued, busy, outcome in zip(waiting, working, settled, strict=True)
    ]


def queue_depth(backend_id: str) -> Flow[tuple[int, int]]:
    pending, *_, leased = queue_keys(backend_id)
    waiting, busy = yield [command("ZCARD", pending), command("ZCARD", leased)]
    return int(waiting), int(busy)


def last_settled(backend_id: str) -> Flow[str]:
    """The newest ``done`` entry's id (``0-0`` when none): where a follower starts."""
    (newest,) = yield [
        command("XREVRANGE", keys.explain_queue(backend_id, "done"), "+", "-", "COUNT", 1)
    ]
    return text(newest[0][0]) if newest else "0-0"


def settled_since(
    backend_id: str, last_id: str, block_ms: int, count: int = 256
) -> Flow[tuple[str, list[tuple[str, str]]]]:
    """Jobs announced on ``done`` after ``last_id``, waiting up to ``block_ms`` (run it on
    a client whose timeout is longer than that)."""
    done = keys.explain_queue(backend_id, "done")
    (found,) = yield [command("XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", done, last_id)]
    pairs: list[tuple[str, str]] = []
    for _, entries in _streams(found):
        for entry_id, fields in entries:
            last_id = text(entry_id)
            values = {text(k): text(v) for k, v in _fields(fields).items()}
            pairs.append((values.get("job", ""), values.get("outcome", "")))
    return last_id, pairs


def _streams(found: Any) -> list[tuple[Any, Any]]:
    if not found:
        return []
    if isinstance(found, dict):  # RESP3
        return list(found.items())
    return [(stream[0], stream[1]) for stream in found]


def _fields(fields: Any) -> dict[Any, Any]:
    if isinstance(fields, dict):
        return fields
    return dict(zip(fields[::2], fields[1::2], strict=True))


def save_explanation_page(recommendation_id: str, record: bytes, ttl_s: int) -> Flow[None]:
    yield [command("SET", keys.explanation_page(recommendation_id), record, "EX", ttl_s)]


def load_explanation_page(recommendation_id: str) -> Flow[bytes | None]:
    (raw,) = yield [command("GET", keys.explanation_page(recommendation_id))]
    return None if raw is None else bytes(raw)
