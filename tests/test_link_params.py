"""Share links with broken or hostile parameters (issue #23): « nb=0 », « nb=99999999 », weights
« nan », « inf », « 1e308 » or all zero, an unknown normalisation… The recipient's session keeps
working: each value is set aside for its default, with a French notice. A fuzz test (hypothesis)
opens every page of the app with random parameters: no exception reaches the page.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_app_links import open_link
from tests.test_app_pages import need_ready  # noqa: F401 (fixture)
from ui import links, navigation


def test_bad_classes_and_weights_are_set_aside_with_a_notice():
    for bad in ("0", "99999999", "2", "8", "-3", "5.5", "cinq", "٣"):
        rejected: list[str] = []
        assert "map_k" not in links.settings_from({"nb": bad}, rejected), bad
        assert rejected and "nombre de classes entre 3 et 7" in rejected[0]
    assert links.settings_from({"nb": "7"})["map_k"] == 7
    for bad in ("poverty_rate:nan", "poverty_rate:inf", "poverty_rate:1e308",
                "poverty_rate:0", "poverty_rate:0,median_income:0", "poverty_rate:-inf",
                "poverty_rate:101", ":3"):
        assert links.parse_weights(bad) is None, bad
    assert links.parse_weights("poverty_rate:0,median_income:2") == (
        ("median_income", 2.0), ("poverty_rate", 0.0))
    rejected = []
    links.settings_from({"zoom": "nan,nan,nan"}, rejected)
    assert rejected and "zoom" in rejected[0]


def test_the_links_of_the_issue_open_with_a_french_notice(need_ready):  # noqa: F811
    for query in ({"nb": "0"}, {"nb": "99999999"}, {"poids": "poverty_rate:nan"},
                  {"poids": "poverty_rate:inf"}, {"poids": "poverty_rate:1e308"},
                  {"poids": "poverty_rate:0"}, {"normalisation": "inconnue"},
                  {"agregation": "harmonique"}, {"ponderation": "pas_un_preset"}):
        at = open_link(query, "carte")
        assert not at.exception, (query, [e.value for e in at.exception])
        warnings = " ".join(w.value for w in at.warning)
        assert "Lien partagé" in warnings, (query, warnings)


_TEXT = st.one_of(
    st.sampled_from(["0", "-1", "99999999", "nan", "inf", "-inf", "1e308", "", " ", "3", "7",
                     "dep:59", "com:23096", "reg:32", "epci:200093201", "quantiles", "minmax",
                     "zscore", "arithmetic", "sites,qpv", "50.6,3.06,11", "1", "need:score",
                     "poverty_rate:nan", "poverty_rate:1e308,median_income:0", "x" * 300,
                     "<script>alert(1)</script>", "../../etc/passwd", "%00", "é"]),
    st.text(max_size=30),
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(page=st.sampled_from(list(navigation.PAGES)),
       query=st.dictionaries(st.sampled_from(list(links.PARAMETERS)), _TEXT, max_size=5))
def test_fuzz_every_page_opens_with_any_link_parameters(need_ready, page, query):  # noqa: F811
    at = open_link({k: v for k, v in query.items() if "\x00" not in v}, page)
    assert not at.exception, (page, query, [e.value for e in at.exception])


def test_a_link_naming_no_territory_opens_every_page_on_france_with_a_notice(need_ready):  # noqa: F811
    # Found by the fuzz test above: « ?territoire=0 » on the Commune page raised the territory
    # parser's error. The link's territory is checked once, set aside with a French notice.
    for page in ("commune", "carte", "classement", "scenarios"):
        at = open_link({"territoire": "0"}, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        warnings = " ".join(w.value for w in at.warning)
        assert "Lien partagé" in warnings and "territoire=0" in warnings, (page, warnings)
