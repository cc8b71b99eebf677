"""One HTTP session for every connector (pynsee / cartiflette style).

What a session built here does, so that the connectors do not each re-invent it:

* default ``(connect, read)`` timeouts from :data:`settings.HTTP_TIMEOUT_S`;
* retries with exponential backoff on connection errors and on 429 / 5xx answers, honouring the
  server's ``Retry-After`` header (urllib3 :class:`~urllib3.util.Retry`);
* a per-host rate limit (:data:`RATE_LIMITS`, one dict to edit) through ``requests-ratelimiter``;
* for API calls, a disk cache keyed by URL (``requests-cache``, SQLite in
  :func:`settings.cache_dir`), expiring after :data:`settings.CACHE_EXPIRE_DAYS` days and then
  revalidated with ``ETag`` / ``Last-Modified``; when the API is unreachable the expired answer is
  served rather than nothing (``stale_if_error``).

File downloads use :func:`download_session` (same retries, timeouts and limits, no SQLite cache:
large files are streamed to disk and revalidated by :mod:`connectors.transport`).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from requests_ratelimiter import LimiterAdapter
from urllib3.util.retry import Retry

import settings

# Polite request rates per host (requests per second or per minute). The BAN allows 50 req/s
# and answers 429 above; INSEE's Melodi about 30 requests per minute without a key.
RATE_LIMITS: dict[str, dict[str, float]] = {
    "data.geopf.fr": {"per_second": 50},
    "api.insee.fr": {"per_minute": 30},
    "geo.api.gouv.fr": {"per_second": 10},
    "www.data.gouv.fr": {"per_second": 10},
    "www.insee.fr": {"per_second": 5},
}

RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST"})  # BAN /search/csv is a POST
BACKOFF_MAX_S: float = 60.0
CACHE_FILE_NAME = "http_cache.sqlite"


class HttpError(RuntimeError):
    """An HTTP call failed for good (French message naming what was asked and why)."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


def retry_policy(retries: int | None = None, backoff: float | None = None) -> Retry:
    """urllib3 retry policy: exponential backoff, 429/5xx retried, ``Retry-After`` honoured.

    ``raise_on_status=False`` returns the last answer once retries are spent, so that the caller
    can turn its status into a French message instead of a bare ``RetryError``.
    """
    total = settings.HTTP_RETRIES if retries is None else retries
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        backoff_factor=settings.HTTP_BACKOFF_S if backoff is None else backoff,
        backoff_max=BACKOFF_MAX_S,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _DefaultTimeoutMixin:
    """Give every request the project's default timeout unless the caller set one."""

    default_timeout: tuple[float, float] | float

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)  # type: ignore[misc]


class TimeoutAdapter(_DefaultTimeoutMixin, HTTPAdapter):
    """Transport adapter with retries and a default timeout."""

    def __init__(self, timeout: tuple[float, float] | float, **kwargs: Any) -> None:
        self.default_timeout = timeout
        super().__init__(**kwargs)


class RateLimitedAdapter(_DefaultTimeoutMixin, LimiterAdapter):
    """Transport adapter with retries, a default timeout and a request-rate limit."""

    def __init__(self, timeout: tuple[float, float] | float, **kwargs: Any) -> None:
        self.default_timeout = timeout
        super().__init__(**kwargs)


def _mount_adapters(
    session: requests.Session,
    retries: int | None,
    backoff: float | None,
    timeout: tuple[float, float] | float | None,
    rate_limits: dict[str, dict[str, float]] | None,
) -> requests.Session:
    timeout = settings.HTTP_TIMEOUT_S if timeout is None else timeout
    limits = RATE_LIMITS if rate_limits is None else rate_limits
    for prefix in ("https://", "http://"):
        session.mount(prefix, TimeoutAdapter(timeout, max_retries=retry_policy(retries, backoff)))
    for host, rate in limits.items():
        adapter = RateLimitedAdapter(
            timeout, max_retries=retry_policy(retries, backoff), per_host=False, **rate
        )
        for scheme in ("https", "http"):
            session.mount(f"{scheme}://{host}/", adapter)
    session.headers["User-Agent"] = settings.USER_AGENT
    session.trust_env = True  # proxies from the environment, as pynsee does
    return session


def api_session(
    *,
    cache: bool = True,
    cache_path: Path | None = None,
    expire_days: float | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    timeout: tuple[float, float] | float | None = None,
    rate_limits: dict[str, dict[str, float]] | None = None,
) -> requests.Session:
    """Session for API calls: cached on disk (GET answers with status 200 only).

    Parameters
    ----------
    cache
        False gives a plain session (same retries, timeouts and limits).
    cache_path
        SQLite file of the cache; default ``settings.cache_dir() / "http_cache.sqlite"``.
    expire_days
        Age after which a cached answer is revalidated; default ``settings.CACHE_EXPIRE_DAYS``.
    retries, backoff, timeout
        Override the settings (tests set ``backoff=0``).
    rate_limits
        ``{host: {"per_second" | "per_minute": n}}``; default :data:`RATE_LIMITS`.
    """
    if not cache:
        session = requests.Session()
    else:
        path = cache_path or (settings.cache_dir() / CACHE_FILE_NAME)
        path.parent.mkdir(parents=True, exist_ok=True)
        days = settings.CACHE_EXPIRE_DAYS if expire_days is None else expire_days
        session = requests_cache.CachedSession(
            cache_name=str(path),
            backend="sqlite",
            expire_after=timedelta(days=days),
            allowable_methods=("GET", "HEAD"),
            allowable_codes=(200,),
            stale_if_error=True,
            # INSEE answers "no-store": our own expiry decides, not the server's headers.
            cache_control=False,
        )
    return _mount_adapters(session, retries, backoff, timeout, rate_limits)


_DEFAULT_SESSION: requests.Session | None = None
_DEFAULT_LOCK = threading.Lock()


def default_session() -> requests.Session:
    """The process-wide cached API session, so that rate limits hold across clients."""
    global _DEFAULT_SESSION
    with _DEFAULT_LOCK:
        if _DEFAULT_SESSION is None:
            _DEFAULT_SESSION = api_session()
        return _DEFAULT_SESSION


def download_session(**kwargs: Any) -> requests.Session:
    """Session for file downloads: no SQLite cache (files are kept by the transport)."""
    return api_session(cache=False, **kwargs)


def describe_exception(exc: BaseException) -> str:
    """A short French reason for a network failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "délai de connexion dépassé"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "le serveur n'a pas répondu dans le délai imparti"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"erreur de certificat TLS ({exc})"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"serveur injoignable ({_short(exc)})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "téléchargement interrompu (réponse tronquée)"
    if isinstance(exc, requests.exceptions.RetryError):
        return f"trop d'échecs successifs ({_short(exc)})"
    return f"{type(exc).__name__} : {_short(exc)}"


def describe_status(response: requests.Response) -> str:
    """A short French reason for an HTTP error status."""
    status = response.status_code
    labels = {
        400: "requête refusée (400)",
        401: "authentification requise (401)",
        403: "accès interdit (403)",
        404: "adresse introuvable (404)",
        410: "ressource supprimée (410)",
        429: "trop de requêtes, le serveur limite le débit (429)",
    }
    if status in labels:
        return labels[status]
    if status >= 500:
        return f"erreur du serveur ({status})"
    return f"réponse inattendue ({status})"


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def get_json(
    session: requests.Session,
    url: str,
    *,
    what: str,
    params: dict[str, Any] | None = None,
    not_found: str | None = None,
) -> Any:
    """GET ``url`` and decode JSON, raising :class:`HttpError` with a French message.

    Parameters
    ----------
    what
        What is asked, in French, for the message (« le jeu INSEE DS_X »).
    not_found
        Message used on a 404 instead of the generic one.
    """
    try:
        response = session.get(url, params=params)
    except requests.exceptions.RequestException as exc:
        raise HttpError(
            f"Impossible d'obtenir {what} : {describe_exception(exc)} ({host_of(url)}).", url=url
        ) from exc
    if response.status_code == 404 and not_found:
        raise HttpError(not_found, status=404, url=response.url)
    if not response.ok:
        raise HttpError(
            f"Impossible d'obtenir {what} : {describe_status(response)} ({response.url}).",
            status=response.status_code,
            url=response.url,
        )
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise HttpError(
            f"Réponse illisible pour {what} : le JSON reçu de {host_of(url)} est invalide "
            f"({_short(exc)}).",
            status=response.status_code,
            url=response.url,
        ) from exc


def host_of(url: str) -> str:
    return urlsplit(url).netloc
