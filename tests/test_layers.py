"""The dependency order of docs/architecture.md, held by the code itself.

Every module of ours is placed in a layer; a module may import from its own layer and the
layers below, never above. The world's hidden truth reaches only the evaluation (the
oracle) and the CLI commands that generate or evaluate a world.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shopmode", "features", "world", "models", "service")
# Lowest first. A name covers the module or package of that name and everything inside.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("shopmode",),
    ("features.events",),
    ("features.catalog",),
    ("features.definitions", "features.contributions", "features.folds"),
    ("features.state",),
    ("features.offline_fold",),
    ("features.offline", "features.vector"),
    ("features.store",),
    ("features.ingest",),
    ("world",),
    ("models.evidence", "models.intent"),
    ("models.retrieval",),
    ("models.ranking",),
    ("models.explain",),
    ("models.recommend",),
    ("models.evaluation",),
    ("service.settings", "service.schemas"),
    ("service.edge",),
    ("service.runtime",),
    ("service.answers",),
    ("service.api", "service.cli"),
    ("service.main",),
)
MAY_SEE_THE_TRUTH = ("world", "models.evaluation", "service.cli")


def _within(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def layer_of(module: str) -> int:
    found = [i for i, names in enumerate(LAYERS) if any(_within(module, n) for n in names)]
    if found:
        return max(found)
    # A package spread over layers (``features``) sits at its lowest: it may import nothing.
    spread = [i for i, names in enumerate(LAYERS) if any(_within(n, module) for n in names)]
    if not spread:
        raise AssertionError(f"{module} is in no layer: place it in LAYERS and the docs")
    return min(spread)


def our_modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


MODULES = our_modules()


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    own = layer_of(module)
    above = sorted(m for m in imports_of(MODULES[module]) if layer_of(m) > own)
    assert not above, f"{module} (layer {own}) imports {above} from above it"


def test_the_hidden_truth_reaches_only_the_evaluation_and_the_cli() -> None:
    readers = sorted(
        module
        for module, path in MODULES.items()
        if any(_within(m, "world") for m in imports_of(path))
        and not any(_within(module, allowed) for allowed in MAY_SEE_THE_TRUTH)
    )
    assert readers == []


def test_a_higher_import_is_caught() -> None:
    # The rule itself: a feature-store module reaching into models would be reported.
    assert layer_of("models.ranking.ranker") > layer_of("features.store.online")
    assert layer_of("shopmode.errors") < layer_of("features.events.rules")


# Modules fit in a head: none over 300 lines outside tests/ (split by concept, not by
# line count).
MAX_LINES = 300


def long_modules(root: Path) -> list[str]:
    """Our modules over ``MAX_LINES``: every top-level folder but tests/, hidden ones (the
    virtualenv, caches) and build output."""
    tops = [p for p in root.iterdir() if not p.name.startswith(".")]
    tops = [
        p for p in tops if p.name not in ("tests", "build") and not p.name.endswith(".egg-info")
    ]
    paths = [p for top in tops for p in ([top] if top.is_file() else top.rglob("*.py"))]
    found = []
    for path in sorted(p for p in paths if p.suffix == ".py"):
        relative = path.relative_to(root).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{relative} ({lines})")
    return found


def test_no_module_is_over_300_lines() -> None:
    assert long_modules(ROOT) == []


def test_a_long_module_is_caught(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_long.py").write_text("x = 1\n" * 999)
    assert long_modules(tmp_path) == [f"pkg/long.py ({MAX_LINES + 1})"]
