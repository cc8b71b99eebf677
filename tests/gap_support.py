"""The hand-made line of communes of ``tests/fixtures/gap`` (shared by the gap tests)."""

from __future__ import annotations

import copy

import pandas as pd

from models import accessibility as acc
from models import gap as g

FIXTURES = acc.CONFIG_PATH.parents[1] / "tests" / "fixtures" / "gap"


def read_fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, comment="#", dtype={"code": str, "commune_code": str,
                                                          "dep_code": str})


def line_config(method: str = "2sfca") -> dict:
    config = copy.deepcopy(acc.load_config())
    config["catchment_m"]["default"] = 15_000
    config["gap"]["method"] = method
    return config


def line_inputs() -> g.GapInputs:
    need = read_fixture("besoin_fait_main.csv")
    return g.GapInputs(
        communes=read_fixture("communes_ligne_fait_main.csv"),
        need=need.drop(columns="households"),
        households=need.set_index("code")["households"],
        sites=read_fixture("sites_fait_main.csv"),
        sources=["Besoin : fichier fait main"],
    )
