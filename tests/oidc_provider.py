"""A throw-away OpenID Connect provider for the end-to-end tests (never for production).

A real authorization-code flow, as Streamlit's ``st.login`` (Authlib) drives it:

* ``/.well-known/openid-configuration`` — the discovery document;
* ``/authorize`` — checks the client, its registered ``redirect_uri``, ``response_type=code``,
  the ``openid`` scope, ``state``, ``nonce`` and an S256 PKCE challenge, then shows a small
  login form (a person is chosen and approved in the browser, as at a real provider) and
  redirects back with a one-time code;
* ``/token`` — authenticates the client (HTTP Basic or form secret), redeems the code once,
  checks the ``redirect_uri`` and the PKCE verifier, and returns an RS256 ``id_token`` (signed
  with a key generated at start, ``joserfc``) carrying the ``nonce`` and ``at_hash``;
* ``/jwks`` — the public key; ``/userinfo`` — the claims for a bearer access token;
* ``/logout`` — the end-session endpoint: records the logout and goes back to
  ``post_logout_redirect_uri``.

It listens on 127.0.0.1 only, on a free port, in a daemon thread of the test process.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CODE_LIFETIME_S = 120
TOKEN_LIFETIME_S = 600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def at_hash(access_token: str) -> str:
    """The ``at_hash`` claim of an RS256 id_token (left half of the SHA-256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: set[str]


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    user: str
    scope: str
    expires: float


@dataclass
class Provider:
    """The provider's state: clients, people, pending codes and what happened (for asserts)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, client_secret, {redirect_uri})

    def add_user(self, username: str, *, email: str, name: str,
                 email_verified: bool = True) -> None:
        self.users[username] = {
            "sub": f"sub-{hashlib.sha256(username.encode()).hexdigest()[:16]}",
            "email": email, "email_verified": email_verified, "name": name,
            "preferred_username": username,
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
            "claims_supported": ["sub", "email", "email_verified", "name",
                                 "preferred_username"],
        }

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    # -- the flow ------------------------------------------------------------------------------
    def check_authorize(self, params: dict[str, str]) -> str | None:
        """An error text for a bad authorization request, None when acceptable."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return "client inconnu"
        if params.get("redirect_uri") not in client.redirect_uris:
            return "redirect_uri non enregistrée"
        if params.get("response_type") != "code":
            return "response_type doit être code"
        if "openid" not in params.get("scope", "").split():
            return "scope openid absent"
        for name in ("state", "nonce", "code_challenge"):
            if not params.get(name):
                return f"{name} absent"
        if params.get("code_challenge_method") != "S256":
            return "PKCE S256 attendu"
        return None

    def grant(self, params: dict[str, str], username: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Grant(
                client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                nonce=params["nonce"], challenge=params["code_challenge"], user=username,
                scope=params["scope"], expires=time.time() + CODE_LIFETIME_S)
            self.events.append(f"authorize {username}")
        return code

    def exchange(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """Redeem an authorization code; raises ValueError with the OAuth error code."""
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            raise ValueError("invalid_client")
        if form.get("grant_type") != "authorization_code":
            raise ValueError("unsupported_grant_type")
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # one use only
        if grant is None or grant.expires < time.time() or grant.client_id != client_id:
            raise ValueError("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise ValueError("invalid_grant")
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(pkce_challenge(verifier), grant.challenge):
            raise ValueError("invalid_grant")
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        claims = {
            **self.users[grant.user], "iss": self.issuer, "aud": client_id, "iat": now,
            "exp": now + TOKEN_LIFETIME_S, "auth_time": now, "nonce": grant.nonce,
            "at_hash": at_hash(access_token),
        }
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims,
                              self.key)
        with self.lock:
            self.access_tokens[access_token] = grant.user
            self.events.append(f"token {grant.user}")
        return {"access_token": access_token, "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S, "id_token": id_token, "scope": grant.scope}


LOGIN_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Fournisseur d'identité de test</title></head><body>
<h1>Fournisseur d'identité de test</h1>
<form method="post" action="/authorize">
{hidden}
<label>Identifiant <input name="username" autocomplete="off"></label>
<button type="submit">Autoriser</button>
</form></body></html>"""
AUTHORIZE_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method")


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet: the tests read provider.events
            pass

        def _send(self, status: int, body: bytes, kind: str,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _redirect(self, url: str) -> None:
            self._send(302, b"", "text/plain", {"Location": url})

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.metadata())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                error = provider.check_authorize(params)
                if error:
                    self._send(400, error.encode(), "text/plain; charset=utf-8")
                    return
                hidden = "\n".join(
                    f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
                    for name in AUTHORIZE_FIELDS)
                self._send(200, LOGIN_PAGE.format(hidden=hidden).encode(),
                           "text/html; charset=utf-8")
            elif url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                user = provider.access_tokens.get(token)
                if user is None:
                    self._json(401, {"error": "invalid_token"})
                else:
                    self._json(200, provider.users[user])
            elif url.path == "/logout":
                with provider.lock:
                    provider.events.append("logout")
                target = params.get("post_logout_redirect_uri", "")
                client = provider.clients.get(params.get("client_id", ""))
                if client is None or target not in client.redirect_uris:
                    self._send(400, b"post_logout_redirect_uri refusee", "text/plain")
                else:
                    self._redirect(target)
            else:
                self._send(404, b"introuvable", "text/plain")

        def do_POST(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            form = self._form()
            if url.path == "/authorize":
                error = provider.check_authorize(form)
                if error:
                    self._send(400, error.encode(), "text/plain; charset=utf-8")
                    return
                username = form.get("username", "").strip()
                if username not in provider.users:
                    self._send(403, b"personne inconnue", "text/plain")
                    return
                code = provider.grant(form, username)
                query = urllib.parse.urlencode({"code": code, "state": form["state"]})
                self._redirect(f"{form['redirect_uri']}?{query}")
            elif url.path == "/token":
                basic = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    decoded = base64.b64decode(header[6:]).decode("utf-8")
                    client_id, _, secret = decoded.partition(":")
                    basic = (urllib.parse.unquote(client_id), urllib.parse.unquote(secret))
                try:
                    self._json(200, provider.exchange(form, basic))
                except ValueError as error:
                    with provider.lock:
                        provider.events.append(f"token refusé {error}")
                    self._json(400 if str(error) != "invalid_client" else 401,
                               {"error": str(error)})
            else:
                self._send(404, b"introuvable", "text/plain")

    return Handler


class RunningProvider:
    """The provider serving on 127.0.0.1 (context manager)."""

    def __init__(self) -> None:
        self.provider = Provider()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.provider))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.provider.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def __enter__(self) -> Provider:
        self.thread.start()
        return self.provider

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def secrets_toml(provider_url: str, client_id: str, client_secret: str) -> str:
    """The ``[auth]`` section of a Streamlit ``secrets.toml`` for this provider
    (``{port}`` is filled in by Streamlit with its own port)."""
    return (
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{client_id}"\n'
        f'client_secret = "{client_secret}"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n'
    )
