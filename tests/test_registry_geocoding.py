"""Geocoding of sites: real BAN answers, a hand-made CSV batch answer, cache, offline fallback.

The real /search answers recorded in ``../shared/fixtures/api/ban/`` stand behind a fake batch
geocoder (one answer per address); ``tests/fixtures/registry/ban_lot_reponse_fait_main.csv`` is a
hand-made /search/csv answer following the documented columns (only its « 17 rue Malus » row
holds real values).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from operators.geocoding import MemoryCache
from operators.importer import AUTO, import_file, prepare_import
from operators.repository import Registry
from operators.schema import GEO_COMMUNE, normalize_text
from tests.account_support import ADMIN

FIXTURES = Path(__file__).parent / "fixtures" / "registry"
BATCH_ANSWER = FIXTURES / "ban_lot_reponse_fait_main.csv"
RESULT_COLUMNS = [
    "latitude", "longitude", "result_label", "result_score", "result_score_next", "result_type",
    "result_id", "result_housenumber", "result_name", "result_street", "result_postcode",
    "result_city", "result_context", "result_citycode", "result_oldcitycode", "result_oldcity",
    "result_district", "result_status",
]


class RecordedSearchBan:
    """A batch geocoder answering each row with a recorded /search answer (real responses)."""

    def __init__(self, folder: Path, answers: dict[str, str]) -> None:
        self.responses = {
            normalize_text(query): json.loads((folder / file).read_text(encoding="utf-8"))
            for query, file in answers.items()
        }
        self.calls: list[pd.DataFrame] = []

    def geocode_csv(self, frame, address_columns, citycode_column=None, postcode_column=None):
        self.calls.append(frame.copy())
        rows = []
        for record in frame.to_dict("records"):
            query = " ".join(str(record[c]) for c in address_columns if record[c])
            answer = self.responses.get(normalize_text(query))
            features = (answer or {}).get("features") or []
            if not features:
                rows.append({**record, "result_status": "error"})
                continue
            best = features[0]
            props = best["properties"]
            lon, lat = best["geometry"]["coordinates"]
            rows.append({
                **record, "latitude": lat, "longitude": lon, "result_label": props["label"],
                "result_score": props["score"], "result_type": props["type"],
                "result_id": props["id"], "result_citycode": props["citycode"],
                "result_postcode": props.get("postcode"), "result_city": props.get("city"),
                "result_context": props.get("context"), "result_status": "ok",
            })
        return pd.DataFrame(rows).reindex(columns=[*frame.columns, *RESULT_COLUMNS])


class BatchAnswerBan:
    """A batch geocoder replaying the hand-made /search/csv answer, matched on the address."""

    def __init__(self, path: Path) -> None:
        self.answer = pd.read_csv(path, dtype=str, keep_default_na=False)

    def __call__(self, frame, address_columns, citycode_column=None, postcode_column=None):
        by_address = self.answer.set_index("adresse")
        rows = []
        for record in frame.to_dict("records"):
            if record["adresse"] in by_address.index:
                found = by_address.loc[record["adresse"]]
                rows.append({**record, **{c: found[c] for c in RESULT_COLUMNS}})
            else:
                rows.append({**record, "result_status": "skipped"})
        out = pd.DataFrame(rows).reindex(columns=[*frame.columns, *RESULT_COLUMNS])
        for column in ("latitude", "longitude", "result_score"):
            out[column] = pd.to_numeric(out[column], errors="coerce")
        return out


class UnreachableBan:
    """A geocoder whose host cannot be reached (the sockets are blocked in tests)."""

    def geocode_csv(self, frame, address_columns, citycode_column=None, postcode_column=None):
        requests.post("https://data.geopf.fr/geocodage/search/csv", timeout=1)
        raise AssertionError("the network should be blocked in tests")


@pytest.fixture
def recorded_ban(api_fixtures) -> RecordedSearchBan:
    folder = api_fixtures / "ban"
    if not folder.exists():
        pytest.skip("../shared/fixtures/api/ban absent : réponses BAN enregistrées indisponibles")
    return RecordedSearchBan(folder, {
        "13 rue yves toudic 75010 Paris": "ban_data_gouv_fr_rue_yves_toudic.json",
        "Montpellier": "ban_data_gouv_fr_montpellier.json",
        "oozpuip": "ban_data_gouv_fr_no_results.json",
    })


def csv_bytes(rows: list[str]) -> bytes:
    header = "Opérateur;Nom;Adresse;CP;Code INSEE;Commune;Type;Nb logements"
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def test_real_ban_answer_places_the_site_and_carries_the_arrondissement(store, recorded_ban):
    data = csv_bytes([
        "Asso;PF Toudic;13 rue Yves Toudic;75010;75056;Paris;Pension de famille;20",
    ])
    prepared = prepare_import(data, "paris.csv", geocoder=recorded_ban, cache=MemoryCache())
    site = prepared.sites.iloc[0]
    # The BAN answers with the arrondissement's code (75110): carried onto Paris (75056).
    assert site["commune_code"] == "75056"
    assert site["geocode_method"] == "ban"
    assert (site["lon"], site["lat"]) == (2.363473, 48.870131)
    assert site["geocode_score"] == pytest.approx(0.9437454545454544)
    assert site["geocode_label"] == "13 Rue Yves Toudic 75010 Paris"
    batch = recorded_ban.calls[0]
    # No citycode filter for a commune the BAN splits into arrondissements.
    assert batch["code_insee"].tolist() == [""]


def test_ban_answer_in_another_commune_or_empty_falls_back_to_the_commune(store, recorded_ban):
    data = csv_bytes([
        "Asso;Loin;Montpellier;;59350;;Résidence sociale;20",
        "Asso;Introuvable;oozpuip;;23096;Guéret;Résidence sociale;5",
    ])
    prepared = prepare_import(data, "loin.csv", geocoder=recorded_ban)
    sites = prepared.sites.set_index("name")
    assert sites.loc["Loin", "geocode_method"] == "point_commune"
    assert "géocodage BAN écarté : résultat dans une autre commune (34172)" in sites.loc[
        "Loin", "flags"
    ]
    assert sites.loc["Introuvable", "geocode_method"] == "point_commune"
    assert "adresse non trouvée par la BAN" in sites.loc["Introuvable", "flags"]
    communes = store.read("communes", columns=["code", "rep_lon", "rep_lat"]).set_index("code")
    assert sites.loc["Loin", "lon"] == communes.loc["59350", "rep_lon"]
    assert sites.loc["Introuvable", "lat"] == communes.loc["23096", "rep_lat"]


def test_hand_made_batch_answer_scores_status_and_old_citycodes(store):
    data = csv_bytes([
        "Asso;Malus;17 rue Malus;59000;59350;Lille;Résidence sociale;20",
        "Asso;Perdu;1 chemin perdu;23000;23096;Guéret;Résidence sociale;5",
        "Asso;Lomme;5 avenue de Dunkerque;59160;59350;Lomme;Résidence sociale;7",
        "Asso;Gare;2 place de la Gare;07000;07186;Privas;Résidence sociale;9",
    ])
    prepared = prepare_import(data, "lot.csv", geocoder=BatchAnswerBan(BATCH_ANSWER))
    sites = prepared.sites.set_index("name")
    assert sites.loc["Malus", ["lon", "lat"]].tolist() == [3.067372, 50.627078]
    assert sites.loc["Malus", "geocode_method"] == "ban"
    assert sites.loc["Perdu", "geocode_method"] == "point_commune"
    assert "score 0.31 inférieur au seuil 0.50" in " ".join(sites.loc["Perdu", "flags"])
    # Result on a former commune code (Lomme, 59355) carried onto Lille: accepted.
    assert sites.loc["Lomme", "geocode_method"] == "ban"
    assert sites.loc["Lomme", "commune_code"] == "59350"
    # A row the batch answered with "error": the commune's point, flagged.
    assert sites.loc["Gare", "geocode_method"] == "point_commune"
    assert prepared.geocoding.sent_to_geocoder == 4


def test_unreachable_geocoder_falls_back_and_says_so(store, tmp_path):
    data = csv_bytes(["Asso;Malus;17 rue Malus;59000;59350;Lille;Résidence sociale;20"])
    registry = Registry(tmp_path / "r.gpkg")
    result = import_file(data, registry, name="hors_ligne.csv", geocoder=UnreachableBan(),
                         rejects_dir=tmp_path, actor=ADMIN)
    assert result.imported == 1
    assert result.outcomes["geocode_method"].tolist() == ["point_commune"]
    assert any("Géocodeur BAN injoignable" in m for m in result.messages)


def test_default_geocoder_works_offline(store, tmp_path, monkeypatch):
    monkeypatch.setattr("settings.HTTP_RETRIES", 0)  # no back-off waits against a blocked socket
    data = csv_bytes(["Asso;Malus;17 rue Malus;59000;59350;Lille;Résidence sociale;20"])
    registry = Registry(tmp_path / "r.gpkg")
    result = import_file(data, registry, name="auto.csv", geocoder=AUTO, rejects_dir=tmp_path, actor=ADMIN)
    assert result.imported == 1
    assert result.outcomes["geocode_method"].tolist() == ["point_commune"]
    assert any(
        "Géocodeur BAN injoignable" in m or "Géocodage désactivé" in m for m in result.messages
    )


def test_results_are_cached_in_the_registry_for_the_next_import(store, tmp_path, recorded_ban):
    data = csv_bytes(["Asso;PF Toudic;13 rue Yves Toudic;75010;75056;Paris;Pension de famille;20"])
    registry = Registry(tmp_path / "r.gpkg")
    first = import_file(data, registry, name="a.csv", geocoder=recorded_ban, rejects_dir=tmp_path,
                        actor=ADMIN)
    assert first.outcomes["geocode_method"].tolist() == ["ban"]
    point = registry.sites()[["lon", "lat"]].iloc[0].tolist()
    second = import_file(data, registry, name="a.csv", geocoder=UnreachableBan(),
                         rejects_dir=tmp_path, actor=ADMIN)
    assert second.outcomes["geocode_method"].tolist() == ["ban_cache"]
    assert registry.sites()[["lon", "lat"]].iloc[0].tolist() == point
    assert len(recorded_ban.calls) == 1


def test_a_plain_callable_is_accepted_as_geocoder(store):
    calls = []

    def geocoder(frame, address_columns, citycode_column=None, postcode_column=None):
        calls.append(list(address_columns))
        return BatchAnswerBan(BATCH_ANSWER)(frame, address_columns)

    data = csv_bytes(["Asso;Malus;17 rue Malus;59000;59350;Lille;Résidence sociale;20"])
    prepared = prepare_import(data, "f.csv", geocoder=geocoder)
    assert prepared.sites["geocode_method"].tolist() == ["ban"]
    assert calls == [["adresse", "code_postal", "commune"]]


def test_given_point_is_checked_against_the_stated_commune(store):
    communes = store.read("communes", columns=["code", "rep_lon", "rep_lat"]).set_index("code")
    lille = communes.loc["59350"]
    data = (
        "Opérateur;Nom;Code INSEE;Type;Nb logements;Longitude;Latitude\n"
        f"A;Dedans;59350;CHRS;5;{lille.rep_lon};{lille.rep_lat}\n"
        f"A;Inversé;59350;CHRS;5;{lille.rep_lat};{lille.rep_lon}\n"
        f"A;Ailleurs;23096;CHRS;5;{lille.rep_lon};{lille.rep_lat}\n"
        "A;Océan;23096;CHRS;5;-20.0;40.0\n"
        "A;Absurde;23096;CHRS;5;500;-400\n"
    ).encode()
    sites = prepare_import(data, "p.csv", geocoder=None).sites.set_index("name")
    assert sites["geocode_method"].to_dict() == {
        "Dedans": "fournies", "Inversé": "fournies_inversees", "Ailleurs": "point_commune",
        "Océan": "point_commune", "Absurde": "point_commune",
    }
    assert np.allclose(sites.loc["Inversé", ["lon", "lat"]].astype(float),
                       [lille.rep_lon, lille.rep_lat])
    assert "situées dans la commune 59350" in " ".join(sites.loc["Ailleurs", "flags"])
    assert "hors de France" in " ".join(sites.loc["Océan", "flags"])
    assert "ni WGS84 ni Lambert-93" in " ".join(sites.loc["Absurde", "flags"])


class TrapBan:
    """A batch geocoder standing for the BAN that records any secret it receives (the
    importer catches a geocoder's exceptions, so the test checks ``leaked`` afterwards)."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.sent: list[str] = []
        self.leaked: list[str] = []

    def geocode_csv(self, frame, address_columns, citycode_column=None, postcode_column=None):
        text = frame.to_csv()
        self.sent.append(text)
        self.leaked += [secret for secret in self.secrets if secret in text]
        return BatchAnswerBan(BATCH_ANSWER)(frame, address_columns)


def test_confidential_address_is_never_sent_to_the_geocoder(store, tmp_path):
    secret = "4 allée du Refuge Secret"
    header = "Opérateur;Nom;Adresse;CP;Code INSEE;Commune;Type;Nb places;Confidentialité"
    data = ("\n".join([
        header,
        f"Asso;Refuge;{secret};59000;59350;Lille;CHRS;12;confidentiel",
        f"Asso;Refuge bis;{secret} bis;59000;;Lille;CHRS;8;oui",
        "Asso;Malus;17 rue Malus;59000;59350;Lille;Résidence sociale;20;public",
    ]) + "\n").encode("utf-8")
    trap = TrapBan([secret])
    cache = MemoryCache()
    prepared = prepare_import(data, "secret.csv", geocoder=trap, cache=cache)
    assert trap.leaked == []
    assert len(trap.sent) == 1 and "17 rue Malus" in trap.sent[0]  # the public one went
    sites = prepared.sites.set_index("name")
    assert sites.loc["Refuge", "geocode_method"] == GEO_COMMUNE
    assert sites.loc["Refuge bis", "geocode_method"] == GEO_COMMUNE  # commune found by its name
    assert any("jamais envoyée au géocodeur" in f for f in sites.loc["Refuge", "flags"])
    assert sites.loc["Malus", "geocode_method"] == "ban"
    assert not any(normalize_text(secret) in key for key in cache.entries)  # nothing cached
    # Through the command line's own path (import_file with the default geocoder object).
    registry = Registry(tmp_path / "r.gpkg")
    trap = TrapBan([secret])
    result = import_file(data, registry, name="secret.csv", geocoder=trap, rejects_dir=tmp_path, actor=ADMIN)
    assert result.rejected == 0 and trap.leaked == [] and len(trap.sent) == 1
    registry.dispose()


def test_an_address_repeated_in_a_later_block_is_geocoded_once(store, tmp_path, recorded_ban):
    """Blocks of one row: the second Toudic row reuses the first block's BAN answer (not sent
    again, not « read from the cache »), as a whole-file import does; the cache is written
    once the import is over."""
    data = csv_bytes([
        "Asso;PF Toudic;13 rue Yves Toudic;75010;75056;Paris;Pension de famille;20",
        "Asso;Inconnu;oozpuip;;34172;Montpellier;Résidence sociale;5",
        "Asso;RS Toudic;13 rue Yves Toudic;75010;75056;Paris;Résidence sociale;12",
    ])
    results = {}
    for rows_per_block in (1, 100):
        registry = Registry(tmp_path / f"r{rows_per_block}.gpkg")
        recorded_ban.calls.clear()
        results[rows_per_block] = import_file(
            data, registry, name="lot.csv", geocoder=recorded_ban, actor=ADMIN,
            rejects_dir=tmp_path, block_rows=rows_per_block)
        sent = [len(call) for call in recorded_ban.calls]
        assert sum(sent) == 2, sent  # the Toudic address and the unknown one, once each
        assert len(registry.get_many(["13 rue yves toudic|75010|75056"])) == 1
    blocks, whole = results[1], results[100]
    assert blocks.outcomes["geocode_method"].tolist() == ["ban", "point_commune", "ban"]
    pd.testing.assert_frame_equal(blocks.outcomes, whole.outcomes)
    assert blocks.messages == whole.messages
