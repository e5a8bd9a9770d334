"""The web chat page in real headless Chromium (Debian's, driven by Playwright), against a real
server on a local port."""

import os
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from advisor.engine import Advisor
from bot.server import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(starter_settings, starter_kb, tmp_path):
    advisor = Advisor(starter_settings, starter_kb, state_db=tmp_path / "state.db")
    app = create_app(starter_settings, advisor=advisor, state_db=tmp_path / "state.db")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}/", app
    server.should_exit = True
    thread.join(10)


def test_a_question_typed_in_the_browser_gets_its_answer(live_server):
    assert CHROMIUM, "Chromium is missing: `make test` installs it (apt-get install chromium)"
    from playwright.sync_api import expect, sync_playwright

    url, app = live_server
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 360, "height": 740})  # a phone-sized screen
        page.goto(url)
        question = page.get_by_label("Your question")
        question.fill("How do I control fall armyworm in maize?")
        page.get_by_role("button", name="Send").click()
        answer = page.locator("#log li.bot").first
        expect(answer).to_contain_text("Act early while caterpillars are small", timeout=20000)
        expect(page.locator("#log li.me").first).to_have_text("How do I control fall armyworm in maize?")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
        browser.close()
    store = app.state.runtime.store
    assert store.query("SELECT channel, status FROM inbox") == [("web", "done")]
    assert store.query("SELECT status FROM outbox") == [("sent",)]
