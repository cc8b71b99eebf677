"""Security headers of every HTTP answer of the app (issue #23).

Streamlit has no setting for response headers; its server is a Starlette application whose
middleware list is built by ``streamlit.web.server.starlette.starlette_app.
create_streamlit_middleware``. :func:`install` (called by the launcher ``python -m ui.serve``,
what ``make run`` and a shared deployment start) puts :class:`SecurityHeaders` first in that
list, so the answers carry:

* ``Content-Security-Policy: frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN`` — no
  other site may show the app in a frame (clickjacking of the « Compte » box or of an import);
* ``X-Content-Type-Options: nosniff`` — a file served by the app is read as what it says;
* ``Referrer-Policy: same-origin`` — a shared link's territory is not sent to other sites;
* ``Permissions-Policy`` — no camera, microphone or location.

A fuller ``Content-Security-Policy`` (scripts, styles) would break Streamlit's own page and the
maps' frames: it is not set. The reverse proxy may set the same headers (README, « Déploiement
partagé »); a plain ``streamlit run`` has none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

HEADERS: dict[str, str] = {
    "Content-Security-Policy": "frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response (not to WebSockets);
    a header the application set itself is left as it is."""

    def __init__(self, app) -> None:
        self.app = app
        self.raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in self.raw if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install() -> bool:
    """Put :class:`SecurityHeaders` first in the Streamlit server's middleware (idempotent);
    False when this Streamlit version builds its server otherwise (then only the reverse
    proxy sets the headers)."""
    try:
        from starlette.middleware import Middleware
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        return False
    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None:
        return False
    if getattr(original, "_with_security_headers", False):
        return True

    def create_streamlit_middleware():
        return [Middleware(SecurityHeaders), *original()]

    create_streamlit_middleware._with_security_headers = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = create_streamlit_middleware
    return True
