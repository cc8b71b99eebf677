"""The throw-away OpenID Connect provider of the end-to-end tests refuses what a real one
refuses (so the browser test proves a real flow): unknown client, unregistered redirect, no
PKCE, a wrong verifier, a wrong secret, a code used twice; its id_token verifies against its
JWKS and carries the nonce. Loopback only (127.0.0.1), no browser."""

from __future__ import annotations

import re
import secrets
import urllib.parse

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from tests.oidc_provider import RunningProvider, pkce_challenge

CLIENT_ID, CLIENT_SECRET = "appli", "secret-de-test"
REDIRECT = "http://127.0.0.1:1/oauth2callback"


@pytest.fixture(scope="module")
def provider():
    running = RunningProvider()
    with running as state:
        state.add_client(CLIENT_ID, CLIENT_SECRET, REDIRECT)
        state.add_user("alice", email="alice@asso-a.test", name="Alice Martin")
        yield state


def authorize_params(verifier: str, **changes) -> dict[str, str]:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "openid email profile", "state": "etat-1", "nonce": "nonce-1",
              "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    return {**params, **changes}


def get_code(provider, verifier: str) -> str:
    page = requests.get(f"{provider.issuer}/authorize", params=authorize_params(verifier),
                        timeout=5)
    assert page.status_code == 200 and "Autoriser" in page.text
    hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    answer = requests.post(f"{provider.issuer}/authorize", data={**hidden, "username": "alice"},
                           allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    target = urllib.parse.urlsplit(answer.headers["Location"])
    query = dict(urllib.parse.parse_qsl(target.query))
    assert target._replace(query="").geturl() == REDIRECT and query["state"] == "etat-1"
    return query["code"]


def redeem(provider, code: str, verifier: str, secret: str = CLIENT_SECRET):
    return requests.post(f"{provider.issuer}/token", auth=(CLIENT_ID, secret), timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier})


def test_discovery_and_a_signed_id_token(provider):
    meta = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == provider.issuer and "S256" in meta["code_challenge_methods_supported"]
    verifier = secrets.token_urlsafe(48)
    token = redeem(provider, get_code(provider, verifier), verifier)
    assert token.status_code == 200, token.text
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=5).json())
    claims = jwt.decode(token.json()["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == provider.issuer and claims["aud"] == CLIENT_ID
    assert claims["nonce"] == "nonce-1" and claims["email"] == "alice@asso-a.test"
    assert claims["email_verified"] is True and claims["exp"] > claims["iat"]
    other = RSAKey.generate_key(2048)  # a key the provider never signed with
    with pytest.raises(BadSignatureError):
        jwt.decode(token.json()["id_token"], other, algorithms=["RS256"])


@pytest.mark.parametrize("change", [
    {"client_id": "inconnu"}, {"redirect_uri": "http://127.0.0.1:2/ailleurs"},
    {"code_challenge": ""}, {"code_challenge_method": "plain"}, {"nonce": ""},
    {"scope": "email"},
])
def test_bad_authorization_requests_are_refused(provider, change):
    answer = requests.get(f"{provider.issuer}/authorize",
                          params=authorize_params("v" * 43, **change), timeout=5)
    assert answer.status_code == 400


def test_a_code_needs_the_secret_the_verifier_and_serves_once(provider):
    verifier = secrets.token_urlsafe(48)
    code = get_code(provider, verifier)
    assert redeem(provider, code, verifier, secret="mauvais").status_code == 401
    assert redeem(provider, code, verifier).status_code == 200  # a wrong secret burns nothing
    assert redeem(provider, code, verifier).json() == {"error": "invalid_grant"}  # used once
    code = get_code(provider, verifier)
    assert redeem(provider, code, "autre-verificateur-" + "x" * 30).json() == {
        "error": "invalid_grant"}
    assert redeem(provider, code, verifier).json() == {"error": "invalid_grant"}  # burnt
