"""The one interface every explanation writer implements.

A backend is a small class with an ``id``, capability flags, a nested ``Options`` model
and one method, ``complete(prompt, options, deadline)``. Backends are synchronous (the
local model is CPU-bound); the ``Explainer`` runs them in threads.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from models.evidence import Evidence
from shopmode.errors import LLMUnavailable


@dataclass(frozen=True)
class Prompt:
    """What a backend is asked: chat messages built from one evidence pack only.

    ``evidence`` travels along so that a non-generative backend (the template) can
    answer the same call; generative backends read only ``system`` and ``user``.
    """

    system: str
    user: str
    evidence: Evidence
    stop: tuple[str, ...] = ()
    # The first words of the answer. Backends that can prefill the assistant turn start
    # from it (a small model stays on topic far better); the others are asked to use it.
    answer_prefix: str = ""

    def messages(self, prefill: bool = False) -> list[dict[str, str]]:
        user = self.user
        if self.answer_prefix and not prefill:
            user += f'\nStart your answer with "{self.answer_prefix}".'
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": user},
        ]


@dataclass(frozen=True)
class Completion:
    """A backend's raw answer and what it cost."""

    text: str
    completion_tokens: int
    seconds: float


class LLMBackend(ABC):
    """An explanation writer: local model, OpenAI-compatible endpoint, or the template."""

    id: str
    #: several ``complete`` calls may run at the same time (else the Explainer serialises)
    can_run_concurrently: bool = False
    #: writes new text (False: deterministic text from the evidence, no model)
    generative: bool = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        max_tokens: int = Field(
            default=48, ge=1, le=1024, description="Most tokens to generate for one text."
        )
        temperature: float = Field(
            default=0.2, ge=0.0, le=2.0, description="Sampling temperature; 0 is greedy."
        )
        seed: int = Field(default=0, ge=0, description="Sampling seed, for repeatable text.")

    @abstractmethod
    def complete(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None = None
    ) -> Completion:
        """Write one explanation.

        ``deadline`` is a ``time.monotonic()`` instant; backends that can stop early do so
        and raise ``LLMUnavailable`` once it has passed. Failures raise ``LLMUnavailable``.
        """

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds (model memory, HTTP connections)."""


def seconds_left(deadline: float | None) -> float | None:
    """Time until ``deadline`` (monotonic); raises once it has passed."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise LLMUnavailable("the explanation deadline passed before the backend answered")
    return left
