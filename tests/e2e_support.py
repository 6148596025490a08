"""What the browser tests share: the demo served on loopback, Chromium, watched pages."""

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from extensions import db

IN_CI = os.environ.get("CI") == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS", Path(__file__).parent / "e2e" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@contextmanager
def demo_served(app):
    """Serve the app with the demo chain loaded on 127.0.0.1; yield its base URL."""
    from models.demo.seed import seed_demo

    seed_demo()
    db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def require_chromium() -> None:
    """Skip without the system Chromium (fail in CI, where it must be installed)."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")


def launch(playwright):
    """Start a headless Chromium from the system package (never a downloaded one)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


class Watched:
    """A page whose console errors and CSP violations are collected."""

    def __init__(self, page, expected: tuple[str, ...] = ()):
        self.page = page
        # Console lines to let pass: refusals answer 409/422 on purpose, and Chromium logs
        # every 4xx as a failed resource.
        self.expected = expected
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message):
        text = message.text
        if any(status in text for status in self.expected):
            return
        if message.type in ("error", "warning") or "Content Security Policy" in text:
            self.problems.append(f"{message.type}: {text}")

    def shot(self, name: str, full: bool = True) -> Path:
        """Save a screenshot to look at (full page unless told otherwise)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        return path


def in_own_chromium(scenario, *args, expected: tuple[str, ...] = ()) -> None:
    """Run scenario(open_page, *args) in a Chromium on a thread of its own, then check it."""
    # Playwright's sync API allows one instance per thread, and the front-door tests keep
    # theirs open for the whole session; a thread of our own never meets it.
    require_chromium()
    from playwright.sync_api import sync_playwright

    failures: list[BaseException] = []
    watched: list[Watched] = []

    def run():
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)

                def open_page(width: int, height: int) -> Watched:
                    context = browser.new_context(viewport={"width": width, "height": height})
                    watched.append(Watched(context.new_page(), expected))
                    return watched[-1]

                try:
                    scenario(open_page, *args)
                finally:
                    browser.close()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive(), "the browser scenario hung"
    if failures:
        raise failures[0]
    problems = [p for w in watched for p in w.problems]
    assert problems == [], "\n".join(problems)
