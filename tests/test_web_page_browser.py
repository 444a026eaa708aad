"""The shop page in a real headless Chromium against a real uvicorn server, Redis and the
real SmolLM2 model (LLM texts replace the template in place as they are written).

Chromium is Debian's (``make browser`` installs it); Playwright only drives it. Missing
Chromium on a developer machine skips this module; under CI it is a failure.
``SHOPMODE_UPDATE_SCREENSHOT=1`` also refreshes docs/screenshot.png for the README.
"""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from shop_support import ShopWorld, build_shop, train_shop

from service.api.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Chromium not installed (make browser)",
    ),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def shop(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> ShopWorld:
    return build_shop(redis_server_url, tmp_path_factory.mktemp("browser") / "world")


@pytest.fixture(scope="module")
def base_url(shop: ShopWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, on a free loopback port."""
    home = tmp_path_factory.mktemp("home")
    settings = shop.settings(home, llm_backend="local", explanation_stream_s=300.0)
    train_shop(shop, settings.models_dir)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="shop-page-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server thread died while starting"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def _prices(page: object) -> list[float]:
    texts: list[str] = page.locator(".card .price").all_inner_texts()  # type: ignore[attr-defined]
    return [float(re.sub(r"[^0-9.]", "", t)) for t in texts]


def _card_ids(page: object) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".card", "cards => cards.map(c => c.dataset.productId)"
    )
    return ids


def _wait_for_new_list(page: object, before: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "prev => document.getElementById('cards').dataset.loaded !== prev", arg=before
    )


def _loaded(page: object) -> str:
    value: str = page.eval_on_selector("#cards", "c => c.dataset.loaded || ''")  # type: ignore[attr-defined]
    return value


def test_shopper_browses_asks_and_carts(base_url: str, shop: ShopWorld, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing at /usr/bin/chromium: run `make browser`"
    user = shop.active_shopper()
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 860},
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/?shopper={user}")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            page.click("label:has(input[value=template])")  # instant text for this walk-through
            page.wait_for_function(
                "() => [...document.querySelectorAll('.why .badge')].every("
                "b => b.textContent === 'template')"
            )

            # Recommendations render as product cards with a why-text and its source badge.
            cards = page.locator(".card")
            assert cards.count() >= 6
            first = cards.first
            assert first.locator(".title").inner_text().strip()
            assert first.locator(".brandname").inner_text().strip()
            assert first.locator(".why .badge").inner_text().strip().lower() == "template"
            assert len(first.locator(".why").inner_text()) > 20
            assert page.locator("#recent li").count() >= 1
            assert page.locator("#shopper-id").input_value() == user
            assert "heuristic" not in page.locator("#status").inner_text()  # the trained model

            # A request in words narrows the list by price and shows what was understood.
            before = _loaded(page)
            page.fill("#ask", "something under $40 for my sister")
            page.click("#ask-form button[type=submit]")
            _wait_for_new_list(page, before)
            assert "under $40" in page.locator("#intent").inner_text()
            prices = _prices(page)
            assert prices
            assert max(prices) <= 40
            page.screenshot(path=str(tmp_path / "asked.png"))
            if os.environ.get("SHOPMODE_UPDATE_SCREENSHOT") == "1":
                _save_small_png(page.screenshot(), DOCS_SCREENSHOT)

            # Adding to cart sends the event and the list that comes back reflects it.
            before = _loaded(page)
            page.click("#clear-ask")
            _wait_for_new_list(page, before)
            shown = _card_ids(page)
            before = _loaded(page)
            page.locator(".card").nth(1).locator("button[data-action=cart]").click()
            _wait_for_new_list(page, before)
            assert "Added to cart" in page.locator("#status").inner_text()
            assert _card_ids(page) != shown
            page.wait_for_function(
                "() => [...document.querySelectorAll('#recent .what')]"
                ".some(e => e.textContent === 'carted')"
            )
            page.screenshot(path=str(tmp_path / "shop.png"))

            # On a phone the cards reflow and nothing scrolls sideways.
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
            card = page.locator(".card").first.bounding_box()
            assert card is not None
            assert card["width"] < 195  # two cards side by side
            page.screenshot(path=str(tmp_path / "phone.png"))
        finally:
            browser.close()
    assert errors == []
    assert (tmp_path / "shop.png").stat().st_size > 10_000


def test_llm_texts_replace_the_template_in_place(
    base_url: str, shop: ShopWorld, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing at /usr/bin/chromium: run `make browser`"
    users = shop.events[shop.events["type"] == "view"]["user_id"].value_counts().index
    user = str(users[1])  # not the walk-through's shopper: nothing of theirs is cached
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 860},
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/?shopper={user}")  # "Thinking" (llm) is the default
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            assert page.locator("input[name=mode][value=llm]").is_checked()
            # At once: template text on every card, the pending ones marked as being written.
            assert page.locator(".why.pending").count() >= 1
            page.evaluate("window.__cards = [...document.querySelectorAll('.card')]")
            # Then the stream delivers LLM text into the same cards, badge and all.
            page.wait_for_function(
                "() => [...document.querySelectorAll('.why .badge')]"
                ".some(b => b.textContent === 'llm')",
                timeout=300_000,
            )
            swapped = page.locator(".card:has(.why .badge:text-is('llm'))").first
            text = swapped.locator(".why .text").inner_text()
            index = swapped.get_attribute("data-index")
            same = page.evaluate(
                "i => window.__cards[Number(i)] === "
                "document.querySelector(`.card[data-index='${i}']`)",
                index,
            )
            assert same, "the card was re-rendered instead of updated in place"
            recommendation = page.eval_on_selector("#cards", "c => c.dataset.recommendationId")
            token = page.eval_on_selector("meta[name=shopmode-token]", "m => m.content")
            page.screenshot(path=str(tmp_path / "swapped.png"))
        finally:
            browser.close()
    assert errors == []
    # What the page shows is what the service's polling form says was written.
    import httpx

    polled = httpx.get(
        f"{base_url}/v1/recommendations/{recommendation}/explanations",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    written = {u["index"]: u["explanation"] for u in polled["items"]}
    assert written[int(str(index))] == {
        "text": text,
        "source": "llm",
        "grounded": True,
        "pending": False,
    }


def _save_small_png(png: bytes, path: Path) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256).save(path, optimize=True)
