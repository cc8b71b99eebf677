"""data.gouv.fr resolution, on hand-made metadata that follows the documented API v1 keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from connectors import datagouv, http
from connectors.datagouv import DatagouvError, resolve_resource, resource_from_metadata

FIXTURE = Path(__file__).parent / "fixtures/api/datagouv/dataset_qpv_fait_main.json"
SLUG = "quartiers-prioritaires-de-la-politique-de-la-ville-qpv"


@pytest.fixture
def metadata() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture
def session():
    return http.api_session(cache=False, retries=0, rate_limits={})


def newest(resources: list[dict], **keep) -> dict:
    chosen = [r for r in resources if all(r.get(k) == v for k, v in keep.items())]
    return max(chosen, key=lambda r: r["last_modified"])


def test_latest_matching_resource_is_chosen(metadata):
    resource = resource_from_metadata(metadata, r"QP2024.*WGS84", "zip")
    expected = newest(metadata["resources"], format="zip", type="main")
    assert resource.id == expected["id"]
    assert resource.url == expected["latest"]  # the stable link, not the dated path
    assert resource.dated_url == expected["url"]
    assert resource.checksum == (expected["checksum"]["type"], expected["checksum"]["value"])
    assert resource.filesize == expected["filesize"]
    assert resource.dataset_id == metadata["id"]


def test_documentation_resources_are_ignored(metadata):
    # The newest resource mentioning QP2024 is the documentation PDF: never a data file.
    resource = resource_from_metadata(metadata, r"QP2024")
    assert resource.format == "zip"


def test_pattern_also_matches_the_file_name(metadata):
    resource = resource_from_metadata(metadata, r"listeqp2024-cog2024\.csv$", "CSV")
    assert resource.title == "listeqp2024-cog2024.csv"
    assert resource.checksum is None


def test_latest_falls_back_to_url(metadata):
    for raw in metadata["resources"]:
        raw.pop("latest")
    resource = resource_from_metadata(metadata, r"listeqp")
    assert resource.url == resource.dated_url


def test_no_match_lists_the_published_resources(metadata):
    with pytest.raises(DatagouvError) as caught:
        resource_from_metadata(metadata, r"QP2030", "geojson")
    message = str(caught.value)
    assert "au format geojson" in message and "« QP2030 »" in message
    assert "listeqp2024-cog2024.csv" in message
    assert "catalogues/sources.yaml" in message


def test_deleted_dataset_is_refused(metadata):
    metadata["deleted"] = "2026-02-01T00:00:00+00:00"
    with pytest.raises(DatagouvError, match="a été supprimé"):
        resource_from_metadata(metadata, r"QP2024")


def test_resolve_through_the_api(metadata, session, caplog):
    with responses.RequestsMock() as mocked:
        mocked.get(f"{datagouv.API_URL}/datasets/{SLUG}/", json=metadata)
        with caplog.at_level("INFO", logger="connectors.datagouv"):
            resource = resolve_resource(SLUG, r"QP2024.*WGS84", file_format="zip", session=session)
    assert resource.id in caplog.text and resource.last_modified in caplog.text


def test_unknown_dataset_is_named(session):
    with responses.RequestsMock() as mocked:
        mocked.get(f"{datagouv.API_URL}/datasets/jeu-absent/", status=404, json={"message": "Not found"})
        with pytest.raises(http.HttpError, match=r"« jeu-absent » est introuvable sur data\.gouv\.fr"):
            resolve_resource("jeu-absent", r".", session=session)


def test_invalid_json_is_a_clear_error(session):
    with responses.RequestsMock() as mocked:
        mocked.get(f"{datagouv.API_URL}/datasets/{SLUG}/", body="{\"id\": ")
        with pytest.raises(http.HttpError, match=r"JSON reçu de www\.data\.gouv\.fr est invalide"):
            resolve_resource(SLUG, r".", session=session)
