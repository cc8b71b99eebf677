"""INSEE Melodi client, replaying the real recorded cassettes of ../shared/fixtures/api.

The cassettes (vcrpy-style YAML) are read with PyYAML and served through ``responses``: each
recorded request is matched on its path and its query parameters, so the client must send the
same calls as the recording (count first, then the data). Expected values are read from the
recorded bodies, not typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import responses
import yaml
from responses import matchers

from connectors import http
from connectors.melodi import MELODI_URL, MelodiClient, MelodiError, observations_to_frame


@pytest.fixture
def cassettes(api_fixtures) -> Path:
    return api_fixtures / "insee_melodi"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client() -> MelodiClient:
    return MelodiClient(http.api_session(cache=False, retries=1, backoff=0, rate_limits={}))


def interactions(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["http_interactions"]


def replay(mock: responses.RequestsMock, path: Path) -> list[dict]:
    """Serve every recorded interaction of a cassette; return the recorded JSON bodies."""
    bodies = []
    for interaction in interactions(path):
        request, answer = interaction["request"], interaction["response"]
        parts = urlsplit(request["uri"])
        headers = {k: v for k, v in answer["headers"].items() if k.lower() == "content-type"}
        body = answer["body"].get("string", "")
        mock.add(
            request["method"],
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            body=body,
            status=answer["status"],
            headers=headers,
            match=[matchers.query_string_matcher(parts.query)],
        )
        if answer["status"] == 200:
            bodies.append(json.loads(body))
    return bodies


def recorded_observations(bodies: list[dict]) -> list[dict]:
    return [obs for body in bodies if isinstance(body, dict) for obs in body["observations"]]


def test_nantes_reference_populations(mocked, client, cassettes):
    bodies = replay(mocked, cassettes / "get_data_popref_nantes.yml")
    frame = client.data("DS_POPULATIONS_REFERENCE", FREQ="A", GEO="COM-44109")
    recorded = recorded_observations(bodies)
    assert len(frame) == len(recorded) == bodies[0]["paging"]["count"]
    assert set(frame.columns) >= {
        "geo_vintage", "geo_level", "geo_code", "FREQ", "TIME_PERIOD", "POPREF_MEASURE",
        "measure", "OBS_VALUE",
    }
    assert "GEO" not in frame.columns
    assert frame["geo_code"].unique().tolist() == ["44109"]
    assert frame["geo_level"].unique().tolist() == ["COM"]
    assert frame["OBS_VALUE"].dtype == float
    by_measure = frame.set_index("POPREF_MEASURE")["OBS_VALUE"]
    for obs in recorded:
        measure = obs["dimensions"]["POPREF_MEASURE"]
        assert by_measure[measure] == obs["measures"]["OBS_VALUE_NIVEAU"]["value"]
    assert frame.attrs["title"] == "Populations de référence"
    assert "DS_POPULATIONS_REFERENCE" in frame.attrs["source"]


def test_every_commune_of_an_epci(mocked, client, cassettes):
    bodies = replay(mocked, cassettes / "get_local_data_by_com_popref.yml")
    frame = client.data("DS_POPULATIONS_REFERENCE", GEO="EPCI-244400404*COM")
    recorded = recorded_observations(bodies)
    assert len(frame) == bodies[0]["paging"]["count"] == len(recorded)
    codes = {obs["dimensions"]["GEO"].split("-", 2)[2] for obs in recorded}
    assert set(frame["geo_code"]) == codes
    assert frame["geo_code"].map(len).eq(5).all()  # strings, leading zeros kept
    assert pd.api.types.is_string_dtype(frame["geo_code"])


def test_filters_are_sent_as_recorded(mocked, client, cassettes):
    bodies = replay(mocked, cassettes / "get_local_data_filter_by_com_popref.yml")
    frame = client.data("DS_POPULATIONS_REFERENCE", GEO="EPCI-244400404*COM",
                        POPREF_MEASURE="PMUN")
    assert frame["POPREF_MEASURE"].unique().tolist() == ["PMUN"]
    assert frame["OBS_VALUE"].sum() == sum(
        obs["measures"]["OBS_VALUE_NIVEAU"]["value"] for obs in recorded_observations(bodies)
    )


def test_departement_level(mocked, client, cassettes):
    replay(mocked, cassettes / "get_local_data_filter_popref.yml")
    frame = client.data("DS_POPULATIONS_REFERENCE", GEO="DEP-69", POPREF_MEASURE="PMUN")
    assert frame[["geo_vintage", "geo_level", "geo_code"]].iloc[0].tolist() == ["2025", "DEP", "69"]


def test_empty_result_makes_a_single_call(mocked, client, cassettes):
    replay(mocked, cassettes / "get_data_popref_empty.yml")
    frame = client.data("DS_POPULATIONS_REFERENCE", TIME_PERIOD="1900", GEO="COM-44109")
    assert frame.empty and len(mocked.calls) == 1
    assert frame.attrs["count"] == 0
    assert {"geo_code", "OBS_VALUE"} <= set(frame.columns)


def test_count_of_a_whole_dataset(mocked, client, cassettes):
    bodies = replay(mocked, cassettes / "get_data_popref_over.yml")
    assert client.count("DS_POPULATIONS_REFERENCE") == bodies[0]["paging"]["count"]


def test_attributes_and_other_measures(mocked, client, cassettes):
    bodies = replay(mocked, cassettes / "get_data_obs_value_indice_prix.yml")
    frame = client.data("DS_IPC_PRINC", IND_TYPE="IX", GEO="DEP-974", TIME_PERIOD="2026-01",
                        PRODUCT_GROUP="4000")
    [obs] = recorded_observations(bodies)
    [(name, measure)] = obs["measures"].items()
    row = frame.iloc[0]
    assert row["measure"] == name and row["OBS_VALUE"] == measure["value"]
    assert row["CONF_STATUS"] == obs["attributes"]["CONF_STATUS"]
    assert row["geo_level"] == "DEP" and row["geo_code"] == "974"


def test_unknown_dataset_names_it_in_french(mocked, client, cassettes):
    replay(mocked, cassettes / "get_data_not_exist.yml")  # Melodi answers 500, not 404
    with pytest.raises(MelodiError) as caught:
        client.data("DS_NEXISTEPAS")
    assert "« DS_NEXISTEPAS »" in str(caught.value)
    assert "catalogue Melodi" in str(caught.value)
    assert caught.value.dataset == "DS_NEXISTEPAS"


def test_404_names_the_dataset(mocked, client):
    mocked.get(f"{MELODI_URL}/data/DS_ABSENT", status=404, body="")
    with pytest.raises(MelodiError, match="« DS_ABSENT » introuvable \\(404\\)"):
        client.count("DS_ABSENT")


def test_paging_next_is_followed(mocked, client, cassettes):
    """The recorded EPCI answer, cut into two pages linked by ``paging.next``."""
    recorded = interactions(cassettes / "get_local_data_by_com_popref.yml")
    count_body = recorded[0]["response"]["body"]["string"]
    full = json.loads(recorded[1]["response"]["body"]["string"])
    half = len(full["observations"]) // 2
    data_url = f"{MELODI_URL}/data/DS_POPULATIONS_REFERENCE"
    next_url = f"{data_url}?GEO=EPCI-244400404%2ACOM&idTerritoire=TRUE&maxResult=36&page=2"
    page1 = {**full, "observations": full["observations"][:half],
             "paging": {"first": "…", "next": next_url}}
    page2 = {**full, "observations": full["observations"][half:], "paging": {"first": "…"}}
    mocked.get(data_url, body=count_body, match=[matchers.query_param_matcher(
        {"GEO": "EPCI-244400404*COM", "totalCount": "TRUE", "maxResult": "0"})])
    mocked.get(data_url, json=page1, match=[matchers.query_param_matcher(
        {"GEO": "EPCI-244400404*COM", "idTerritoire": "TRUE", "maxResult": "36"})])
    mocked.get(data_url, json=page2, match=[matchers.query_param_matcher(
        {"GEO": "EPCI-244400404*COM", "idTerritoire": "TRUE", "maxResult": "36", "page": "2"})])
    frame = client.data("DS_POPULATIONS_REFERENCE", max_result=36, GEO="EPCI-244400404*COM")
    assert len(frame) == len(full["observations"])
    assert len(mocked.calls) == 3


def test_missing_value_stays_missing():
    frame = observations_to_frame([
        {"dimensions": {"GEO": "2025-COM-2A004", "TIME_PERIOD": "2021"},
         "measures": {"OBS_VALUE_NIVEAU": {"value": None}}, "attributes": {"CONF_STATUS": "C"}},
        {"dimensions": {"GEO": "2025-COM-01001", "TIME_PERIOD": "2021"},
         "measures": {"OBS_VALUE_NIVEAU": {"value": 0.0}}},
    ])
    assert np.isnan(frame.loc[0, "OBS_VALUE"]) and frame.loc[1, "OBS_VALUE"] == 0.0
    assert frame.loc[0, "geo_code"] == "2A004"
    assert pd.isna(frame.loc[1, "CONF_STATUS"])


def test_catalog(mocked, client, cassettes):
    [datasets] = replay(mocked, cassettes / "get_catalog_fr.yml")
    catalog = client.catalog()
    assert len(catalog) == len(datasets)
    row = catalog.set_index("identifier").loc["DS_FILOSOFI_CC"]
    recorded = next(d for d in datasets if d["identifier"] == "DS_FILOSOFI_CC")
    assert row["title"] == next(t["content"] for t in recorded["title"] if t["lang"] == "fr")
    assert row["num_observations"] == recorded["numObservations"]
    assert "COM" in row["spatial_levels"].split(",")
