"""The app's answers carry the security headers (issue #23): frame-ancestors / X-Frame-Options
against framing, nosniff, referrer policy. A real Streamlit server is started on a tiny page
(hand-made) the way ``python -m ui.serve`` starts it, and its HTTP answers are read."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import settings
from ui.security_headers import HEADERS, SecurityHeaders


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("entetes")
    page = folder / "page.py"
    page.write_text("import streamlit as st\nst.write('page de test (fait main)')\n")
    port = _free_port()
    code = ("import sys\nfrom ui.security_headers import install\nassert install()\n"
            "from streamlit.web import cli\n"
            f"sys.argv = ['streamlit', 'run', {str(page)!r}, '--server.port', '{port}', "
            "'--server.headless', 'true', '--browser.gatherUsageStats', 'false']\n"
            "cli.main(prog_name='streamlit')\n")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=settings.PROJECT_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stderr.read().decode(errors="replace"))
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/page_inexistante"])
def test_every_answer_carries_the_security_headers(server, path):
    try:
        answer = urllib.request.urlopen(server + path, timeout=10)
        headers = answer.headers
    except urllib.error.HTTPError as error:  # a 404 must carry them too
        headers = error.headers
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (path, name, dict(headers))
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]


def test_a_header_the_app_set_itself_is_kept():
    import asyncio

    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-frame-options", b"DENY")]})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    asyncio.run(SecurityHeaders(app)({"type": "http"}, None, send))
    headers = sent[0]["headers"]
    assert headers.count((b"x-frame-options", b"DENY")) == 1
    assert not [h for h in headers if h == (b"x-frame-options", b"SAMEORIGIN")]
    assert (b"x-content-type-options", b"nosniff") in headers


def test_the_deployment_guide_gives_the_headers_to_the_reverse_proxy():
    readme = (settings.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Déploiement partagé", 1)[1].split("\n## ", 1)[0]
    for name, value in HEADERS.items():
        assert name in section and value in section, name
