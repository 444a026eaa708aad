"""The Lua scripts the store runs (``lua/``), by name, with the SHA1 that ``EVALSHA`` sends.

Scripts are loaded on a server the first time a runner sends one, and again when a
server answers NOSCRIPT (a restart, a failover, a new cluster node).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
SCRIPTS: dict[str, str] = {path.stem: path.read_text() for path in sorted(LUA_DIR.glob("*.lua"))}
SHAS: dict[str, str] = {
    name: hashlib.sha1(source.encode()).hexdigest() for name, source in SCRIPTS.items()
}
