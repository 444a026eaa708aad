"""The Redis key layout (documented in docs/redis-keys.md). Every key is built here.

Ids are percent-escaped, so ``{``, ``}``, ``:``, ``*`` and ``%`` inside an id can neither
change a key's hash slot nor be mistaken for a separator. A user's keys share the hash tag
``{u:<id>}`` and so one Redis Cluster slot; each product and each category has its own.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote

PREFIX = "shopmode:v1"
# The keys events are folded into (a shopper's state, seen and history) carry their own
# layout version: v3 keeps a shopper in one hash, the recent items, the dedup log and the
# whole history included, with a key of their own only past their inline size
# (docs/redis-keys.md). An older store is upgraded by re-ingesting the event log; its
# shopper keys expire on their TTL.
SHOPPER_PREFIX = "shopmode:v3"
_SAFE = " -._~@+=,!()&'/"
# What quote() never changes (its always-safe ASCII set plus _SAFE): most ids.
_PLAIN = re.compile(r"[A-Za-z0-9_.~ @+=,!()&'/-]*")


def escape(value: str) -> str:
    """A readable, injective escape: ``Trail Running`` stays, ``a:b{c}`` → ``a%3Ab%7Bc%7D``."""
    if _PLAIN.fullmatch(value):  # a plain id is its own escape; quote() costs ~4 µs
        return value
    return quote(value, safe=_SAFE)


def unescape(value: str) -> str:
    return unquote(value)


def user_tag(user_id: str) -> str:
    return f"{{u:{escape(user_id)}}}"


def user_state(user_id: str) -> str:
    """Hash: decayed sums, window buckets, interests, purchases, last event time, recent
    items, and (while they fit) the dedup log and the whole history as packed chunks
    (``features.store.state_fields``)."""
    return f"{SHOPPER_PREFIX}:{user_tag(user_id)}:state"


def user_seen(user_id: str) -> str:
    """String: a heavy shopper's dedup log (over ``SEEN_CHUNKS`` inline chunks of the
    state hash), (event time, digest of the event id) records with time as varint
    deltas, pruned to the dedup horizon (features/store/lua/user_apply.lua)."""
    return f"{SHOPPER_PREFIX}:{user_tag(user_id)}:seen"


def user_history(user_id: str) -> str:
    """Set: a heavy shopper's whole history (over ``HISTORY_CHUNKS`` inline chunks of the
    state hash): the products they bought, viewed, clicked or carted, as small integers
    (``features.store.owned``)."""
    return f"{SHOPPER_PREFIX}:{user_tag(user_id)}:history"


def every_user_state() -> str:
    """The SCAN pattern of every shopper's ``user_state`` hash."""
    return f"{SHOPPER_PREFIX}:{{u:*}}:state"


def user_of_state(key: str) -> str:
    """The shopper whose ``user_state`` key this is."""
    head, tail = user_state("@").split("@")
    return unescape(key[len(head) : -len(tail)])


def user_keys(user_id: str) -> list[str]:
    """Every key a shopper can have; ``seen`` and ``history`` exist for heavy ones only."""
    return [user_state(user_id), user_seen(user_id), user_history(user_id)]


def user_profile(user_id: str) -> str:
    """Hash: what the users file says of a shopper (``region``; features.store.regions).
    No TTL: reference data, replaced by the next users ingest."""
    return f"{PREFIX}:{user_tag(user_id)}:profile"


def region_trending(region: str) -> str:
    """Sorted set: product → decayed interactions in that region (TTL 14d;
    features.store.regions)."""
    return f"{PREFIX}:{{r:{escape(region)}}}:trending"


def product_stats(product_id: str) -> str:
    """String: packed little-endian float64 log-sums (see features.definitions)."""
    return f"{PREFIX}:{{p:{escape(product_id)}}}:stats"


def product_cooc(product_id: str) -> str:
    """Sorted set: neighbour product -> co-occurrence score (TTL 14d;
    features.store.neighbours)."""
    return f"{PREFIX}:{{p:{escape(product_id)}}}:cooc"


def product_knn(product_id: str) -> str:
    """Sorted set: neighbour product -> item-kNN similarity (TTL 14d;
    features.store.neighbours)."""
    return f"{PREFIX}:{{p:{escape(product_id)}}}:knn"


def popular_window() -> str:
    """Sorted set: product -> weighted engagement over the fitted window (TTL 14d;
    features.store.neighbours)."""
    return f"{PREFIX}:{{popular}}:window"


def category_popular(category: str) -> str:
    """Sorted set: product → log2 decayed popularity (a ranking valid at every time)."""
    return f"{PREFIX}:{{c:{escape(category)}}}:popular"


def all_popular() -> str:
    return f"{PREFIX}:{{popular}}:all"


def catalog() -> str:
    """String: the catalog snapshot as Parquet bytes."""
    return f"{PREFIX}:{{catalog}}:parquet"


def event_stream() -> str:
    """Stream: the live event log, capped (bulk ingests go to Parquet part files)."""
    return f"{PREFIX}:{{events}}:live"


EVENT_DIGEST_BYTES = 7  # lua/user_apply.lua receives it in its layout argument


def event_hash(event_id: str) -> bytes:
    """A 56-bit digest of an event id: what the dedup log stores (ids may be 128 chars).
    A new event is taken for a duplicate when its digest equals one of the shopper's
    remembered ones: with n remembered, a chance of n / 2^56 (1 in 10^14 at n = 500)."""
    return hashlib.blake2b(event_id.encode(), digest_size=EVENT_DIGEST_BYTES).digest()


def served_recommendation(recommendation_id: str) -> str:
    """String (JSON): a served recommendation (user, products, model, time), for attributing
    later events; TTL ``recommendation_ttl_seconds`` (features.store.served)."""
    return f"{PREFIX}:{{r:{escape(recommendation_id)}}}:served"


def explanation(backend_id: str, mode: str, fingerprint: str) -> str:
    """String: what one LLM backend's ``mode`` (``llm``, ``best_of``) settled for one
    evidence pack (sha256 ``fingerprint``): a grounded text with the version of the check
    that passed it, or the tries the check rejected (``models.explain.cache`` reads it);
    TTL ``explanation_cache_ttl_s`` (features.store.explanations)."""
    return f"{PREFIX}:explain:{escape(backend_id)}:{escape(mode)}:{fingerprint}"


def explain_queue(backend_id: str, part: str) -> str:
    """One part of an LLM backend's explanation job queue (models.explain.queue). Every
    part shares the hash tag ``{xq:<backend>}``, one cluster slot, so each queue step is
    one atomic script: ``pending`` (zset job -> priority), ``leased`` (zset job -> lease
    expiry), ``jobs`` (hash job -> evidence JSON), ``meta`` (hash job -> attempts|priority),
    ``outcomes`` (hash job -> ready/rejected/error/dropped) with ``settled`` (zset job ->
    time, pruned after the retention), ``done`` (stream of settled jobs, capped). No TTL:
    bounded by the queue's cap, the retention and the stream's length."""
    return f"{PREFIX}:{{xq:{escape(backend_id)}}}:{part}"


def explanation_page(recommendation_id: str) -> str:
    """String (JSON): the explanations a served page still waits for (evidence and job per
    item), read by its explanation stream; TTL ``explanation_page_ttl_s`` (owned by
    service.runtime.explanation_pages)."""
    return f"{PREFIX}:{{r:{escape(recommendation_id)}}}:explain"


def model_current() -> str:
    """String: the model version every service serves; no TTL (features.store.model_version)."""
    return f"{PREFIX}:model:current"


def rate_limit(identity: str, window: int) -> str:
    """String: requests of one API key (or client address) in one minute window; TTL the
    window (features.store.limits). The hash tag keeps an identity's windows together."""
    return f"{PREFIX}:ratelimit:{{{escape(identity)}}}:{window}"


def ingested_world() -> str:
    """String: the directory of the generated world whose events were ingested, for the
    evaluation's oracle; no TTL (features.store.sources)."""
    return f"{PREFIX}:{{world}}:ingested"
