"""The shared HTTP session: retries, Retry-After, timeouts, rate limits and the API cache.

Fault injection runs against a scripted HTTP server on 127.0.0.1 (the only address the test
suite may reach), so that urllib3's real retry logic and real socket timeouts are exercised.
Sleeps of the retry policy are recorded instead of slept: no assertion depends on time.
"""

from __future__ import annotations

import json
import threading
import time
import types
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connectors import http

Step = Callable[[BaseHTTPRequestHandler], None]


def reply(status: int, body: bytes | str = b"", headers: dict[str, str] | None = None) -> Step:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        sent = {"Content-Length": str(len(data)), "Content-Type": "application/json"}
        sent.update(headers or {})
        for key, value in sent.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    return step


class ScriptedServer:
    """Answers requests with the next scripted step; records what it received."""

    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # name imposed by http.server
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                step = outer.script.pop(0) if outer.script else reply(599, "script vide")
                step(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stall(self) -> Step:
        """Send nothing until the test ends (the client's read timeout fires)."""

        def step(handler: BaseHTTPRequestHandler) -> None:
            self.release.wait(10)
            handler.close_connection = True

        return step

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record urllib3's retry sleeps instead of sleeping."""
    recorded: list[float] = []
    fake_time = types.SimpleNamespace(sleep=recorded.append, time=time.time)
    monkeypatch.setattr("urllib3.util.retry.time", fake_time)
    return recorded


def plain(**kwargs) -> requests.Session:
    kwargs.setdefault("rate_limits", {})
    return http.api_session(cache=False, **kwargs)


def test_500_then_200_is_retried(server, sleeps):
    server.script = [reply(500, "panne"), reply(503, "panne"), reply(200, '{"ok": true}')]
    session = plain(retries=3, backoff=0.5)
    response = session.get(f"{server.url}/data")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert len(server.requests) == 3
    # urllib3 retries at once after the first failure, then waits backoff * 2**(n-1).
    assert sleeps == [1.0]


def test_backoff_grows_exponentially(server, sleeps):
    server.script = [reply(502)] * 4 + [reply(200, "{}")]
    session = plain(retries=4, backoff=1.0)
    assert session.get(f"{server.url}/x").status_code == 200
    assert sleeps == [2.0, 4.0, 8.0]  # doubles at each consecutive failure


def test_429_honours_retry_after(server, sleeps):
    server.script = [reply(429, "trop vite", {"Retry-After": "7"}), reply(200, '{"n": 1}')]
    session = plain(retries=2, backoff=0)
    response = session.get(f"{server.url}/search")
    assert response.json() == {"n": 1}
    assert sleeps == [7.0]  # the server's delay, not our backoff (0)
    assert len(server.requests) == 2


def test_retries_exhausted_gives_french_error(server, sleeps):
    server.script = [reply(503, "maintenance")] * 3
    session = plain(retries=2, backoff=0)
    with pytest.raises(http.HttpError) as caught:
        http.get_json(session, f"{server.url}/data/DS_X", what="le jeu DS_X")
    message = str(caught.value)
    assert "Impossible d'obtenir le jeu DS_X" in message
    assert "erreur du serveur (503)" in message
    assert caught.value.status == 503
    assert len(server.requests) == 3  # first try + 2 retries


def test_read_timeout_is_retried(server, sleeps):
    server.script = [server.stall(), reply(200, '{"ok": 1}')]
    session = plain(retries=2, backoff=0, timeout=(2.0, 0.3))
    assert http.get_json(session, f"{server.url}/lent", what="x") == {"ok": 1}
    assert len(server.requests) == 2


def test_timeout_everywhere_gives_french_error(server, sleeps):
    server.script = [server.stall(), server.stall()]
    session = plain(retries=1, backoff=0, timeout=(2.0, 0.2))
    with pytest.raises(http.HttpError) as caught:
        http.get_json(session, f"{server.url}/lent", what="les communes du 34")
    assert "Impossible d'obtenir les communes du 34" in str(caught.value)
    assert len(server.requests) == 2


def test_invalid_json_gives_french_error(server):
    server.script = [reply(200, '{"observations": [')]
    session = plain(retries=0)
    with pytest.raises(http.HttpError) as caught:
        http.get_json(session, f"{server.url}/data", what="le jeu DS_Y")
    assert "JSON reçu" in str(caught.value) and "invalide" in str(caught.value)


def test_404_uses_the_given_message(server):
    server.script = [reply(404, "{}")]
    with pytest.raises(http.HttpError, match="Département « 99 » introuvable"):
        http.get_json(plain(retries=0), f"{server.url}/d/99", what="x",
                      not_found="Département « 99 » introuvable")


def test_default_timeout_is_set_on_every_request(monkeypatch):
    seen = {}

    def fake_send(self, request, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    session = plain(timeout=(3.0, 9.0))
    session.get("https://example.invalid/x")
    assert seen["timeout"] == (3.0, 9.0)
    session.get("https://example.invalid/x", timeout=1.5)
    assert seen["timeout"] == 1.5


def test_rate_limited_hosts_use_their_own_limiter(server, sleeps):
    limits = {"127.0.0.1:" + server.url.rsplit(":", 1)[1]: {"per_second": 1000}}
    session = http.api_session(cache=False, rate_limits=limits, retries=0)
    limited = session.get_adapter(f"{server.url}/a")
    assert isinstance(limited, http.RateLimitedAdapter)
    assert not isinstance(session.get_adapter("https://example.org/a"), http.RateLimitedAdapter)
    acquired = []
    original = limited.limiter.try_acquire

    def counting(*args, **kwargs):
        acquired.append(args[0] if args else kwargs.get("name"))
        return original(*args, **kwargs)

    limited.limiter.try_acquire = counting
    server.script = [reply(200, "{}"), reply(200, "{}")]
    session.get(f"{server.url}/a")
    session.get(f"{server.url}/b")
    assert len(acquired) == 2  # one token per request to that host


def test_default_rate_limits_cover_the_apis():
    session = http.api_session(cache=False)
    for url in (
        "https://data.geopf.fr/geocodage/search",
        "https://api.insee.fr/melodi/data/DS_X",
        "https://geo.api.gouv.fr/departements/34/communes",
    ):
        assert isinstance(session.get_adapter(url), http.RateLimitedAdapter), url
    assert http.RATE_LIMITS["data.geopf.fr"] == {"per_second": 50}
    assert http.RATE_LIMITS["api.insee.fr"] == {"per_minute": 30}


def test_cache_serves_second_call_without_request(server, tmp_path):
    server.script = [reply(200, json.dumps({"v": 1}), {"ETag": '"a1"'})]
    session = http.api_session(cache_path=tmp_path / "c.sqlite", rate_limits={}, retries=0)
    first = session.get(f"{server.url}/catalog/all")
    second = session.get(f"{server.url}/catalog/all")
    assert not getattr(first, "from_cache", False)
    assert second.from_cache and second.json() == {"v": 1}
    assert len(server.requests) == 1


def test_cache_revalidates_with_etag_after_expiry(server, tmp_path):
    server.script = [reply(200, json.dumps({"v": 1}), {"ETag": '"a1"'}), reply(304)]
    session = http.api_session(
        cache_path=tmp_path / "c.sqlite", expire_days=0, rate_limits={}, retries=0
    )
    session.get(f"{server.url}/catalog/all")
    again = session.get(f"{server.url}/catalog/all")
    assert again.status_code == 200 and again.json() == {"v": 1}
    assert len(server.requests) == 2
    assert server.requests[1]["headers"].get("If-None-Match") == '"a1"'


def test_cache_serves_stale_answer_when_api_fails(server, tmp_path, sleeps):
    server.script = [reply(200, json.dumps({"v": 1})), reply(500, "panne")]
    session = http.api_session(
        cache_path=tmp_path / "c.sqlite", expire_days=0, rate_limits={}, retries=0
    )
    session.get(f"{server.url}/data")
    stale = session.get(f"{server.url}/data")
    assert stale.json() == {"v": 1}
    assert stale.from_cache and stale.is_expired


def test_describe_exception_in_french():
    assert "délai" in http.describe_exception(requests.exceptions.ConnectTimeout())
    assert "tronquée" in http.describe_exception(requests.exceptions.ChunkedEncodingError())
    assert "injoignable" in http.describe_exception(requests.exceptions.ConnectionError("x"))
