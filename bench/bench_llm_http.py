"""Explanations through HTTP: a cold page answers at once, its LLM texts stream in, and the
same page viewed again shows them.

    python -m bench.bench_llm_http [--quick] [--shoppers N] [--home DIR --redis-url URL]

A world is generated, ingested and trained (the default world; ``--quick``: the small one),
or an existing one is reused (``--home`` + ``--redis-url``). One uvicorn worker serves it
with default settings: the embedded SmolLM2 model working the explanation queue in the API
process, ``SHOPMODE_LLM_BUDGET_MS`` 0. For each shopper, one at a time:

1. ``explain=llm``, k=10: the answer's latency, then its explanation stream (SSE) until
   ``done``: when the first LLM text arrived and when all ten had settled;
2. the same page again, five times: latency, and how many items show LLM-written text
   (``llm``, ``best_of`` or ``cache``).

Then a few shoppers in ``best_of`` mode. Reported: the three targets of issue #11 (first
text within 2 s and all within 15 s; >= 9 of 10 LLM texts on the repeat view with the
answer p99 <= 15 ms; >= 80% of shown LLM texts citing a personal fact when the evidence
holds one; grounded acceptance in llm and best_of mode) and 20 sample texts beside their
facts. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.bench_intake import BENCH_KEY, service_env
from bench.explanation_pages import (
    SHOWN_LLM,
    WRITTEN,
    ask_page,
    evidence_of,
    follow_stream,
    poll_to_the_end,
    wait_ready,
)
from bench.servers import uvicorn_server
from features.catalog import Catalog
from models.explain import GroundingCheck, Vocabulary
from models.explain.personal import holds_personal


def _ms(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 2) if values else float("nan")


def cold_and_again(
    http: httpx.Client, users: list[str], mode: str, check: GroundingCheck, repeats: int
) -> dict[str, Any]:
    firsts: list[float] = []
    alls: list[float] = []
    cold_ms: list[float] = []
    again_ms: list[float] = []
    settled: Counter[str] = Counter()
    shown_again: list[int] = []
    unwritable: list[int] = []  # per page: items whose every try the check rejected
    again_pending: list[int] = []  # per repeat view: items queued again
    missing: list[int] = []  # per page: neither LLM text nor un-writable on the repeat view
    personal_holds = personal_cited = closed_early = 0
    samples: list[dict[str, Any]] = []
    for user in users:
        started = time.perf_counter()
        answer, latency = ask_page(http, user, mode)
        cold_ms.append(latency)
        if answer["explanations_url"]:
            updates, first, done = follow_stream(http, answer["explanations_url"], started)
            if any(u["explanation"]["source"] == "fallback_timeout" for u in updates):
                # The stream closed first (a busy machine): follow the texts to the end by
                # polling, so "all settled" and the repeat view mean what they say.
                updates, done = poll_to_the_end(http, answer["explanations_url"], started)
                closed_early += 1
            settled.update(u["explanation"]["source"] for u in updates)
            alls.append(done)
            if first is not None:
                firsts.append(first)
        views = []
        for _ in range(repeats):
            view, latency = ask_page(http, user, mode)
            again_ms.append(latency)
            again_pending.append(view["pending_explanations"])
            views.append(view)
        shown = views[-1]["items"]
        shown_again.append(sum(i["explanation"]["source"] in SHOWN_LLM for i in shown))
        unwritable.append(sum(i["explanation"]["source"] == "fallback_rejected" for i in shown))
        missing.append(len(shown) - shown_again[-1] - unwritable[-1])
        for item in shown:
            if item["explanation"]["source"] not in SHOWN_LLM:
                continue
            evidence = evidence_of(item)
            verdict = check.check(item["explanation"]["text"], evidence)
            if holds_personal(evidence):
                personal_holds += 1
                personal_cited += bool(verdict.personal)
            if len(samples) < 40:
                samples.append(
                    {
                        "text": item["explanation"]["text"],
                        "facts": [f"{r['code']} {r['facts']}" for r in item["reasons"]],
                    }
                )
    written = sum(settled[s] for s in WRITTEN)
    # Acceptance among the items the workers settled; an item still being written when
    # the stream closed (``fallback_timeout``) is counted apart, not as a rejection.
    decided = sum(settled.values()) - settled["fallback_timeout"]
    return {
        "mode": mode,
        "pages": len(users),
        "first_llm_text_s": {
            "p50": _ms(firsts, 50) / 1000,
            "max": _ms(firsts, 100) / 1000,
            "pages_with_one": len(firsts),
        },
        "all_settled_s": {"p50": _ms(alls, 50) / 1000, "max": _ms(alls, 100) / 1000},
        "answer_cold_ms": {"p50": _ms(cold_ms, 50), "p99": _ms(cold_ms, 99)},
        "answer_again_ms": {"p50": _ms(again_ms, 50), "p99": _ms(again_ms, 99), "n": len(again_ms)},
        "settled": dict(settled.most_common()),
        "grounded_acceptance": round(written / max(1, decided), 3),
        "pages_whose_stream_closed_first": closed_early,
        "llm_items_on_repeat_view": {
            "min": min(shown_again, default=0),
            "mean": round(float(np.mean(shown_again)), 2) if shown_again else 0.0,
        },
        # Apart: items whose every try (the rescue tries included) the check rejected.
        # They show the template by design; the rest of a page should be LLM text.
        "unwritable_items_on_repeat_view": {
            "total": sum(unwritable),
            "max_per_page": max(unwritable, default=0),
        },
        "writable_items_without_llm_text_on_repeat_view_max": max(missing, default=0),
        "repeat_views_queueing_jobs": sum(p > 0 for p in again_pending),
        "jobs_queued_by_repeat_views": sum(again_pending),
        "personal_citation": round(personal_cited / max(1, personal_holds), 3),
        "personal_holds": personal_holds,
        "samples": samples,
    }


def measure(base: str, home: Path, users: list[str], best_of_users: list[str]) -> dict[str, Any]:
    catalog = Catalog.read(home / "data" / "world" / "catalog.parquet")
    check = GroundingCheck(Vocabulary.from_catalog(catalog), require_personal=True)
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60.0) as http:
        backend = http.get("/readyz").json().get("explanations")
        ask_page(http, users[0], "template")  # warm the worker
        llm = cold_and_again(http, users, "llm", check, repeats=5)
        best = cold_and_again(http, best_of_users, "best_of", check, repeats=1)
    return {"backend": backend, "llm": llm, "best_of": best}


def run(
    quick: bool, shoppers: int | None = None, home: Path | None = None, redis_url: str | None = None
) -> dict[str, Any]:
    from bench.bench_service import prepare_world
    from service.runtime.embedded_redis import EmbeddedRedis, free_port

    n = shoppers or (4 if quick else 12)
    with tempfile.TemporaryDirectory() as tmp:
        if home is None or redis_url is None:
            server = EmbeddedRedis(Path(tmp) / "redis", persist=False)
            redis_url = server.start()
            home = Path(tmp) / "home"
            users = prepare_world(home, redis_url, quick)
        else:
            server = None
            users = _recent_shoppers(home)
        try:
            env = service_env(redis_url, home, ["recommend"]) | {"SHOPMODE_LLM_BACKEND": "local"}
            port = free_port()
            with uvicorn_server("service.main:create_app", env, port):
                wait_ready(f"http://127.0.0.1:{port}")
                report = measure(
                    f"http://127.0.0.1:{port}", home, users[:n], users[n : n + max(2, n // 4)]
                )
        finally:
            if server is not None:
                server.stop()
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    llm, best = report["llm"], report["best_of"]
    report["targets"] = {
        "first_llm_text_max_s (<= 2)": llm["first_llm_text_s"]["max"],
        "all_ten_settled_max_s (<= 15)": llm["all_settled_s"]["max"],
        "llm_items_on_repeat_view_min (>= 9)": llm["llm_items_on_repeat_view"]["min"],
        "  un-writable items on repeat views (every try rejected)": llm[
            "unwritable_items_on_repeat_view"
        ]["total"],
        "  writable items without LLM text, worst page (0)": llm[
            "writable_items_without_llm_text_on_repeat_view_max"
        ],
        "  jobs queued by repeat views (0)": llm["jobs_queued_by_repeat_views"],
        "answer_p99_ms_repeat (<= 15)": llm["answer_again_ms"]["p99"],
        "personal_citation (>= 0.80)": llm["personal_citation"],
        "grounded_acceptance_llm (>= 0.85)": llm["grounded_acceptance"],
        "grounded_acceptance_best_of (>= 0.95)": best["grounded_acceptance"],
    }
    return report


def _recent_shoppers(home: Path) -> list[str]:
    import pyarrow.parquet as pq

    users = pq.read_table(home / "data" / "world" / "events.parquet", columns=["user_id"])
    recent = [str(u) for u in users.column("user_id").to_pylist()[-5000:]]
    return list(dict.fromkeys(reversed(recent)))


def _into_report(result: dict[str, Any], command: str, started: str, seconds: float) -> None:
    """Merge this run into the runner's report (the other benchmarks' figures are kept)."""
    from bench.report import write_report
    from bench.run import RESULTS_DIR

    path = RESULTS_DIR / "latest.json"
    report = json.loads(path.read_text())
    report.pop("headlines", None)
    report["benchmarks"]["bench_llm_http"] = {
        "ok": True,
        "result": result,
        "seconds": round(seconds, 1),
        "command": command,
        "started_at": started,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_report(report, RESULTS_DIR)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world, 4 shoppers")
    parser.add_argument("--shoppers", type=int, help="cold pages in llm mode")
    parser.add_argument("--home", type=Path, help="reuse this SHOPMODE_HOME (with --redis-url)")
    parser.add_argument("--redis-url", help="the Redis that --home's data is in")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also put the result into bench/results/latest.json and latest.md",
    )
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    clock = time.perf_counter()
    report = run(args.quick, args.shoppers, args.home, args.redis_url)
    if args.report:
        command = "python -m bench.bench_llm_http " + " ".join(argv or sys.argv[1:])
        _into_report(report, command, started, time.perf_counter() - clock)
    samples = report["llm"].pop("samples") + report["best_of"].pop("samples")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report | {"samples": samples[:20]}, indent=2))
    print("\ntarget                                     measured")
    for name, value in report["targets"].items():
        print(f"{name:42} {value}")
    print("\n20 sample texts (shown on the repeat view) beside their facts:")
    for sample in samples[:20]:
        print(f"- {sample['text']}\n    facts: {'; '.join(sample['facts'])}")


if __name__ == "__main__":
    main()
