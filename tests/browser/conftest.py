"""Browser tests: Playwright for Python driving Debian's Chromium, with no network.

Every request a page makes goes through a guard that serves the page under test and aborts
(and records) everything else; Chromium cannot resolve any host name but localhost either.
Each test ends by checking that nothing was blocked and that the page logged no error.

Without Chromium or Playwright these tests skip, except in CI (``CI=true``), where that fails.
A failing test leaves a screenshot of its page in test-artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("JAXVIZ_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: no host name but localhost resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
#: Console messages that are not errors of the page under test.
IGNORED_CONSOLE = re.compile(r"Failed to load resource: net::ERR_FAILED")


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session, on a fresh profile (a temporary user data dir)."""
    missing = _unavailable()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="jaxviz-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                accept_downloads=True,
                service_workers="block",
                viewport={"width": 1200, "height": 900},
            )
            context.set_default_timeout(30_000)
            yield context
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Guard:
    """Serves a page's own files, blocks every other request, and collects page errors."""

    def __init__(self, page):
        self.page = page
        #: Which page errors count: all of them, unless a test narrows it to its own code.
        self.ours: Callable[[str], bool] = lambda error: True
        self.allowed: list[str] = []
        self.served: dict[str, Callable[[], tuple[bytes, str]]] = {}
        self.blocked: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc.message}\n{exc.stack}"))
        page.on("console", self._console)

    def serve(self, url: str, body: Callable[[], tuple[bytes, str]]) -> None:
        """Answer ``url`` with ``body()`` -> (bytes, content type)."""
        self.served[url] = body

    def allow(self, prefix: str) -> None:
        """Let requests to ``prefix`` (a local server) through."""
        self.allowed.append(prefix)

    def _route(self, route) -> None:
        url = route.request.url
        if url in self.served:
            data, content_type = self.served[url]()
            route.fulfill(status=200, body=data, content_type=content_type)
        elif url.startswith(("data:", "blob:")) or url.startswith(tuple(self.allowed)):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, message) -> None:
        if message.type == "error" and not IGNORED_CONSOLE.search(message.text):
            self.errors.append(f"console: {message.text}")

    def check(self) -> None:
        assert self.blocked == [], f"the page tried to reach the network: {self.blocked}"
        errors = [error for error in self.errors if self.ours(error)]
        assert errors == [], "\n".join(errors)


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (git-ignored): screenshots of failures, and what tests report."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.jaxviz_failed = report.failed
    return report


@pytest.fixture
def guard(browser, request):
    """A fresh page behind a Guard; checked (and screenshot on failure) at the end."""
    page = browser.new_page()
    guarded = Guard(page)
    yield guarded
    if getattr(request.node, "jaxviz_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()
    guarded.check()
