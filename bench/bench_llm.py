"""LLM explanation benchmark: speed and grounded-acceptance of generated texts.

    python -m bench.bench_llm [--packs 36] [--best-of 3] [--threads 2] [--json out.json]
    python -m bench.bench_llm --styles plain,personal,prefix,fewshot,grammar [--packs 30]

Evidence packs are built from a small generated world (``bench.llm_packs``). Measured in
one run:

- template text (the baseline): microseconds per explanation, always grounded;
- ``llm``: one generation per pack: latency, tokens/s, share accepted by the grounding check;
- ``best_of``: N candidates per pack, judge picks: share of packs that get a grounded text;
- a service-like page (10 items, the default 1.5 s budget): share shown as LLM text.

Prints JSON and a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.llm_packs import world_packs
from models.evidence import Evidence
from models.explain import (
    Explainer,
    GroundingCheck,
    LLMBackend,
    TemplateWriter,
    Vocabulary,
    build_backend,
    build_prompt,
    clean_output,
)
from models.explain.personal import holds_personal


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_template(packs: list[Evidence], check: GroundingCheck) -> dict[str, Any]:
    writer = TemplateWriter()
    start = time.perf_counter()
    rounds = 50
    for _ in range(rounds):
        texts = [writer.write(p) for p in packs]
    per_item_us = (time.perf_counter() - start) / (rounds * len(packs)) * 1e6
    grounded = sum(check.check(t, p).grounded for t, p in zip(texts, packs, strict=True))
    start = time.perf_counter()
    for t, p in zip(texts, packs, strict=True):
        check.check(t, p)
    check_us = (time.perf_counter() - start) / len(packs) * 1e6
    return {
        "latency_us": round(per_item_us, 1),
        "grounded_share": grounded / len(packs),
        "grounding_check_us": round(check_us, 1),
    }


def bench_single(
    backend: LLMBackend, packs: list[Evidence], check: GroundingCheck, max_tokens: int
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    latencies, tokens, seconds, accepted = [], 0, 0.0, 0
    kinds: Counter[str] = Counter()
    samples: list[tuple[str, str]] = []
    for pack in packs:
        options = backend.Options(max_tokens=max_tokens, temperature=0.2, seed=0)
        start = time.perf_counter()
        completion = backend.complete(build_prompt(pack), options)
        text = clean_output(completion.text)
        verdict = check.check(text, pack)
        latencies.append(time.perf_counter() - start)
        tokens += completion.completion_tokens
        seconds += completion.seconds
        accepted += verdict.grounded
        kinds.update(verdict.kinds)
        tag = ("ok " if verdict.grounded else "REJ") + f" {'/'.join(verdict.kinds)}"
        samples.append((tag, text))
    return {
        "latency_s_p50": round(pct(latencies, 50), 3),
        "latency_s_p95": round(pct(latencies, 95), 3),
        "tokens_per_s": round(tokens / seconds, 1) if seconds else 0.0,
        "tokens_per_text": round(tokens / len(packs), 1),
        "grounded_share": accepted / len(packs),
        "rejections": dict(kinds.most_common()),
    }, samples


def bench_styles(
    backend: LLMBackend,
    packs: list[Evidence],
    vocabulary: Vocabulary,
    max_tokens: int,
    styles: list[str],
) -> dict[str, Any]:
    """Each prompt style on the same packs: accepted by the check, and citing a personal
    fact when the pack holds one (the check as shipped: personal facts required)."""
    lenient = GroundingCheck(vocabulary)
    out: dict[str, Any] = {}
    for style in styles:
        accepted = personal = holds = 0
        kinds: Counter[str] = Counter()
        for pack in packs:
            options = backend.Options(max_tokens=max_tokens, temperature=0.2, seed=0)
            text = clean_output(backend.complete(build_prompt(pack, style), options).text)
            verdict = lenient.check(text, pack)
            kinds.update(verdict.kinds)
            if verdict.grounded:
                accepted += 1
                if holds_personal(pack):
                    holds += 1
                    personal += bool(verdict.personal)
        out[style] = {
            "accepted": round(accepted / len(packs), 3),
            "personal_among_accepted": round(personal / max(1, holds), 3),
            "accepted_and_personal": round((accepted - (holds - personal)) / len(packs), 3),
            "rejections": dict(kinds.most_common()),
        }
    return out


def bench_explainer(
    backend: LLMBackend,
    packs: list[Evidence],
    check: GroundingCheck,
    mode: str,
    best_of: int,
    max_tokens: int,
    budget_s: float,
    page: int,
) -> dict[str, Any]:
    explainer = Explainer(backend, check, max_tokens=max_tokens, best_of=best_of)
    latencies: list[float] = []
    sources: Counter[str] = Counter()

    async def run() -> None:
        for i in range(0, len(packs), page):
            batch = packs[i : i + page]
            start = time.perf_counter()
            shown = await explainer.explain(batch, mode=mode, budget_s=budget_s)
            latencies.append((time.perf_counter() - start) / len(batch))
            sources.update(e.source for e in shown if e)

    asyncio.run(run())
    explainer.close()
    total = sum(sources.values())
    return {
        "mode": mode,
        "page": page,
        "budget_s": budget_s,
        "latency_s_per_item_p50": round(pct(latencies, 50), 3),
        "llm_share": (sources["llm"] + sources["best_of"]) / total,
        "sources": dict(sources.most_common()),
        "candidates": explainer.counts["candidates"],
        "candidate_grounded_share": round(
            explainer.counts["candidates_grounded"] / max(1, explainer.counts["candidates"]), 3
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=36)
    parser.add_argument("--best-of", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--backend", choices=["local", "openai"], default="local")
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--samples", type=int, default=0, help="print this many generated texts")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    parser.add_argument("--styles", help="measure these prompt styles only (comma-separated)")
    args = parser.parse_args(argv)

    packs, vocabulary = world_packs(args.packs, args.seed)
    if args.styles:
        backend = build_backend(args.backend, threads=args.threads, base_url=args.base_url)
        styles = bench_styles(backend, packs, vocabulary, args.max_tokens, args.styles.split(","))
        backend.close()
        print(json.dumps(styles, indent=2))
        return
    check = GroundingCheck(vocabulary)
    start = time.perf_counter()
    backend = build_backend(
        args.backend, threads=args.threads, base_url=args.base_url, model=args.model
    )
    load_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "backend": backend.id,
        "packs": len(packs),
        "threads": args.threads,
        "load_s": round(load_s, 3),
        "template": bench_template(packs, check),
    }
    report["llm_single"], samples = bench_single(backend, packs, check, args.max_tokens)
    report["llm"] = bench_explainer(
        backend, packs, check, "llm", args.best_of, args.max_tokens, 60.0, 1
    )
    report["best_of"] = bench_explainer(
        backend, packs, check, "best_of", args.best_of, args.max_tokens, 60.0, 1
    )
    report["page_llm_1.5s"] = bench_explainer(
        backend, packs, check, "llm", args.best_of, args.max_tokens, 1.5, 10
    )
    report["page_best_of_1.5s"] = bench_explainer(
        backend, packs, check, "best_of", args.best_of, args.max_tokens, 1.5, 10
    )
    backend.close()

    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    single = report["llm_single"]
    rows = [
        (
            "template (baseline)",
            f"{report['template']['latency_us']} µs",
            "-",
            f"{report['template']['grounded_share']:.0%}",
        ),
        (
            "llm, one call",
            f"{single['latency_s_p50']} s p50 / {single['latency_s_p95']} s p95",
            str(report["llm_single"]["tokens_per_s"]),
            f"{report['llm_single']['grounded_share']:.0%}",
        ),
    ]
    for key in ("llm", "best_of", "page_llm_1.5s", "page_best_of_1.5s"):
        r = report[key]
        rows.append(
            (
                f"{key} (page {r['page']}, {r['budget_s']} s)",
                f"{r['latency_s_per_item_p50']} s/item p50",
                "-",
                f"{r['llm_share']:.0%} shown as LLM text",
            )
        )
    print(f"\n{'path':34} {'latency':32} {'tokens/s':>9}  grounded")
    for name, latency, tps, share in rows:
        print(f"{name:34} {latency:32} {tps:>9}  {share}")
    for tag, text in samples[: args.samples]:
        print(f"  [{tag}] {text}")


def run(quick: bool) -> dict[str, Any]:
    """For ``bench.run``: ``main`` with fewer packs when quick, its JSON report as a dict."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "llm.json"
        main(["--packs", "12" if quick else "36", "--json", str(out)])
        report: dict[str, Any] = json.loads(out.read_text())
    return report


if __name__ == "__main__":
    main()
