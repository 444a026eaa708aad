"""Tree predictors on the real ranker: 500 candidate rows, one thread, same trees.

    python -m bench.bench_scoring [--quick]

A world is generated (the default world's size; 5,000 shoppers with --quick), its
training set built as ``shopmode train`` builds it, and the same rows fitted three ways
with the ranker's settings (100 rounds of 31-leaf trees): LightGBM (what ``ShopRanker``
trains), scikit-learn's HistGradientBoostingRegressor (the ranker before) and XGBoost.
Each predictor then scores 500 rows drawn from the candidate sets of held-out sessions,
one thread, 300 times (after a warm-up): median, p99, the largest difference from its own
reference model, and the time to build it. Predictors whose package is missing are
listed as such (``pip install -e '.[scoring-bench]'`` adds them). tl2cgen needs a C
compiler to build its library, and ONNX Runtime scores in float32.

Prints JSON and a table; writes bench/results/scoring.json. Asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.output import report

FULL = {"users": 10_000, "products": 2_000, "days": 28}
QUICK = {"users": 5_000, "products": 1_000, "days": 21}
ROWS = 500
REPEATS = 300
Scorer = Callable[[np.ndarray], np.ndarray]


def _timed(score: Scorer, rows: np.ndarray) -> dict[str, float]:
    score(rows)
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        score(rows)
        samples.append(time.perf_counter() - began)
    ms = np.asarray(samples) * 1000
    return {
        "p50_ms": round(float(np.median(ms)), 4),
        "p99_ms": round(float(np.quantile(ms, 0.99)), 4),
    }


def _missing(*packages: str) -> str | None:
    absent = [p for p in packages if importlib.util.find_spec(p) is None]
    return f"not installed: {', '.join(absent)}" if absent else None


def _training(quick: bool, world: Path) -> tuple[Any, np.ndarray]:
    """The training set of a generated world and 500 held-out candidate rows."""
    from bench.bench_train import _read
    from models.ranking.training import TrainConfig, prepare, sample, training_rows
    from models.retrieval.candidates import candidates_for
    from world.config import WorldConfig
    from world.generate import generate_world

    generate_world(WorldConfig(seed=5, **(QUICK if quick else FULL)), world)
    prepared = prepare(_read(world))
    training = training_rows(prepared, TrainConfig())
    blocks = []
    for inputs in prepared.replay(sample(prepared.test, 60, 0)):
        found = candidates_for(
            inputs.signals, inputs.snapshot, inputs.neighbour_map(), inputs.query_scores
        )
        blocks.append(prepared.features.rows(inputs.state, found, inputs.products, inputs.at))
    pool = np.vstack(blocks)
    rows = pool[np.random.default_rng(0).choice(len(pool), ROWS, replace=len(pool) < ROWS)]
    return training, np.ascontiguousarray(rows)


def _predictors(training: Any, rows: np.ndarray, tmp: Path) -> dict[str, dict[str, Any]]:
    from models.ranking.ranker import ShopRanker, one_thread
    from models.ranking.training import TrainConfig

    config = TrainConfig(objective="pointwise")
    X, y, w = training.X.astype(np.float64), training.y, training.weight
    out: dict[str, dict[str, Any]] = {}

    def measure(name: str, build: Callable[[], tuple[Scorer, Scorer | None]]) -> None:
        began = time.perf_counter()
        try:
            score, reference = build()
        except Exception as exc:  # a predictor that cannot be built is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            return
        entry: dict[str, Any] = {"build_seconds": round(time.perf_counter() - began, 2)}
        entry.update(_timed(score, rows))
        if reference is not None:
            entry["max_abs_diff"] = float(np.max(np.abs(score(rows) - reference(rows))))
        out[name] = entry

    with one_thread():
        ranker = config.ranker().fit(X, y, sample_weight=w)
        lightgbm = ranker.booster_
        measure(
            "lightgbm Booster.predict", lambda: (lambda r: lightgbm.predict(r, num_threads=1), None)
        )

        def served() -> tuple[Scorer, Scorer]:
            fresh = ShopRanker(**ranker.get_params())
            fresh.__setstate__(ranker.__getstate__())
            fresh.compile()
            return fresh.score_rows, ranker.predict

        measure("lleaves, compiled (served: ShopRanker.score_rows)", served)

        from sklearn.ensemble import HistGradientBoostingRegressor

        hgb = HistGradientBoostingRegressor(
            learning_rate=config.learning_rate,
            max_iter=config.max_iter,
            max_leaf_nodes=config.max_leaf_nodes,
            min_samples_leaf=config.min_samples_leaf,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=0,
        ).fit(X, y, sample_weight=w)
        measure("sklearn HGB predict", lambda: (hgb.predict, None))
        out.update(_hgb_converted(hgb, rows, tmp, measure))
        out.update(_xgboost(X, y, w, config, measure))
    return out


def _hgb_converted(
    hgb: Any, rows: np.ndarray, tmp: Path, measure: Callable[..., None]
) -> dict[str, dict[str, Any]]:
    skipped: dict[str, dict[str, Any]] = {}
    why = _missing("skl2onnx", "onnxruntime")
    if why:
        skipped["onnxruntime (skl2onnx from HGB)"] = {"error": why}
    else:

        def onnx() -> tuple[Scorer, Scorer]:
            import onnxruntime as ort
            from skl2onnx import to_onnx

            model = to_onnx(hgb, rows[:1].astype(np.float32))
            options = ort.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            name = session.get_inputs()[0].name
            return (
                lambda r: session.run(None, {name: r.astype(np.float32)})[0].ravel(),
                hgb.predict,
            )

        measure("onnxruntime (skl2onnx from HGB)", onnx)
    why = _missing("treelite", "tl2cgen")
    if why:
        skipped["tl2cgen quantize=1 (treelite from HGB)"] = {"error": why}
    else:

        def compiled_c() -> tuple[Scorer, Scorer]:
            import tl2cgen
            import treelite

            library = tmp / "hgb.so"
            tl2cgen.export_lib(
                treelite.sklearn.import_model(hgb),
                toolchain="gcc",
                libpath=str(library),
                params={"quantize": 1},
                nthread=1,
            )
            predictor = tl2cgen.Predictor(str(library), nthread=1)
            return (
                lambda r: predictor.predict(tl2cgen.DMatrix(r.astype(np.float64))).ravel(),
                hgb.predict,
            )

        measure("tl2cgen quantize=1 (treelite from HGB)", compiled_c)
    return skipped


def _xgboost(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, config: Any, measure: Callable[..., None]
) -> dict[str, dict[str, Any]]:
    why = _missing("xgboost")
    if why:
        return {"xgboost inplace_predict": {"error": why}}

    def build() -> tuple[Scorer, Scorer]:
        import xgboost as xgb

        booster = xgb.train(
            {
                "objective": "reg:squarederror",
                "eta": config.learning_rate,
                "tree_method": "hist",
                "grow_policy": "lossguide",
                "max_leaves": config.max_leaf_nodes,
                "max_depth": 0,
                "min_child_weight": config.min_samples_leaf,
                "reg_lambda": 1.0,
                "nthread": 1,
            },
            xgb.DMatrix(X, y, weight=w),
            config.max_iter,
        )
        return (
            lambda r: booster.inplace_predict(r),
            lambda r: booster.predict(xgb.DMatrix(r)),
        )

    measure("xgboost inplace_predict", build)
    return {}


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        training, rows = _training(quick, Path(tmp) / "world")
        predictors = _predictors(training, rows, Path(tmp))
    return {
        "quick": quick,
        "rows": ROWS,
        "features": int(rows.shape[1]),
        "training_rows": len(training),
        "trees": "100 rounds, at most 31 leaves (TrainConfig)",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "predictors": predictors,
    }


def _table(result: dict[str, Any]) -> str:
    columns = f"{'p50 ms':>9}{'p99 ms':>9}{'max diff':>10}{'build s':>9}"
    head = f"{'predictor, 500 rows, one thread':52}{columns}"
    lines = [head, "-" * len(head)]
    ordered = sorted(result["predictors"].items(), key=lambda kv: kv[1].get("p50_ms", float("inf")))
    for name, entry in ordered:
        if "error" in entry:
            lines.append(f"{name:52}  {entry['error']}")
            continue
        diff = entry.get("max_abs_diff")
        lines.append(
            f"{name:52}{entry['p50_ms']:9.3f}{entry['p99_ms']:9.3f}"
            f"{'' if diff is None else f'{diff:.1e}':>10}{entry['build_seconds']:9.2f}"
        )
    lines.append(f"machine load (1 min): {result['load_average_1m']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 shoppers, 21 days")
    args = parser.parse_args()
    result = run(args.quick)
    report("scoring", result, _table(result), quick=args.quick)


if __name__ == "__main__":
    main()
