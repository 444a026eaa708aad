"""One Redis boundary: only the store layer (``features/store/``) talks to Redis.

Outside it, no module imports ``redis``, sends a command on a client, or spells a key: they
run the store's flows (``features.store.calls``) on a runner instead. The embedded-Redis
launcher starts a server process and pings it, so it may import ``redis``; tests and
benchmarks are outside the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import redis
import redis.asyncio

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shopmode", "features", "models", "service", "world")
STORE = ROOT / "features" / "store"
KEYS = STORE / "keys.py"
LAUNCHER = ROOT / "service" / "runtime" / "embedded_redis.py"
# Every command method of redis-py's clients, and the names a client is held under here.
COMMANDS = {
    name
    for client in (redis.Redis, redis.asyncio.Redis)
    for name in dir(client)
    if not name.startswith("_")
}
CLIENT_NAMES = {"redis", "client", "aclient", "pipe", "pipeline", "cluster", "conn"}
# Names no other library uses: a call of these on anything is a Redis call.
REDIS_ONLY = {"execute_command", "register_script", "evalsha", "script_load", "scan_iter"}


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _outside(path: Path) -> bool:
    return not path.is_relative_to(STORE) and path != LAUNCHER


def _receiver(node: ast.expr) -> str | None:
    """The last name of what a method is called on: ``state.redis.get`` → ``redis``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def redis_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "redis"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] if node.module.split(".")[0] == "redis" else []
    return sorted(found)


def redis_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, _receiver(node.func.value)
        if method in REDIS_ONLY or (method in COMMANDS and receiver in CLIENT_NAMES):
            found.append(f"line {node.lineno}: {receiver}.{method}()")
    return sorted(found)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def spelled_keys(tree: ast.AST) -> list[str]:
    """String literals (an f-string's first part too) that start a key; prose that names
    one (a docstring, an API description) does not start with it."""
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            node = node.values[0]
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("shopmode:v1")
            and id(node) not in skip
        ):
            found.append(f"line {node.lineno}: {node.value!r}")
    return sorted(set(found))


def key_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "features.store":
            found += [f"features.store.{a.name}" for a in node.names if a.name == "keys"]
        elif isinstance(node, ast.ImportFrom) and node.module == "features.store.keys":
            found.append("features.store.keys")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "features.store.keys"]
    return found


MODULES = {str(path.relative_to(ROOT)): path for path in _modules() if _outside(path)}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_store_layer_talks_to_redis(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text())
    assert redis_imports(tree) == [], f"{module} imports redis: run a store flow instead"
    assert redis_calls(tree) == [], f"{module} sends Redis commands: run a store flow instead"
    assert key_imports(tree) == [], f"{module} builds keys: only the store layer may"
    assert spelled_keys(tree) == [], f"{module} spells a key: build it in features/store/keys.py"


def test_keys_are_spelled_only_in_keys_py() -> None:
    for path in STORE.rglob("*.py"):
        if path != KEYS:
            assert spelled_keys(ast.parse(path.read_text())) == [], path


def test_the_checks_catch_a_module_that_talks_to_redis() -> None:
    offender = ast.parse(
        '"""Docstrings may name shopmode:v1:model:current."""\n'
        "import redis.asyncio\n"
        "from redis.exceptions import RedisError\n"
        "from features.store import keys\n"
        "async def current(state):\n"
        "    await state.redis.get('shopmode:v1:model:current')\n"
        "    pipe = client.pipeline(transaction=False)\n"
        "    pipe.zadd(keys.product_cooc('p1'), {'p2': 1.0})\n"
        "    return {}.get('a'), f'shopmode:v1:ratelimit:{{{state.who}}}'\n"
    )
    assert redis_imports(offender) == ["redis.asyncio", "redis.exceptions"]
    assert redis_calls(offender) == [
        "line 6: redis.get()",
        "line 7: client.pipeline()",
        "line 8: pipe.zadd()",
    ]
    assert key_imports(offender) == ["features.store.keys"]
    assert len(spelled_keys(offender)) == 2
