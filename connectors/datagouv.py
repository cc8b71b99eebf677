"""data.gouv.fr API v1: dataset metadata and the current resource of a dataset.

Dated file paths on data.gouv.fr break at every republication; the catalogue therefore names a
dataset (slug or id) and a regular expression on the resource title, and the current resource is
resolved here, at download time, from ``GET /api/1/datasets/{slug_or_id}/``. The stable
``latest`` link of the resource is preferred to its dated ``url``, and its published checksum
(``checksum: {type, value}``) is passed on so that the download can be verified.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from connectors import http

log = logging.getLogger(__name__)

API_URL = "https://www.data.gouv.fr/api/1"


class DatagouvError(RuntimeError):
    """A dataset or resource could not be resolved (French message)."""


@dataclass(frozen=True)
class Resource:
    """One resource of a data.gouv.fr dataset, as resolved."""

    id: str
    title: str
    url: str  # the address to download: ``latest`` when published, else ``url``
    dated_url: str  # the resource's own ``url`` (dated path), for the record
    format: str
    last_modified: str
    filesize: int | None
    mime: str
    checksum_type: str | None
    checksum_value: str | None
    dataset_id: str
    dataset_title: str

    @property
    def checksum(self) -> tuple[str, str] | None:
        if self.checksum_type and self.checksum_value:
            return self.checksum_type, self.checksum_value
        return None


def dataset_url(dataset: str) -> str:
    return f"{API_URL}/datasets/{quote(dataset, safe='')}/"


def dataset_metadata(dataset: str, session: requests.Session | None = None) -> dict[str, Any]:
    """Metadata of a dataset (slug or id), as the API v1 publishes it."""
    session = session or http.default_session()
    data = http.get_json(
        session,
        dataset_url(dataset),
        what=f"les métadonnées du jeu data.gouv.fr « {dataset} »",
        not_found=(
            f"Le jeu de données « {dataset} » est introuvable sur data.gouv.fr (404) : "
            "vérifiez son identifiant ou son slug dans catalogues/sources.yaml."
        ),
    )
    if not isinstance(data, dict) or "resources" not in data:
        raise DatagouvError(
            f"Réponse inattendue de data.gouv.fr pour « {dataset} » : pas de liste « resources »."
        )
    return data


def resource_from_metadata(
    metadata: dict[str, Any], pattern: str, file_format: str | None = None
) -> Resource:
    """Pick the latest resource whose title (or file name) matches ``pattern``.

    Parameters
    ----------
    metadata
        A dataset object of the API v1.
    pattern
        Regular expression searched in the resource title, then in the file name of its URL.
    file_format
        Keep only resources of this format (``csv``, ``zip``…), compared case-insensitively.

    Returns
    -------
    The matching resource with the most recent ``last_modified``.
    """
    name = metadata.get("slug") or metadata.get("id") or "?"
    if metadata.get("deleted"):
        raise DatagouvError(f"Le jeu data.gouv.fr « {name} » a été supprimé le {metadata['deleted']}.")
    regex = re.compile(pattern)
    candidates = []
    for raw in metadata.get("resources") or []:
        if raw.get("type") not in (None, "main", "update"):
            continue  # documentation, API, code…
        title = str(raw.get("title") or "")
        file_name = urlsplit(str(raw.get("url") or "")).path.rsplit("/", 1)[-1]
        if not (regex.search(title) or regex.search(file_name)):
            continue
        if file_format and str(raw.get("format") or "").lower() != file_format.lower():
            continue
        candidates.append(raw)
    if not candidates:
        titles = [str(r.get("title")) for r in metadata.get("resources") or []]
        listed = " ; ".join(titles[:15]) or "aucune"
        wanted = f" au format {file_format}" if file_format else ""
        raise DatagouvError(
            f"Aucune ressource{wanted} du jeu data.gouv.fr « {name} » ne correspond au motif "
            f"« {pattern} ». Ressources publiées : {listed}. Corrigez « datagouv_resource » dans "
            "catalogues/sources.yaml."
        )
    best = max(candidates, key=lambda r: str(r.get("last_modified") or r.get("created_at") or ""))
    checksum = best.get("checksum") or {}
    filesize = best.get("filesize")
    return Resource(
        id=str(best.get("id")),
        title=str(best.get("title") or ""),
        url=str(best.get("latest") or best.get("url")),
        dated_url=str(best.get("url") or ""),
        format=str(best.get("format") or ""),
        last_modified=str(best.get("last_modified") or best.get("created_at") or ""),
        filesize=int(filesize) if isinstance(filesize, (int, float)) else None,
        mime=str(best.get("mime") or ""),
        checksum_type=(checksum.get("type") or None) if isinstance(checksum, dict) else None,
        checksum_value=(checksum.get("value") or None) if isinstance(checksum, dict) else None,
        dataset_id=str(metadata.get("id") or ""),
        dataset_title=str(metadata.get("title") or ""),
    )


def resolve_resource(
    dataset: str,
    pattern: str,
    *,
    file_format: str | None = None,
    session: requests.Session | None = None,
) -> Resource:
    """Current resource of ``dataset`` whose title matches ``pattern`` (logged with its date)."""
    resource = resource_from_metadata(dataset_metadata(dataset, session), pattern, file_format)
    log.info(
        "data.gouv.fr « %s » : ressource %s « %s » du %s (%s)",
        dataset, resource.id, resource.title, resource.last_modified, resource.url,
    )
    return resource
