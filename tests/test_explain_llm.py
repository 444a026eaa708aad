"""The real SmolLM2 model, in-process and behind a real OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from evidence_support import BOOTS_OFF, BOOTS_QUERY, SEARCHED_BOOTS, boots, tent
from pydantic import SecretStr

from models.evidence import Evidence, Reason
from models.explain import (
    Explainer,
    GroundingCheck,
    LLMBackend,
    TemplateWriter,
    Vocabulary,
    build_backend,
    build_prompt,
)
from models.explain.local import LocalBackend, find_smollm2_gguf
from models.explain.openai_compatible import KEY_SETTING, OpenAICompatibleBackend
from shopmode.errors import LLMUnavailable

VOCAB = Vocabulary(
    brands=["Northpeak", "Cedarwood", "Juniperfield"],
    categories=["Hiking Boots", "Tents", "Rain Jackets"],
    regions=["Northeast", "West"],
)

PACKS = [
    boots(query=BOOTS_QUERY, reasons=[SEARCHED_BOOTS, BOOTS_OFF]),
    tent("p2"),
    Evidence(
        product_id="p3",
        title="Juniperfield Packable Rain Jacket",
        brand="Juniperfield",
        category="Rain Jackets",
        price=129.0,
        reasons=[
            Reason(code="region_trending", facts={"region": "Northeast"}),
            Reason(code="category_affinity", facts={"category": "Rain Jackets", "views_7d": 3}),
        ],
    ),
]


@pytest.fixture(scope="session")
def smollm2() -> Iterator[LocalBackend]:
    backend = LocalBackend(n_threads=2)
    yield backend
    backend.close()


@pytest.mark.llm
def test_the_local_model_writes_text(smollm2: LocalBackend) -> None:
    prompt = build_prompt(PACKS[1])
    completion = smollm2.complete(prompt, smollm2.Options(max_tokens=48))
    assert completion.completion_tokens > 0
    # the answer continues the prefilled prefix, the shopper's own fact, with words of its own
    assert prompt.answer_prefix == "Since you follow Cedarwood,"
    assert completion.text.startswith(prompt.answer_prefix)
    assert len(completion.text.split()) > 4
    assert smollm2.id == "local-smollm2-135m-instruct-q4_1"


@pytest.mark.llm
def test_grounded_model_text_is_shown_and_rejected_text_falls_back(
    smollm2: LocalBackend,
) -> None:
    check = GroundingCheck(VOCAB)
    shown = asyncio.run(
        Explainer(smollm2, check, best_of=3).explain(PACKS, mode="best_of", budget_s=600.0)
    )
    writer = TemplateWriter()
    for evidence, explanation in zip(PACKS, shown, strict=True):
        assert explanation is not None
        assert explanation.grounded
        if explanation.source == "best_of":
            assert check.check(explanation.text, evidence).grounded
            assert explanation.text != writer.write(evidence)
        else:
            assert explanation.source == "fallback_rejected"
            assert explanation.text == writer.write(evidence)
    assert any(e is not None and e.source == "best_of" for e in shown)

    # a check no real text can pass: every item falls back to its template text
    strict = Explainer(smollm2, GroundingCheck(VOCAB, max_words=3))
    rejected = asyncio.run(strict.explain(PACKS, mode="llm", budget_s=600.0))
    assert [e.source for e in rejected if e] == ["fallback_rejected"] * len(PACKS)
    assert [e.text for e in rejected if e] == [writer.write(p) for p in PACKS]


def test_a_missing_model_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(LLMUnavailable) as err:
        LocalBackend(tmp_path / "nope.gguf")
    assert err.value.setting == "SHOPMODE_LLM_MODEL_PATH"


def test_a_hosted_api_without_a_key_names_the_setting() -> None:
    with pytest.raises(LLMUnavailable) as err:
        build_backend("openai", base_url="https://api.openai.com/v1", model="gpt-4o-mini")
    assert err.value.setting == KEY_SETTING
    assert "SHOPMODE_OPENAI_API_KEY" in str(err.value)


# --- a real OpenAI-compatible server (llama.cpp's) -----------------------------------

SERVER_KEY = "test-key-1234"


@pytest.fixture(scope="session")
def openai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(find_smollm2_gguf()),
        "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", "2", "--n_ctx", "2048",
        "--api_key", SERVER_KEY,
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                headers = {"Authorization": f"Bearer {SERVER_KEY}"}
                if httpx.get(f"{base_url}/models", headers=headers, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.llm
def test_the_openai_backend_talks_to_a_real_server(openai_server: str) -> None:
    # a generous HTTP timeout: this machine's two cores are shared with the rest of the suite
    backend = OpenAICompatibleBackend(
        openai_server, "smollm2", SecretStr(SERVER_KEY), timeout_s=120.0
    )
    try:
        completion = backend.complete(build_prompt(PACKS[2]), backend.Options(max_tokens=48))
        assert completion.text.strip()
        assert completion.completion_tokens > 0
        shown = asyncio.run(Explainer(backend, GroundingCheck(VOCAB)).explain(PACKS, "llm", 600))
        writer = TemplateWriter()
        for evidence, explanation in zip(PACKS, shown, strict=True):
            assert explanation is not None
            assert explanation.source in ("llm", "fallback_rejected")
            if explanation.source == "fallback_rejected":
                assert explanation.text == writer.write(evidence)
    finally:
        backend.close()


@pytest.mark.llm
def test_a_refused_key_names_the_setting(openai_server: str) -> None:
    backend: LLMBackend = OpenAICompatibleBackend(openai_server, "smollm2", SecretStr("wrong"))
    with pytest.raises(LLMUnavailable) as err:
        backend.complete(build_prompt(PACKS[0]), backend.Options())
    assert err.value.setting == KEY_SETTING
    backend.close()
    # and through the Explainer the shopper still gets the template text
    keyless = OpenAICompatibleBackend(openai_server, "smollm2")
    try:
        shown = asyncio.run(Explainer(keyless).explain(PACKS, "llm", 30))
    finally:
        keyless.close()
    assert [e.source for e in shown if e] == ["fallback_error"] * len(PACKS)
