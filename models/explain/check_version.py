"""Which grounding check passed a text: one short digest of the check's rules (the source
of the modules it is made of), its settings and its vocabulary.

A cached text is stored with the version of the check that passed it
(``models.explain.cache``); a reader whose check has the same version shows it without
checking it again, since the same rules on the same evidence and vocabulary give the same
verdict. New rules, other settings or another catalog give another version, and the text
is checked again before it is shown.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.explain.grounding import GroundingCheck

RULE_MODULES = (
    "grounding",
    "claims",
    "numbers",
    "words",
    "vocabulary",
    "personal",
    "problems",
    "template",
    "check_version",
)


@cache
def rules_digest() -> str:
    """sha256 (hex) of the source of every module the check's verdict depends on."""
    digest = hashlib.sha256()
    for name in RULE_MODULES:
        spec = importlib.util.find_spec(f"models.explain.{name}")
        if spec is None or spec.origin is None:  # pragma: no cover - part of this package
            raise RuntimeError(f"models.explain.{name} not found")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


def check_version(check: GroundingCheck) -> str:
    """The version of ``check``: equal for checks that give every text the same verdict."""
    settings = (
        f"{check.max_words}|{check.max_sentences}|{check.require_citation}|{check.require_personal}"
    )
    return _version(settings, check.vocabulary.digest)


@cache
def _version(settings: str, vocabulary: str) -> str:
    # Read on every page (a cached text's verdict stands only under the same version).
    parts = (rules_digest(), settings, vocabulary)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
