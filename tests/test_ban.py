"""BAN geocoder client, on real /search and /reverse answers and a hand-made batch answer.

The real GeoCodeJSON answers are read from ``../shared/fixtures/api/ban``. The batch endpoint
is played by a mock that follows the documented contract: it reads the multipart CSV sent, and
answers the input columns followed by the ``result_*`` columns taken from the hand-made fixture
``tests/fixtures/api/ban/search_csv_reponse_fait_main.csv`` (matched on the address).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
import responses

from connectors import http
from connectors.ban import (
    BAN_URL,
    RESULT_COLUMNS,
    ROW_KEY,
    BanClient,
    BanError,
    address_key,
    best_match,
)

BATCH_FIXTURE = Path(__file__).parent / "fixtures/api/ban/search_csv_reponse_fait_main.csv"


@pytest.fixture
def ban_dir(api_fixtures) -> Path:
    return api_fixtures / "ban"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client(tmp_path) -> BanClient:
    session = http.api_session(cache=False, retries=1, backoff=0, rate_limits={})
    return BanClient(session, cache_path=tmp_path / "ban.sqlite", chunk_rows=2)


def load(ban_dir: Path, name: str) -> dict:
    return json.loads((ban_dir / name).read_text(encoding="utf-8"))


def sent_params(mocked) -> dict[str, list[str]]:
    return parse_qs(urlsplit(mocked.calls[-1].request.url).query)


# -- /search and /reverse on real answers ---------------------------------------------------------
def test_search_parses_real_answer(mocked, client, ban_dir):
    payload = load(ban_dir, "ban_data_gouv_fr_rue_yves_toudic.json")
    mocked.get(f"{BAN_URL}/search", json=payload)
    results = client.search("13 rue yves toudic 75010 Paris", postcode="75010", limit=3)
    feature = payload["features"][0]
    assert len(results) == len(payload["features"])
    top = results[0]
    assert top.label == feature["properties"]["label"]
    assert (top.lon, top.lat) == tuple(feature["geometry"]["coordinates"])
    assert top.citycode == "75110" and isinstance(top.citycode, str)
    assert top.housenumber == "13" and top.type == "housenumber"
    assert sent_params(mocked) == {
        "q": ["13 rue yves toudic 75010 Paris"], "postcode": ["75010"], "limit": ["3"]
    }


def test_search_returns_every_candidate_with_scores(mocked, client, ban_dir):
    payload = load(ban_dir, "ban_data_gouv_fr_paris.json")
    mocked.get(f"{BAN_URL}/search", json=payload)
    results = client.search("Paris", type="municipality", citycode="75056")
    assert [r.id for r in results] == [f["properties"]["id"] for f in payload["features"]]
    assert [r.score for r in results] == [float(f["properties"]["score"]) for f in payload["features"]]
    assert best_match(results).citycode == "75056"
    assert best_match(results, min_score=1.01) is None
    assert sent_params(mocked)["type"] == ["municipality"]
    assert sent_params(mocked)["citycode"] == ["75056"]


def test_search_without_result(mocked, client, ban_dir):
    mocked.get(f"{BAN_URL}/search", json=load(ban_dir, "ban_data_gouv_fr_no_results.json"))
    assert client.search("oozpuip") == []


def test_reverse_real_answers(mocked, client, ban_dir):
    payload = load(ban_dir, "ban_data_gouv_fr_reverse.json")
    mocked.get(f"{BAN_URL}/reverse", json=payload)
    [found] = client.reverse(2.3644, 48.7706)
    assert found.citycode == "94021" and found.distance == payload["features"][0]["properties"]["distance"]
    assert sent_params(mocked) == {"lon": ["2.3644"], "lat": ["48.7706"]}
    mocked.replace(responses.GET, f"{BAN_URL}/reverse",
                   json=load(ban_dir, "ban_data_gouv_fr_no_reverse_results.json"))
    assert client.reverse(0.0, 0.0) == []


@pytest.mark.parametrize("query", ["", "  ", "ab", "-- rue"])
def test_invalid_query_is_refused_in_french(client, query):
    with pytest.raises(BanError, match="Adresse à géocoder invalide"):
        client.search(query)


def test_invalid_type_and_point(client):
    with pytest.raises(BanError, match="Type de résultat BAN inconnu"):
        client.search("rue Malus", type="commune")
    with pytest.raises(BanError, match="Coordonnées invalides"):
        client.reverse(200, 48)


def test_server_error_is_reported(mocked, client):
    mocked.get(f"{BAN_URL}/search", status=503)
    with pytest.raises(http.HttpError, match="erreur du serveur"):
        client.search("17 rue Malus Lille")


# -- /search/csv ----------------------------------------------------------------------------------
def parse_multipart(request: requests.PreparedRequest) -> tuple[list[tuple[str, str]], bytes]:
    header = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + request.body)
    fields, data = [], b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            data = payload
        else:
            fields.append((name, payload.decode()))
    return fields, data


class BatchService:
    """Plays /search/csv: echoes the input rows and appends the fixture's result columns."""

    def __init__(self) -> None:
        reference = pd.read_csv(BATCH_FIXTURE, dtype=str, keep_default_na=False)
        self.results = {address_key([a]): row for a, row in zip(
            reference["adresse"], reference[list(RESULT_COLUMNS)].to_dict("records"), strict=True
        )}
        self.batches: list[pd.DataFrame] = []
        self.forms: list[list[tuple[str, str]]] = []
        self.fail_after: int | None = None  # answer 503 once this many batches were served

    def __call__(self, request):
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            return 503, {}, "maintenance"
        fields, data = parse_multipart(request)
        rows = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        self.batches.append(rows)
        self.forms.append(fields)
        empty = dict.fromkeys(RESULT_COLUMNS, "") | {"result_status": "not-found"}
        appended = pd.DataFrame(
            [self.results.get(address_key([a]), empty) for a in rows["adresse"]],
            columns=list(RESULT_COLUMNS),
        )
        answer = pd.concat([rows, appended], axis=1)
        return 200, {"Content-Type": "text/csv; charset=utf-8"}, answer.to_csv(index=False)


@pytest.fixture
def batch(mocked) -> BatchService:
    service = BatchService()
    mocked.add_callback(responses.POST, f"{BAN_URL}/search/csv", callback=service)
    return service


def operators() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nom": ["Asso A", "Asso B", "Asso C", "Asso D", "Asso E", "Asso F"],
            "adresse": ["17 rue Malus", "13 rue Yves Toudic", "17 Rue  MALUS", None,
                        "oozpuip", "1 place de la Mairie"],
            "code_postal": ["59000", "75010", "59000", None, "", "20000"],
            "ville": ["Lille", "Paris", "Lille", "  ", "", "Ajaccio"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_geocode_csv_returns_input_rows_with_result_columns(client, batch):
    frame = operators()
    out = client.geocode_csv(frame, ["adresse", "code_postal", "ville"])
    assert list(out.columns) == [*frame.columns, *RESULT_COLUMNS]
    assert out.index.tolist() == frame.index.tolist()
    pd.testing.assert_frame_equal(out[frame.columns], frame)
    assert out["result_status"].tolist() == ["ok", "ok", "ok", "skipped", "not-found", "ok"]
    expected = pd.read_csv(BATCH_FIXTURE, dtype=str, keep_default_na=False).set_index("adresse")
    malus = expected.loc["17 rue Malus"]
    assert out.loc[10, "latitude"] == float(malus["latitude"])
    assert out.loc[10, "result_id"] == malus["result_id"]
    assert out.loc[15, "result_citycode"] == "2A004"  # codes stay strings
    assert out["latitude"].dtype == float and pd.isna(out.loc[14, "latitude"])
    # Same address written differently: geocoded once, same answer.
    assert out.loc[12, "result_label"] == out.loc[10, "result_label"]


def test_geocode_csv_sends_each_address_once_in_chunks(client, batch):
    client.geocode_csv(operators(), ["adresse", "code_postal", "ville"])
    sent = pd.concat(batch.batches)
    assert len(sent) == 4  # 6 rows - 1 blank - 1 duplicate
    assert [len(b) for b in batch.batches] == [2, 2]  # chunk_rows=2
    assert list(batch.batches[0].columns) == [ROW_KEY, "adresse", "code_postal", "ville"]
    assert batch.forms[0] == [("columns", "adresse"), ("columns", "code_postal"),
                              ("columns", "ville")]


def test_geocode_csv_passes_citycode_column(client, batch):
    frame = operators().assign(code_insee=["59350", "75110", "59350", "75101", "", "2A004"])
    client.geocode_csv(frame, ["adresse", "ville"], citycode_column="code_insee")
    assert ("citycode", "code_insee") in batch.forms[0]
    assert "2A004" in pd.concat(batch.batches)["code_insee"].tolist()


def test_geocoded_addresses_are_cached(client, batch, tmp_path):
    client.geocode_csv(operators(), ["adresse", "code_postal", "ville"])
    calls = len(batch.batches)
    again = client.geocode_csv(operators(), ["adresse", "code_postal", "ville"])
    # Only the address that was not found is asked again.
    assert len(batch.batches) == calls + 1
    assert batch.batches[-1]["adresse"].tolist() == ["oozpuip"]
    assert again.loc[11, "result_id"] == "ADRNIVX_0000000270748760"
    fresh = BanClient(client.session, cache_path=tmp_path / "ban.sqlite")
    fresh.geocode_csv(operators().iloc[:2], ["adresse", "code_postal", "ville"])
    assert fresh.requests_sent == 0  # persisted on disk


def test_missing_column_is_named(client):
    with pytest.raises(BanError, match=r"colonne\(s\) absente\(s\) du tableau : commune"):
        client.geocode_csv(operators(), ["adresse", "commune"])


def test_failed_chunk_keeps_earlier_chunks_cached(client, batch):
    batch.fail_after = 1
    with pytest.raises(BanError, match=r"Géocodage par lot BAN refusé.*relancez plus tard"):
        client.geocode_csv(operators(), ["adresse", "code_postal", "ville"])
    assert len(client.cache) == 2  # the first chunk's two addresses
