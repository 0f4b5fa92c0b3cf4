"""End-to-end fixtures: lgcloud served on loopback, driven by Debian's Chromium through
Playwright (no browser download: ``executable_path=/usr/bin/chromium``).

Every browser context routes every request through :class:`Guard`: a request to anything
but the lgcloud server(s) under test is aborted and recorded, and the test fails at
teardown. Flow steps are saved as screenshots under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lgcloud.core.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}  # the counter terminals' screens
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SEED = 3
RESIDENTS = 300

#: Chromium's own PDF viewer (an internal extension and its chrome:// resources): part of
#: the browser, not a network request.
BROWSER_INTERNAL = (
    "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/",
    "chrome://resources/",
    "chrome://theme/",
    "about:blank",
    "data:",
    "blob:",
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests serve the demo's towns, built on SQLite files: the PostgreSQL pass
    of ./scripts/test leaves them out."""
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.sqlite_only)


# ----------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: ./scripts/test installs it (Debian chromium)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Guard:
    """Allows requests to the given origins only; records everything."""

    origins: set[str]
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def allowed(self, url: str) -> bool:
        if url.startswith(BROWSER_INTERNAL):
            return True
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" in self.origins

    def route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if self.allowed(url):
            route.continue_()
        else:
            if url not in self.foreign:
                self.foreign.append(url)
            route.abort("blockedbyclient")

    def on_request(self, request: Any) -> None:
        # also requests the router does not see (service workers, prefetches)
        if not self.allowed(request.url) and request.url not in self.foreign:
            self.foreign.append(request.url)


class UI:
    """One browser page at 1366×768, with the guard and numbered screenshots."""

    def __init__(self, context: Any, guard: Guard, name: str) -> None:
        self.context = context
        self.page = context.new_page()
        self.guard = guard
        self.name = name
        self.step = 0
        self.page.set_default_timeout(30_000)

    def allow(self, url: str) -> None:
        parts = urlsplit(url)
        self.guard.origins.add(f"{parts.scheme}://{parts.netloc}")

    def shot(self, label: str) -> Path:
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    # ---- flows shared by the tests
    def login(self, base: str, town: str, staff: str, password: str) -> None:
        page = self.page
        page.goto(base + "/login")
        page.select_option("#town_code", town)
        page.fill("#staff_number", staff)
        page.fill("#password", password)
        self.shot(f"login-{staff}")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/(\?.*)?$"))

    def switch(self, staff: str, pin: str) -> None:
        page = self.page
        page.click("a[href='/switch']")
        page.fill("#staff_number", staff)
        page.fill("#pin", pin)
        self.shot(f"switch-{staff}")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/(\?.*)?$"))

    def search(self, text: str) -> Any:
        """Type into the search box (no submit) and wait for the list htmx puts in place."""
        page = self.page
        box = page.locator("#q")
        box.click()
        box.fill("")
        box.press_sequentially(text, delay=30)
        page.wait_for_selector(f"#results[data-query='{text}'] [data-testid=result-count]")
        return page.locator("#results")

    def issue(self, kind: str = "resident") -> Any:
        """Issue from the person page; wait for the PDF preview frame to have loaded."""
        page = self.page
        page.select_option("#kind", kind)
        page.click("[data-testid=issue]")
        page.wait_for_selector("#pdf-preview[data-loaded=true]", timeout=60_000)
        return page.locator("[data-testid=issued]")


def _ui(browser: Any, request: pytest.FixtureRequest, origins: set[str]) -> Iterator[UI]:
    guard = Guard(set(origins))
    context = browser.new_context(viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.route("**/*", guard.route)
    context.on("request", guard.on_request)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    ui = UI(context, guard, name)
    try:
        yield ui
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            with contextlib.suppress(Exception):
                ui.shot("failure")
        context.close()
    assert not guard.foreign, f"requests to outside lgcloud: {guard.foreign}"
    ran = getattr(request.node, "rep_call", None)
    if ran is not None and ran.passed:
        assert guard.requests, "the guard saw no request"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# ----------------------------------------------------------------------------- lgcloud


@dataclass
class Served:
    url: str
    platform: Any
    passwords: dict[str, str]
    pins: dict[str, str]


class ThreadServer:
    """uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn  # noqa: PLC0415

        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="none",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("lgcloud did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The three demo towns (small), served by one lgcloud process (normal mode)."""
    from lgcloud.generate.demo import build_demo  # noqa: PLC0415
    from lgcloud.web.app import create_app  # noqa: PLC0415

    root = tmp_path_factory.mktemp("e2e")
    platform, passwords, pins = build_demo(root / "data", seed=SEED, residents=RESIDENTS)
    with ThreadServer(create_app(platform)) as url:
        yield Served(url, platform, passwords, pins)
    platform.dispose()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def ui(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[UI]:
    """A fresh browser context on the normal-mode server (only its origin is allowed)."""
    yield from _ui(browser, request, {served.url})


@pytest.fixture
def bare_ui(browser: Any, request: pytest.FixtureRequest) -> Iterator[UI]:
    """A browser context that allows no origin yet (tests add their servers with allow())."""
    yield from _ui(browser, request, set())
