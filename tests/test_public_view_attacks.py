"""One public view everywhere: the attacks of issue #23 on the outputs built from the registry,
mounted as differential tests — every public output is built, a confidential site is added,
and the output must be byte-identical.

Hand-made sites (written in this test) in Douai (59178) and around it, in a small Creuse
commune (Beissat) and in Lozère (Sainte-Eulalie). Outputs attacked:

* the « bilan réseau » (France, a commune, a département): every table (« Qui fait quoi où
  (EPCI) », « Blancs »…), its key figures (« Sites en projet »), its notes;
* the comparison of two dated snapshots, as the command line prints it and as the app's page
  computes it (« aucune évolution », conversions paired by name);
* the presence per EPCI or département (``models.network_presence``);
* ``--interne`` of ``python -m diagnostics.network_report`` without an administrator;
* a property test (hypothesis) over random confidential sites and random territories.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics import network_report as nr
from models.network_presence import presence
from operators import confidentiality as conf
from operators import schema
from operators import snapshots as snap
from operators.accounts import ROLE_ADMIN, ROLE_OPERATOR, Accounts
from operators.repository import Registry
from operators.snapshot_cli import describe_changes

DOUAI, NEIGHBOUR = "59178", "59170"  # Douai and Dechy (same EPCI, Douaisis Agglo)
CREUSE, LOZERE = "23019", "48149"  # Beissat, Sainte-Eulalie: no other site in their EPCI
YEAR = 2024
EXTRACTED = dt.date(2025, 1, 15)
PASSWORD = "correct horse battery staple"


def site(site_id: str, commune: str, dep: str, offer_type: str = "chrs", capacity=20.0,
         level: str = schema.CONF_PUBLIC, status: str = schema.STATUS_OPEN,
         name: str | None = None, operator: str = "Asso A", publics: str = "femmes_violences",
         opening_year: int | None = 2010) -> dict:
    spec = schema.OFFER_TYPE_BY_CODE[offer_type]
    row = dict.fromkeys(schema.SITE_COLUMNS)
    row.update({
        "site_id": site_id, "operator_id": f"op-{operator}", "operator_name": operator,
        "network": "FAPIL", "source_id": site_id, "name": name or f"Site {site_id}",
        "address": f"{site_id} rue d'Essai", "commune_code": commune, "commune_name": commune,
        "dep_code": dep, "lon": np.nan, "lat": np.nan, "geocode_method": schema.GEO_COMMUNE,
        "offer_type": offer_type, "offer_family": spec.family, "capacity": float(capacity),
        "capacity_unit": spec.unit, "status": status, "confidentiality": level,
        "publics": publics, "opening_year": opening_year, "fictional": False,
    })
    return row


def base_sites() -> pd.DataFrame:
    rows = [
        site("p1", DOUAI, "59", "chu", 20, name="CHU Douai"),
        site("p2", NEIGHBOUR, "59", "pension_de_famille", 25, publics="isoles_exclusion"),
        site("p3", "59350", "59", "chrs", 40, operator="Asso B"),
        site("p4", "59350", "59", "residence_sociale", 60, operator="Asso B", publics="jeunes"),
        site("p5", "59512", "59", "chrs", 30),
        site("p6", "23096", "23", "pension_de_famille", 18, operator="Asso C"),
        site("p7", "48095", "48", "chrs", 12, level=schema.CONF_COMMUNE, operator="Asso D"),
        site("p8", "59350", "59", "chrs", 10, status=schema.STATUS_PLANNED, opening_year=None),
    ]
    return pd.DataFrame(rows)


def with_rows(frame: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame(list(rows))], ignore_index=True)


@pytest.fixture(scope="module")
def communes(store) -> pd.DataFrame:
    table = store.read("communes", columns=["code", "name", "epci_code", "dep_code"])
    return pd.DataFrame(table).reset_index(drop=True)


@pytest.fixture(scope="module")
def epci_names(store) -> dict[str, str]:
    epci = store.read("epci", columns=["code", "name"])
    return dict(zip(epci["code"], epci["name"], strict=False))


def bilan_text(report: nr.NetworkReport) -> str:
    """Everything a bilan publishes (the XLSX's sheets, the PDF's HTML), as one text."""
    parts = [report.title, report.scope, repr(report.figures), repr(report.notes)]
    for table in report.tables:
        parts.extend([table.key, table.title, table.note, table.frame.to_csv(index=False)])
    parts.append(nr.html(report))
    return "\n".join(parts)


def bilan(sites, communes, epci_names, codes=None, audience=conf.PUBLIC, changes=None,
          network=None) -> str:
    coverage = pd.DataFrame(columns=["site_id", "commune_code"])
    report = nr.build(sites, coverage, communes, network=network, territory_codes=codes,
                      territory_name="Territoire", year=YEAR, audience=audience,
                      snapshot_changes=changes, epci_names=epci_names, extracted=EXTRACTED)
    return bilan_text(report)


# -- the bilan -----------------------------------------------------------------------------------
def test_france_bilan_is_the_same_with_a_confidential_site_alone_in_its_epci(
        communes, epci_names):
    sites = base_sites()
    secret = site("s1", CREUSE, "23", "chrs", 9, level=schema.CONF_CONFIDENTIAL,
                  name="Refuge SECRET Creuse", operator="Asso SECRETE")
    before = bilan(sites, communes, epci_names)
    after = bilan(with_rows(sites, secret), communes, epci_names)
    assert after == before
    assert "SECRET" not in after
    # Its EPCI is not listed in « Qui fait quoi où (EPCI) », nor its communes in « Blancs ».
    epci = communes.set_index("code").loc[CREUSE, "epci_code"]
    assert epci not in after
    # The internal bilan does see it (the test can fail).
    assert "Asso SECRETE" in bilan(with_rows(sites, secret), communes, epci_names,
                                   audience=conf.INTERNAL)


def test_sites_en_projet_ignores_a_planned_confidential_site(communes, epci_names):
    sites = base_sites()
    planned = site("s2", DOUAI, "59", "chrs", 15, level=schema.CONF_CONFIDENTIAL,
                   status=schema.STATUS_PLANNED, opening_year=None)
    before = bilan(sites, communes, epci_names, codes=[DOUAI])
    after = bilan(with_rows(sites, planned), communes, epci_names, codes=[DOUAI])
    assert after == before
    assert "('Sites en projet', '0')" in after
    internal = bilan(with_rows(sites, planned), communes, epci_names, codes=[DOUAI],
                     audience=conf.INTERNAL)
    assert "('Sites en projet', '1')" in internal


def test_bilan_with_snapshot_changes_ignores_confidential_changes(communes, epci_names):
    """The « Évolutions » sheet: given the internal comparison, the public bilan reduces it."""
    before_sites = base_sites()
    after_sites = before_sites.copy()
    after_sites.loc[after_sites["site_id"] == "p5", "capacity"] = 45.0
    secret_before = site("s3", DOUAI, "59", "hebergement_autre", 8,
                         level=schema.CONF_CONFIDENTIAL, name="Maison")
    secret_after = {**secret_before, "status": schema.STATUS_CLOSED}
    opened = site("n1", DOUAI, "59", "pension_de_famille", 8, name="Maison")
    codes = communes.loc[communes["dep_code"] == "59", "code"].tolist()
    plain = snap.compare(snap.in_territory(before_sites, codes),
                         snap.in_territory(with_rows(after_sites, opened), codes))
    attacked = snap.compare(
        snap.in_territory(with_rows(before_sites, secret_before), codes),
        snap.in_territory(with_rows(after_sites, secret_after, opened), codes))
    assert (attacked["change"] == snap.CONVERTED).any()  # the internal view pairs them
    text = bilan(with_rows(after_sites, opened), communes, epci_names, codes=codes,
                 changes=("2023-12-31", "2024-12-31", plain))
    # The public comparison (``compare_for``, what ``from_registry`` asks for the public)
    # reduces both snapshots first: the closed confidential site is paired with nothing.
    text_attacked = bilan(with_rows(after_sites, opened), communes, epci_names, codes=codes,
                          changes=("2023-12-31", "2024-12-31",
                                   snap.compare_for(with_rows(before_sites, secret_before),
                                                    with_rows(after_sites, secret_after, opened),
                                                    codes)))
    assert text_attacked == text
    assert "\nconverti," not in text_attacked and "\ncréé," in text_attacked


# -- snapshot comparison through the registry -------------------------------------------------
def put_snapshot(registry: Registry, day: str, sites: pd.DataFrame) -> None:
    """A dated snapshot written as ``snapshots.take_snapshot`` writes one (hand-made sites)."""
    table, site_table = registry.tables[snap.SNAPSHOTS], registry.tables[snap.SNAPSHOT_SITES]
    with registry.write_transaction() as conn:
        sid = int(conn.execute(table.insert().values(
            snapshot_date=day, taken_at=day, taken_by="tests", site_count=len(sites),
        ).returning(table.c.snapshot_id)).scalar_one())
        conn.execute(site_table.insert(), [
            {"snapshot_id": sid, **{k: snap._plain(k, r.get(k)) for k in snap.SITE_FIELDS}}
            for r in sites.to_dict("records")])


def snapshot_registry(path, before: pd.DataFrame, after: pd.DataFrame) -> Registry:
    registry = Registry(path)
    put_snapshot(registry, "2023-12-31", before)
    put_snapshot(registry, "2024-12-31", after)
    return registry


def printed(registry: Registry, code: str, audience: str = conf.PUBLIC) -> list[str]:
    """What ``python -m operators comparer 2023-12-31 2024-12-31 --territoire com:…`` prints
    (``snapshot_cli.run_snapshot_command`` without argparse and the store's names)."""
    first, second, changes = snap.compare_dates(registry, "2023-12-31", "2024-12-31", [code],
                                                audience=audience)
    return describe_changes(first, second, changes, audience, "la commune")


def app_summary(registry: Registry, code: str) -> str:
    """What the page « Qui fait quoi où » shows (``ui.pages.reseaux._snapshots``)."""
    _, _, changes = snap.compare_dates(registry, "2023-12-31", "2024-12-31", [code])
    if changes.empty:
        return "Aucune évolution entre ces deux dates."
    return snap.summary(changes, conf.PUBLIC).to_csv(index=False)


@pytest.mark.parametrize("attack", ["created", "closed", "converted_by_name", "resized"])
def test_comparing_snapshots_of_a_commune_tells_nothing_of_a_confidential_site(
        tmp_path, attack):
    sites = base_sites()
    secret = site("s4", DOUAI, "59", "chrs", 14, level=schema.CONF_CONFIDENTIAL,
                  name="Pension Refuge")
    before, after = sites, sites
    if attack == "created":
        attacked = (sites, with_rows(sites, secret))
    elif attack == "closed":
        attacked = (with_rows(sites, secret), with_rows(sites, {**secret,
                                                                "status": schema.STATUS_CLOSED}))
    elif attack == "converted_by_name":
        public = site("n2", DOUAI, "59", "pension_de_famille", 14, name="Pension Refuge")
        before, after = sites, with_rows(sites, public)
        attacked = (with_rows(sites, secret),
                    with_rows(sites, {**secret, "status": schema.STATUS_CLOSED}, public))
    else:
        attacked = (with_rows(sites, secret), with_rows(sites, {**secret, "capacity": 30.0}))
    plain = snapshot_registry(tmp_path / "plain.gpkg", before, after)
    mounted = snapshot_registry(tmp_path / "attack.gpkg", *attacked)
    try:
        for code in (DOUAI, NEIGHBOUR):
            assert printed(mounted, code) == printed(plain, code), (attack, code)
            assert app_summary(mounted, code) == app_summary(plain, code), (attack, code)
        if attack != "converted_by_name":
            # The commune and its neighbour now print the same thing: « aucune évolution ».
            assert printed(mounted, DOUAI)[1:] == printed(mounted, NEIGHBOUR)[1:] == [
                "aucune évolution"]
        else:
            assert not any("converti" in line for line in printed(mounted, DOUAI))
        # The internal comparison (administrators) does see the change: the test can fail.
        assert printed(mounted, DOUAI, conf.INTERNAL) != printed(plain, DOUAI, conf.INTERNAL)
    finally:
        plain.dispose()
        mounted.dispose()


# -- presence per area -----------------------------------------------------------------------
@pytest.mark.parametrize("level", ["epci", "dep"])
def test_presence_chooses_its_areas_after_confidential_rows_are_removed(communes, level):
    sites = base_sites()
    secret = site("s5", LOZERE, "48", "chrs", 7, level=schema.CONF_CONFIDENTIAL)
    secret2 = site("s6", CREUSE, "23", "chrs", 7, level=schema.CONF_CONFIDENTIAL)
    coverage = pd.DataFrame(columns=["site_id", "commune_code"])

    def tables(frame):
        found = presence(frame, coverage, communes, level, conf.PUBLIC)
        return [t.to_csv(index=False) for t in (found.areas, found.operators, found.overlaps,
                                                found.blanks, found.totals)]

    assert tables(with_rows(sites, secret, secret2)) == tables(sites)


# -- --interne of the bilan's command line ------------------------------------------------------
def test_internal_bilan_command_needs_an_administrator(tmp_path, monkeypatch, capsys):
    path = tmp_path / "registre.gpkg"
    registry = Registry(path)
    accounts = Accounts(registry)
    admin = accounts.add(None, "admin", ROLE_ADMIN, PASSWORD)
    accounts.add(admin, "alice", ROLE_OPERATOR, PASSWORD, operator="Asso A")
    registry.dispose()
    out = tmp_path / "rapports"
    base = ["--territoire", "com:59178", "--annee", "2024", "--format", "xlsx", "--out",
            str(out), "--base", f"sqlite:///{path}", "--interne"]
    monkeypatch.delenv("REGISTRE_COMPTE", raising=False)
    monkeypatch.setenv("REGISTRE_MOT_DE_PASSE", PASSWORD)
    assert nr.main(base) == 1  # no account at all
    assert "réservé aux administrateurs" in capsys.readouterr().err
    assert nr.main([*base, "--compte", "alice"]) == 1  # an operator
    assert "réservé aux administrateurs" in capsys.readouterr().err
    monkeypatch.setenv("REGISTRE_MOT_DE_PASSE", "mauvais mot de passe")
    assert nr.main([*base, "--compte", "admin"]) == 1
    assert "incorrect" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())
    monkeypatch.setenv("REGISTRE_MOT_DE_PASSE", PASSWORD)
    assert nr.main([*base, "--compte", "admin"]) == 0, capsys.readouterr().err
    assert len(list(out.glob("*.xlsx"))) == 1
    # Without --interne nobody needs an account (the public bilan).
    assert nr.main(base[:-1]) == 0


# -- property: random confidential sites, random territories ----------------------------------
OFFER_TYPES = ["chrs", "chu", "pension_de_famille", "residence_sociale", "hebergement_autre",
               "ftm"]
PUBLICS = ["femmes_violences", "isoles_exclusion", "jeunes", "familles_monoparentales", ""]


@st.composite
def confidential_sites(draw, pool: list[tuple[str, str]]) -> list[dict]:
    count = draw(st.integers(1, 4))
    rows = []
    for i in range(count):
        code, dep = draw(st.sampled_from(pool))
        rows.append(site(
            f"secret{i}", code, dep, draw(st.sampled_from(OFFER_TYPES)),
            draw(st.floats(1, 200, allow_nan=False).map(round)),
            level=schema.CONF_CONFIDENTIAL,
            status=draw(st.sampled_from([schema.STATUS_OPEN, schema.STATUS_PLANNED])),
            name=draw(st.sampled_from(["CHU Douai", "Refuge", f"Site p{i}"])),
            operator=draw(st.sampled_from(["Asso A", "Asso B", "Asso SECRETE"])),
            publics=draw(st.sampled_from(PUBLICS)),
            opening_year=draw(st.sampled_from([None, YEAR, 2010])),
        ))
    return rows


@st.composite
def territories(draw, communes: pd.DataFrame) -> list[str] | None:
    kind = draw(st.sampled_from(["france", "dep", "communes", "epci"]))
    if kind == "france":
        return None
    if kind == "dep":
        dep = draw(st.sampled_from(["59", "23", "48"]))
        return communes.loc[communes["dep_code"] == dep, "code"].tolist()
    if kind == "epci":
        code = draw(st.sampled_from([DOUAI, CREUSE, LOZERE, "59350"]))
        epci = communes.set_index("code").loc[code, "epci_code"]
        return communes.loc[communes["epci_code"] == epci, "code"].tolist()
    near = [DOUAI, NEIGHBOUR, CREUSE, LOZERE, "59350", "59512", "23096"]
    return sorted(set(draw(st.lists(st.sampled_from(near), min_size=1, max_size=4))))


def test_property_no_public_output_moves_with_confidential_sites(communes, epci_names):
    sites = base_sites()
    inside = communes[communes["dep_code"].isin(["59", "23", "48"])]
    pool = [(DOUAI, "59"), (NEIGHBOUR, "59"), (CREUSE, "23"), (LOZERE, "48"),
            *[(c, d) for c, d in inside[["code", "dep_code"]].sample(
                30, random_state=23).itertuples(index=False)]]
    grown = sites.copy()
    grown.loc[grown["site_id"] == "p3", "capacity"] = 55.0
    coverage = pd.DataFrame(columns=["site_id", "commune_code"])

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(secret=confidential_sites(pool), codes=territories(communes),
           network=st.sampled_from([None, "FAPIL"]), closed=st.booleans())
    def check(secret, codes, network, closed):
        after_secret = [{**r, "status": schema.STATUS_CLOSED} if closed else r for r in secret]
        outputs = []
        for extra_before, extra_after in (([], []), (secret, after_secret)):
            before = with_rows(sites, *extra_before) if extra_before else sites
            after = with_rows(grown, *extra_after) if extra_after else grown
            changes = snap.compare_for(before, after, codes, conf.PUBLIC)
            text = bilan(after, communes, epci_names, codes=codes, network=network,
                         changes=("2023-12-31", "2024-12-31", changes))
            lines = describe_changes("2023-12-31", "2024-12-31", changes, conf.PUBLIC, "T")
            found = [presence(after, coverage, communes, level, conf.PUBLIC,
                              areas=None if codes is None else sorted(
                                  communes.loc[communes["code"].isin(codes), key].dropna()
                                  .unique()))
                     for level, key in (("epci", "epci_code"), ("dep", "dep_code"))]
            totals = conf.area_totals(after if codes is None else after[
                after["commune_code"].isin(codes)], conf.PUBLIC)
            outputs.append((text, lines, [t.areas.to_csv() + t.blanks.to_csv()
                                          + t.operators.to_csv() + t.totals.to_csv()
                                          for t in found], totals.to_csv(index=False)))
        assert outputs[1] == outputs[0]
        assert "SECRET" not in repr(outputs[1])

    check()


def test_the_public_view_is_not_bypassed_internally_it_differs(communes, epci_names):
    """Guard of the property above: the internal bilan does move with a confidential site,
    so equality there is the public view's doing, not an output that ignores the sites."""
    sites = base_sites()
    secret = site("s7", DOUAI, "59", "chrs", 33, level=schema.CONF_CONFIDENTIAL)
    assert bilan(with_rows(sites, secret), communes, epci_names, codes=[DOUAI],
                 audience=conf.INTERNAL) != bilan(sites, communes, epci_names, codes=[DOUAI],
                                                  audience=conf.INTERNAL)


def test_snapshot_table_is_written_like_take_snapshot(tmp_path):
    """``put_snapshot`` (hand-made) writes the same columns as ``take_snapshot``."""
    registry = Registry(tmp_path / "r.gpkg")
    try:
        put_snapshot(registry, "2023-12-31", base_sites())
        _, frame = snap.sites_at(registry, "2023-12-31")
        assert sorted(frame["site_id"]) == sorted(base_sites()["site_id"])
        with registry.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM snapshot_sites")).scalar() == 8
    finally:
        registry.dispose()


def _page_text(registry: Registry, monkeypatch) -> list:
    """Everything the page « Qui fait quoi où » shows for Douai (AppTest)."""
    from streamlit.testing.v1 import AppTest

    import settings as project_settings
    from ui import navigation

    monkeypatch.setenv("DATABASE_URL", registry.url)
    at = AppTest.from_file(str(project_settings.PROJECT_ROOT / "streamlit_app.py"),
                           default_timeout=300)
    at.query_params["territoire"] = f"com:{DOUAI}"
    at.run()
    at.switch_page(navigation.script("reseaux"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return [[t.value for t in at.title], [c.value for c in at.caption],
            [d.value.to_csv(index=False) for d in at.dataframe], [i.value for i in at.info],
            [w.value for w in at.warning]]


def test_the_page_compares_snapshots_of_a_commune_the_same_with_a_confidential_site(
        tmp_path, monkeypatch, store):
    """The app's side of the snapshot attack: the page for Douai is the same, line for line,
    whether or not a confidential site was created, closed or paired there."""
    from operators.importer import import_file
    from tests.account_support import ADMIN

    header = "Opérateur;Identifiant;Nom;Code INSEE;Type;Nb places;Statut;Confidentialité"
    public = [f"Asso A;P{i};Pension {i};{DOUAI};Pension de famille;20;ouvert;public"
              for i in range(3)]
    secret = site("s8", DOUAI, "59", "chrs", 14, level=schema.CONF_CONFIDENTIAL,
                  name="Pension Refuge")
    opened = site("n3", DOUAI, "59", "pension_de_famille", 14, name="Pension Refuge")
    pages = []
    for name, before, after, extra in (
        ("plain", base_sites(), with_rows(base_sites(), opened), []),
        ("attack", with_rows(base_sites(), secret),
         with_rows(base_sites(), {**secret, "status": schema.STATUS_CLOSED}, opened),
         [f"Asso A;S1;Refuge SECRET;{DOUAI};CHRS;14;ouvert;confidentiel"]),
    ):
        registry = snapshot_registry(tmp_path / f"{name}.gpkg", before, after)
        data = ("\n".join([header, *public, *extra]) + "\n").encode("utf-8")
        import_file(data, registry, name=f"{name}.csv", geocoder=None, actor=ADMIN)
        try:
            pages.append(_page_text(registry, monkeypatch))
        finally:
            registry.dispose()
    assert any("2023-12-31 → 2024-12-31" in c for c in pages[0][1]), pages[0][1]
    assert any("créé" in table for table in pages[0][2])  # the evolution table is shown
    assert pages[1] == pages[0]
    assert "SECRET" not in repr(pages[1]) and "converti" not in repr(pages[1])
