"""Inputs bounded (issue #23): a capacity of « 1e308 » refused, a very large one flagged, an
economic input that is not a finite number or an implausible size refused in French — never
« Places : inf » nor « il manque nan € ».

Hand-made files and values (written in this test).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import settings
from models import operation_economics as oe
from operators.importer import prepare_import

HEADER = "Opérateur;Nom;Code INSEE;Type;Nb places"


def _prepared(capacity: str):
    content = f"{HEADER}\nAsso A;Site;23096;CHRS;{capacity}\n".encode()
    return prepare_import(content, "capacite.csv", geocoder=None)


@pytest.mark.parametrize("capacity", ["1e308", "1E308", str(settings.CAPACITY_MAX + 1),
                                      "99999999999"])
def test_an_implausible_capacity_is_refused_with_its_row_and_field(store, capacity):
    prepared = _prepared(capacity)
    assert prepared.sites.empty
    reason = next(iter(prepared.rejects.values()))
    assert "capacité invraisemblable" in reason and "ligne 2" in reason, reason


def test_a_large_capacity_is_imported_with_a_flag(store):
    prepared = _prepared(str(settings.CAPACITY_FLAG + 1))
    assert len(prepared.sites) == 1
    flags = prepared.sites["flags"].iat[0]
    assert any("à vérifier" in f for f in flags), flags
    assert prepared.sites["capacity"].iat[0] == settings.CAPACITY_FLAG + 1


def test_the_bilan_never_shows_inf(store):
    prepared = _prepared("1e308")
    totals = pd.to_numeric(prepared.sites["capacity"], errors="coerce").sum()
    assert math.isfinite(totals)


@pytest.fixture(scope="module")
def params():
    return oe.load_parameters()


@pytest.mark.parametrize("overrides, word", [
    ({"logements": "inf"}, "nombre fini|infinie refusée"),
    ({"logements": float("-inf")}, "nombre fini|infinie refusée"),
    ({"logements": 1e12}, "au plus"),
    ({"logements": "nan"}, "valeur manquante"),
])
def test_non_finite_or_implausible_economic_inputs_are_refused(params, overrides, word):
    kind = next(iter(params.kinds))
    with pytest.raises(oe.OperationError, match=word):
        oe.inputs_for(kind, params, zone_apl=2, overrides=overrides)


def test_a_non_finite_rate_is_refused_and_no_result_is_nan(params):
    kind = next(iter(params.kinds))
    values = oe.inputs_for(kind, params, zone_apl=2)
    rate = next(k for k in values if "taux" in k)
    with pytest.raises(oe.OperationError, match=r"nombre fini|infinie refusée"):
        oe.inputs_for(kind, params, zone_apl=2, overrides={rate: "inf"})
    # Finite but absurd inputs that overflow the account: refused, not « nan € ».
    huge = {k: 1e308 for k in values if k not in ("logements", "zone_apl", "duree_pret")}
    with pytest.raises(oe.OperationError, match="résultat non fini"):
        oe.evaluate(kind, {**values, **huge}, params)
