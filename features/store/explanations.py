"""The explanation cache's commands: generated texts kept by the evidence they were written
from (the cache's rules are in ``models.explain.cache``).

One hash per LLM backend and evidence pack (``keys.explanation``), with a TTL::

    field <mode>            -> a grounded text (``llm``, ``best_of``)
    field <mode>:check      -> the version of the grounding check that passed that text
    field <mode>:rejected   -> "1": every text of that mode failed the grounding check

Every key is its own single-key command, so the same flow serves a standalone Redis and a
Redis Cluster (the cluster pipeline splits commands by node).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from features.store import keys
from features.store.calls import Call, Flow, command

_REJECTED_SUFFIX = ":rejected"
_CHECK_SUFFIX = ":check"


def rejected_field(mode: str) -> str:
    """The hash field that marks ``mode`` as rejected by the grounding check."""
    return mode + _REJECTED_SUFFIX


def check_field(mode: str) -> str:
    """The hash field naming the grounding check's version that passed ``mode``'s text."""
    return mode + _CHECK_SUFFIX


def cached_explanations(
    backend_id: str, mode: str, fingerprints: Sequence[str]
) -> Flow[list[tuple[str | None, bool, str | None]]]:
    """Per fingerprint, in order: (the cached text or None, whether the mode was rejected,
    the version of the check that passed the text or None)."""
    replies = yield [
        command(
            "HMGET",
            keys.explanation(backend_id, fingerprint),
            mode,
            rejected_field(mode),
            check_field(mode),
        )
        for fingerprint in fingerprints
    ]
    return [
        (_text(text), rejected is not None, _text(checked)) for text, rejected, checked in replies
    ]


def save_explanations(
    backend_id: str,
    mode: str,
    texts: Mapping[str, str],
    rejected: Collection[str],
    ttl_s: int,
    checked_by: str,
) -> Flow[None]:
    """Store grounded texts with the version of the check that passed them, and
    rejections, by fingerprint; each hash expires after ``ttl_s``."""
    calls: list[Call] = []
    for fingerprint, text in texts.items():
        key = keys.explanation(backend_id, fingerprint)
        calls += [
            command("HSET", key, mode, text, check_field(mode), checked_by),
            command("EXPIRE", key, ttl_s),
        ]
    for fingerprint in rejected:
        key = keys.explanation(backend_id, fingerprint)
        calls += [command("HSET", key, rejected_field(mode), "1"), command("EXPIRE", key, ttl_s)]
    yield calls


def _text(value: bytes | str | None) -> str | None:
    # A generated text: a stray invalid byte is shown replaced, never an error.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
