"""The attacks on confidential sites, mounted: none of them reveals anything.

A hand-made registry (written in this test) of the Nord holds a confidential CHRS in Douai
(33 places), two confidential sites in the Métropole Européenne de Lille — one of them the
only offer of Villeneuve-d'Ascq — and public sites around them. The attacker uses what the
app and the reports publish:

* Nord (``dep:59``) minus « Nord without Douai » (a ``?territoire=`` list of communes);
* « Sites (tous niveaux) » minus « Sites nommés » for the MEL (``epci:200093201``);
* the 1 km accessibility raster near Villeneuve-d'Ascq, whose only offer is confidential;
* any pair of territories (property-based, with hypothesis).

The defence proved here: whatever a territory that is not made of whole départements or
régions, every published figure is the same with or without the confidential sites; for whole
départements, figures depend on them only through the per-département bins.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics.public_sites import public_view
from geodata.territory import parse_territory
from operators import confidentiality as conf
from operators import schema

DOUAI, LILLE, VILLENEUVE, ROUBAIX, TOURCOING = "59178", "59350", "59009", "59512", "59599"
MEL = "200093201"


def _site(site_id, commune, name, offer_type, capacity, level=schema.CONF_PUBLIC, dep="59"):
    spec = schema.OFFER_TYPE_BY_CODE[offer_type]
    return {
        "site_id": site_id, "operator_id": "asso", "operator_name": "Asso (fait main)",
        "network": "FAPIL", "name": name, "address": f"{site_id} rue d'Essai",
        "postcode": None, "commune_code": commune, "commune_name": commune, "dep_code": dep,
        "lon": np.nan, "lat": np.nan, "geocode_method": schema.GEO_COMMUNE,
        "offer_type": offer_type, "offer_family": spec.family, "capacity": float(capacity),
        "capacity_unit": spec.unit, "status": schema.STATUS_OPEN, "confidentiality": level,
        "coverage_epci": None, "coverage_communes": None, "fictional": True,
        "updated_at": "2026-01-01",
    }


def nord_registry() -> pd.DataFrame:
    """Ten hébergement sites, 320 places, in the Nord; Douai's CHRS (33) is confidential."""
    rows = [
        _site("h1", LILLE, "CHRS Lille 1", "chrs", 40),
        _site("h2", LILLE, "CHRS Lille 2", "chrs", 35),
        _site("h3", ROUBAIX, "CHU Roubaix", "chu", 30),
        _site("h4", TOURCOING, "CHU Tourcoing", "chu", 30),
        _site("h5", "59183", "CHRS Dunkerque", "chrs", 40),
        _site("h6", "59606", "CHRS Valenciennes", "chrs", 32),
        _site("h7", "59122", "CHU Cambrai", "chu", 25),
        _site("h8", DOUAI, "CHU Douai", "chu", 20),
        _site("h9", DOUAI, "Refuge SECRET Douai", "chrs", 33, schema.CONF_CONFIDENTIAL),
        _site("h10", LILLE, "Abri SECRET Lille", "chrs", 35, schema.CONF_CONFIDENTIAL),
        _site("v1", VILLENEUVE, "Refuge SECRET Villeneuve", "hebergement_autre", 12,
              schema.CONF_CONFIDENTIAL),
        _site("p1", LILLE, "Pension Lille", "pension_de_famille", 25),
        _site("p2", ROUBAIX, "Pension Roubaix", "pension_de_famille", 20, schema.CONF_COMMUNE),
        _site("a1", "62041", "Pension Arras", "pension_de_famille", 18, dep="62"),
    ]
    return pd.DataFrame(rows)


def without_confidential(sites: pd.DataFrame) -> pd.DataFrame:
    return sites[sites["confidentiality"].ne(schema.CONF_CONFIDENTIAL)].reset_index(drop=True)


@pytest.fixture(scope="module")
def region(store):
    """Communes of the Hauts-de-France, and its départements and EPCI names."""
    communes = store.read("communes", columns=["code", "name", "dep_code", "reg_code",
                                               "epci_code"])
    return pd.DataFrame(communes[communes["reg_code"] == "32"]).reset_index(drop=True)


def published(sites: pd.DataFrame, spec: str, communes: pd.DataFrame) -> dict:
    """Every figure the report and the app publish about the registry for ``spec``.

    The same path as ``diagnostics.inputs.gather`` + ``public_view`` (the report) and
    ``ui.sites`` (the app): confidential sites split off first, then the territory's sites,
    the public view and the confidential figure of whole départements.
    """
    territory = parse_territory(spec, communes)
    public_sites, coverage, by_departement = conf.split_for_public(sites, None)
    inside = public_sites[public_sites["commune_code"].isin(set(territory.codes))]
    deps = communes.loc[communes["code"].isin(set(territory.codes)), "dep_code"].unique()
    figure = conf.confidential_for_territory(by_departement, territory.parts, deps)
    view = public_view(inside, coverage, territory.codes, figure)
    totals = conf.area_totals(inside, conf.PUBLIC)
    return _canonical({
        "named": sorted(view.listed["name"].dropna()),
        "by_family": view.by_family.drop(columns="offer_family_label").to_dict("records"),
        "by_commune": view.by_commune.to_dict("records"),
        "commune_totals": view.commune_totals.to_dict("records"),
        "app_totals": totals.to_dict("records"),
        "confidential": None if figure is None else [figure.sites_text(), figure.capacity_text()],
    })


def _canonical(figures: dict) -> dict:
    """Comparable figures (NaN equal to NaN, numpy numbers as Python ones)."""
    return json.loads(json.dumps(figures, default=str, sort_keys=True).replace("NaN", "null"))


def places(figures: dict) -> float:
    rows = [r for r in figures["by_family"] if r["offer_family"] == "hebergement"]
    return float(rows[0]["capacity"] or 0) if rows else 0.0


def test_nord_minus_nord_without_douai_reveals_only_public_sites(region):
    sites = nord_registry()
    nord_codes = region.loc[region["dep_code"] == "59", "code"].tolist()
    without_douai = ", ".join(f"com:{c}" for c in nord_codes if c != DOUAI)
    nord = published(sites, "dep:59", region)
    rest = published(sites, without_douai, region)
    # The attack of the issue: 320 − 287 = 33, the confidential CHRS. Now the difference is
    # Douai's public CHU, listed by name anyway.
    assert places(nord) - places(rest) == 20
    assert set(nord["named"]) - set(rest["named"]) == {"CHU Douai"}
    # Nord as a whole département publishes its confidential sites as one bin, no more.
    assert nord["confidential"] == ["1 à 5", "non diffusée"]
    assert rest["confidential"] is None
    # And nothing the list of communes publishes moves when the confidential sites go.
    assert published(without_confidential(sites), without_douai, region) == rest
    assert "SECRET" not in repr(nord) + repr(rest)


def test_all_levels_minus_named_gives_nothing_for_the_mel(region):
    sites = nord_registry()
    mel = published(sites, f"epci:{MEL}", region)
    # No « tous niveaux » figure holds a confidential site: totals equal the named sites.
    assert mel["confidential"] is None
    named = [r for r in mel["app_totals"]]
    assert sum(int(r["sites_n"]) if pd.notna(r["sites_n"]) else 0 for r in named) <= len(
        mel["named"])
    assert mel == published(without_confidential(sites), f"epci:{MEL}", region)
    # Villeneuve-d'Ascq, whose only offer is confidential, has no total at all.
    assert VILLENEUVE not in {r["commune_code"] for r in mel["app_totals"]}
    commune = published(sites, f"com:{VILLENEUVE}", region)
    assert commune["commune_totals"] == [] and commune["named"] == []


def test_region_is_the_sum_of_its_departements_bins(region):
    sites = nord_registry()
    many = pd.concat([sites] + [
        pd.DataFrame([_site(f"c{i}", "62041", f"SECRET {i}", "chrs", 10, schema.CONF_CONFIDENTIAL,
                            dep="62")]) for i in range(7)
    ], ignore_index=True)
    by_dep = conf.confidential_by_departement(many).set_index("dep_code")
    assert by_dep.loc["59", ["low", "high"]].tolist() == [1, 5]
    assert by_dep.loc["62", ["low", "high"]].tolist() == [6, 10]
    assert by_dep.loc["62", "capacity"] == 70
    assert np.isnan(by_dep.loc["59", "capacity"])  # five sites or fewer: capacity withheld
    assert published(many, "reg:32", region)["confidential"] == ["7 à 15", "non diffusée"]
    assert published(many, "dep:62", region)["confidential"] == ["6 à 10", "environ 70"]
    assert published(many, "dep:59, dep:62", region)["confidential"] == ["7 à 15", "non diffusée"]


def test_raster_and_gap_near_a_commune_whose_only_offer_is_confidential(store, tmp_path):
    """The 1 km raster and the gap of the report never rest on a confidential site."""
    import rasterio

    from models.results import territory_gap

    communes = store.read("communes", columns=["code", "dep_code", "population", "rep_lon",
                                               "rep_lat", "x_metric", "y_metric"])
    mel = store.read("communes", columns=["code", "epci_code"])
    codes = mel.loc[mel["epci_code"] == MEL, "code"].tolist()
    need = pd.DataFrame({"code": communes["code"],
                         "need_households": communes["population"].astype(float) * 0.01})
    sites = nord_registry()
    geo = store.read("communes_moyen", columns=["code", "geometry"])
    outlines = geo[geo["code"].isin(codes)]

    def raster_bytes(frame, name):
        out = territory_gap(store, codes, need, frame)
        path = out.raster_writer(tmp_path / name, outlines)
        with rasterio.open(path) as src:
            bands = {src.tags(i + 1)["name"]: src.read(i + 1) for i in range(src.count)}
            index = src.index
        return out.frame, bands, index

    frame, bands, index = raster_bytes(sites, "avec.tif")
    frame_without, bands_without, _ = raster_bytes(without_confidential(sites), "sans.tif")
    pd.testing.assert_frame_equal(frame, frame_without)
    assert bands.keys() == bands_without.keys()
    for name in bands:
        assert np.array_equal(bands[name], bands_without[name], equal_nan=True), name
    # At Villeneuve-d'Ascq's own point the « hébergement » band shows the distance to the
    # nearest *public* CHRS/CHU (in Lille, several km away), not the few hundred metres of its
    # confidential refuge.
    point = communes.set_index("code").loc[VILLENEUVE]
    row, col = index(point["x_metric"], point["y_metric"])
    assert bands["distance_hebergement"][row, col] > 2_000


def _move_confidential(sites: pd.DataFrame, communes: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same per-département bins, other sites: each confidential site moved to another
    commune of its département, its type changed, the capacities permuted within it."""
    rng = np.random.default_rng(seed)
    out = sites.copy()
    secret = out["confidentiality"].eq(schema.CONF_CONFIDENTIAL)
    types = ["chrs", "chu", "hebergement_autre", "pension_de_famille", "residence_sociale"]
    for dep, rows in out[secret].groupby("dep_code"):
        pool = communes.loc[communes["dep_code"] == dep, "code"].to_numpy()
        out.loc[rows.index, "commune_code"] = rng.choice(pool, len(rows))
        out.loc[rows.index, "capacity"] = rng.permutation(rows["capacity"].to_numpy())
        for i in rows.index:
            spec = schema.OFFER_TYPE_BY_CODE[str(rng.choice(types))]
            out.loc[i, ["offer_type", "offer_family", "capacity_unit"]] = [
                spec.code, spec.family, spec.unit]
    return out


@st.composite
def territory_specs(draw, communes: pd.DataFrame) -> str:
    """A territory the app accepts: communes, EPCI, départements, the région, mixed."""
    codes = communes["code"].tolist()
    epcis = sorted(communes["epci_code"].dropna().unique())
    near = [DOUAI, LILLE, VILLENEUVE, ROUBAIX, TOURCOING, "62041"]
    term = st.one_of(
        st.sampled_from(near).map(lambda c: f"com:{c}"),
        st.sampled_from(codes).map(lambda c: f"com:{c}"),
        st.sampled_from([MEL, "200044618", *epcis[:20]]).map(lambda c: f"epci:{c}"),
        st.sampled_from(["59", "62", "80"]).map(lambda c: f"dep:{c}"),
        st.just("reg:32"),
    )
    return ", ".join(draw(st.lists(term, min_size=1, max_size=4)))


@pytest.fixture(scope="module")
def random_registry(region) -> pd.DataFrame:
    """Sixty hand-made sites over the région, a third of them confidential (seeded)."""
    rng = np.random.default_rng(15)
    picks = np.concatenate([
        rng.choice(region["code"].to_numpy(), 40),
        [DOUAI, LILLE, VILLENEUVE, ROUBAIX, TOURCOING] * 4,
    ])
    dep = region.set_index("code")["dep_code"]
    rows = []
    for i, code in enumerate(picks):
        level = [schema.CONF_PUBLIC, schema.CONF_COMMUNE, schema.CONF_CONFIDENTIAL][i % 3]
        offer = ["chrs", "chu", "pension_de_famille", "residence_sociale"][i % 4]
        rows.append(_site(f"r{i}", str(code), f"Site {i}" + (" SECRET" if i % 3 == 2 else ""),
                          offer, int(rng.integers(1, 60)), level, dep=dep[code]))
    return pd.DataFrame(rows)


def test_property_no_pair_of_territories_reveals_more_than_the_departement_bins(
    region, random_registry
):
    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(first=territory_specs(region), second=territory_specs(region),
           seed=st.integers(0, 2**16))
    def check(first, second, seed):
        moved = _move_confidential(random_registry, region, seed)
        assert moved["confidentiality"].eq(schema.CONF_CONFIDENTIAL).sum() == 20
        a, b = published(random_registry, first, region), published(random_registry, second,
                                                                     region)
        a2, b2 = published(moved, first, region), published(moved, second, region)
        # Same figures when the confidential sites are elsewhere in their département, of
        # another type, with other capacities: the difference of two territories' figures
        # cannot tell where they are, nor what they are.
        assert a2 == a, first
        assert b2 == b, second
        assert places(a) - places(b) == places(a2) - places(b2)
        assert "SECRET" not in repr(a) + repr(b)

    check()
