"""A backend that answers from a script: for tests, demos and fault drills.

It is a real implementation of ``LLMBackend`` (no patching): queue the texts it should
return with ``enqueue``, make it slow with ``delay_s`` (a hang, until ``release``) or hang
on one call only (enqueue a ``Hang``), and read what it was asked from ``history``.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from models.explain.backend import Completion, LLMBackend, Prompt
from shopmode.errors import LLMUnavailable


class Hang(LLMUnavailable):
    """An answer that hangs until ``release`` (at most ``seconds``), then fails."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__("the scripted backend hung")
        self.seconds = seconds


class ScriptedBackend(LLMBackend):
    """Returns queued texts in order, then ``default`` (or fails if there is none)."""

    def __init__(
        self,
        texts: list[str] | None = None,
        *,
        default: str | None = None,
        delay_s: float = 0.0,
        concurrent: bool = True,
        backend_id: str = "scripted",
    ) -> None:
        self.id = backend_id
        self.default = default
        self.delay_s = delay_s
        self.can_run_concurrently = concurrent
        self.history: list[tuple[Prompt, LLMBackend.Options]] = []
        self._queue: deque[str | Exception] = deque(texts or [])
        self._lock = threading.Lock()
        self._released = threading.Event()

    def enqueue(self, *answers: str | Exception) -> None:
        """Texts to return (or errors to raise), in order."""
        with self._lock:
            self._queue.extend(answers)

    def release(self) -> None:
        """End every pending and future delay (a hang that recovers)."""
        self._released.set()

    def complete(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None = None
    ) -> Completion:
        start = time.perf_counter()
        with self._lock:
            self.history.append((prompt, options))
            answer: str | Exception | None = self._queue.popleft() if self._queue else self.default
        if self.delay_s:
            # Deliberately ignores the deadline: this is how a hung backend behaves.
            self._released.wait(self.delay_s)
        if answer is None:
            raise LLMUnavailable("the scripted backend has nothing left to say")
        if isinstance(answer, Hang):
            self._released.wait(answer.seconds)
        if isinstance(answer, Exception):
            raise answer
        return Completion(answer, len(answer.split()), time.perf_counter() - start)
