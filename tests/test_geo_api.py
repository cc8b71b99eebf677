"""geo.api.gouv.fr client, on a hand-made answer that follows the official OpenAPI definition."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pytest
import responses
import yaml

import settings
from connectors import http
from connectors.geo_api import (
    COMMUNE_FIELDS,
    DEFAULT_FIELDS,
    GEO_API_URL,
    GeoApiError,
    communes_of_departement,
)

FIXTURE = Path(__file__).parent / "fixtures/api/geo_api/departement_2A_communes_contour_fait_main.geojson"


@pytest.fixture
def session():
    return http.api_session(cache=False, retries=0, rate_limits={})


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def answer() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fields_follow_the_openapi_definition(api_fixtures):
    spec = yaml.safe_load((api_fixtures / "geo_api/openapi_definition.yml").read_text())
    param = spec["parameters"]["communeFieldsParam"]
    assert set(param["items"]["enum"]) == COMMUNE_FIELDS
    assert tuple(param["default"]) == DEFAULT_FIELDS
    path = spec["paths"]["/departements/{code}/communes"]["get"]
    refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in path["parameters"]}
    assert {"formatParam", "communeGeometryParam"} <= refs
    assert "contour" in spec["parameters"]["communeGeometryParam"]["enum"]


def test_communes_of_departement(mocked, session, answer):
    mocked.get(f"{GEO_API_URL}/departements/2A/communes", json=answer)
    frame = communes_of_departement("2a", session=session)
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query["format"] == ["geojson"] and query["geometry"] == ["contour"]
    assert query["fields"][0].split(",") == list(DEFAULT_FIELDS)
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs.to_string() == settings.CRS_DISPLAY
    assert frame["code"].tolist() == [f["properties"]["code"] for f in answer["features"]]
    assert frame.loc[0, "code"] == "2A004" and frame.loc[0, "codeDepartement"] == "2A"
    assert frame.geometry.geom_type.tolist() == ["Polygon", "Polygon", "MultiPolygon"]
    assert frame.loc[0, "codesPostaux"] == answer["features"][0]["properties"]["codesPostaux"]
    # Population absent from the answer stays missing, never zero.
    assert frame["population"].isna().tolist() == [False, False, True]
    assert str(frame["population"].dtype) == "Int64"


def test_requested_fields_only(mocked, session, answer):
    mocked.get(f"{GEO_API_URL}/departements/2A/communes", json=answer)
    frame = communes_of_departement("2A", fields=["nom", "population"], session=session)
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query["fields"] == ["nom,population,code"]  # code is always asked
    assert list(frame.columns) == ["code", "nom", "population", "geometry"]


def test_invalid_departement_code_is_refused_before_any_call(session):
    for code in ("96", "20", "1", "977"):
        with pytest.raises(GeoApiError, match=f"Code de département invalide : « {code} »"):
            communes_of_departement(code, session=session)


def test_unknown_departement_is_a_french_error(mocked, session):
    mocked.get(f"{GEO_API_URL}/departements/976/communes", status=404, json={"code": 404})
    with pytest.raises(http.HttpError, match="Département « 976 » introuvable"):
        communes_of_departement("976", session=session)


def test_unknown_field_is_refused(session):
    with pytest.raises(GeoApiError, match=r"Champ\(s\) inconnu\(s\).*altitude"):
        communes_of_departement("34", fields=["nom", "altitude"], session=session)


def test_feature_without_code_is_reported(mocked, session, answer):
    del answer["features"][1]["properties"]["code"]
    mocked.get(f"{GEO_API_URL}/departements/2A/communes", json=answer)
    with pytest.raises(GeoApiError, match="entité n° 2 sans code"):
        communes_of_departement("2A", session=session)
