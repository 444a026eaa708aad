"""Any OpenAI-compatible chat endpoint: vLLM, Ollama, llama.cpp's server, a hosted API.

Vendors are configuration (base URL, model name, key), not code. A missing or refused
key raises an error that names the setting to fix.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from models.explain.backend import Completion, LLMBackend, Prompt, seconds_left
from shopmode.errors import LLMUnavailable

KEY_SETTING = "SHOPMODE_OPENAI_API_KEY"
# Hosted APIs that always need a key: fail at start-up, not on the first request.
_KEYED_HOSTS = ("api.openai.com", "api.groq.com", "api.together.xyz", "openrouter.ai")


class OpenAICompatibleBackend(LLMBackend):
    """Chat completions over HTTP; safe to call from several threads at once."""

    can_run_concurrently = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise LLMUnavailable(
                f"not an http(s) URL: {base_url!r}", setting="SHOPMODE_OPENAI_BASE_URL"
            )
        if api_key is None and parts.hostname in _KEYED_HOSTS:
            raise LLMUnavailable(f"{parts.hostname} needs an API key", setting=KEY_SETTING)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.id = "openai-" + re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-").lower()
        headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def complete(
        self, prompt: Prompt, options: LLMBackend.Options, deadline: float | None = None
    ) -> Completion:
        left = seconds_left(deadline)
        timeout = self.timeout_s if left is None else min(self.timeout_s, left)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": prompt.messages(),
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "seed": options.seed,
            "stop": list(prompt.stop[:4]),  # OpenAI accepts at most four
        }
        start = time.perf_counter()
        try:
            response = self._client.post("/chat/completions", json=body, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise LLMUnavailable(f"{self.base_url} did not answer in {timeout:.2f}s") from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"{self.base_url} is unreachable: {exc}") from exc
        if response.status_code in (401, 403):
            raise LLMUnavailable(
                f"{self.base_url} refused the API key (HTTP {response.status_code})",
                setting=KEY_SETTING,
            )
        if response.status_code != 200:
            raise LLMUnavailable(f"{self.base_url} answered HTTP {response.status_code}")
        try:
            payload = response.json()
            text = payload["choices"][0]["message"]["content"] or ""
            tokens = int((payload.get("usage") or {}).get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMUnavailable(f"{self.base_url} sent a response without a message") from exc
        return Completion(str(text), tokens, time.perf_counter() - start)

    def close(self) -> None:
        self._client.close()
