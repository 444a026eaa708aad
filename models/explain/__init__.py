"""Explanations: template text, LLM backends, the grounding check, cache and judge.

from models.explain import Explainer, GroundingCheck, Vocabulary, build_backend

backend = build_backend("local", threads=2)
explainer = Explainer(backend, GroundingCheck(Vocabulary(brands, categories)))
texts = await explainer.explain(evidence_packs, mode="llm", budget_s=1.5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from models.explain.backend import Completion, LLMBackend, Prompt
from models.explain.cache import CachedOutcome, ExplanationCache
from models.explain.explainer import MODES, Explainer, Mode
from models.explain.grounding import GroundingCheck
from models.explain.judge import Candidate, pick_best
from models.explain.problems import Problem, Verdict
from models.explain.prompt import build_prompt, clean_output
from models.explain.scripted import Hang, ScriptedBackend
from models.explain.template import TemplateBackend, TemplateWriter
from models.explain.vocabulary import Vocabulary

BackendKind = Literal["local", "openai", "template"]


def backend_id(
    kind: BackendKind, *, model_path: Path | None = None, model: str = "gpt-4o-mini"
) -> str:
    """The id a backend of ``kind`` has (its explanation cache and queue are keyed by it),
    without starting it: an API process that leaves generation to separate workers needs
    the id, not the model."""
    if kind == "template":
        return TemplateBackend.id
    if kind == "openai":
        from models.explain.openai_compatible import openai_backend_id

        return openai_backend_id(model)
    from models.explain.local import find_smollm2_gguf, local_backend_id

    return local_backend_id(model_path or find_smollm2_gguf())


def build_backend(
    kind: BackendKind,
    *,
    model_path: Path | None = None,
    threads: int = 2,
    base_url: str = "https://api.openai.com/v1",
    model: str = "gpt-4o-mini",
    api_key: SecretStr | None = None,
    timeout_s: float = 10.0,
) -> LLMBackend:
    """The backend named by ``kind`` (the ``SHOPMODE_LLM_BACKEND`` setting)."""
    if kind == "template":
        return TemplateBackend()
    if kind == "openai":
        from models.explain.openai_compatible import OpenAICompatibleBackend

        return OpenAICompatibleBackend(base_url, model, api_key, timeout_s)
    from models.explain.local import LocalBackend

    return LocalBackend(model_path, n_threads=threads)


__all__ = [
    "MODES",
    "BackendKind",
    "CachedOutcome",
    "Candidate",
    "Completion",
    "Explainer",
    "ExplanationCache",
    "GroundingCheck",
    "Hang",
    "LLMBackend",
    "Mode",
    "Problem",
    "Prompt",
    "ScriptedBackend",
    "TemplateBackend",
    "TemplateWriter",
    "Verdict",
    "Vocabulary",
    "backend_id",
    "build_backend",
    "build_prompt",
    "clean_output",
    "pick_best",
]
