"""Charts in French: numbers on the axes and in the tooltips as « 22 000 » and « 0,5 ».

Vega-Lite formats numbers with its locale (English by default: « 22,000 », « 0.5 »); the
French locale is set in each chart's configuration.

A chart drawing figures that rest on the FICTIF demo offer carries the mark in its own title
(:func:`fictif`), in the banner's red: a screenshot of the chart alone still says so.
"""

from __future__ import annotations

import altair as alt

FRENCH_LOCALE = {
    "number": {"decimal": ",", "thousands": "\u202f", "grouping": [3],
               "currency": ["", "\u00a0€"], "percent": "\u202f%"},
    "time": {
        "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                   "septembre", "octobre", "novembre", "décembre"],
        "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
                        "sept.", "oct.", "nov.", "déc."],
    },
}


def french(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart with the French number and date formats."""
    return chart.configure(locale=FRENCH_LOCALE)


FICTIF_COLOUR = "#b2182b"  # the page banner's red (ui/fictif.py)
FICTIF_TITLE = ("FICTIF — offre de démonstration", "{what} reposent sur des sites inventés")


def fictif(chart: alt.TopLevelMixin, what: str = "ces chiffres") -> alt.TopLevelMixin:
    """The chart titled « FICTIF — offre de démonstration » over « {What} reposent sur des
    sites inventés » (two short lines: a narrow chart never cuts the mark)."""
    first, second = FICTIF_TITLE
    second = second.format(what=what)
    title = alt.TitleParams([first, second[:1].upper() + second[1:]], color=FICTIF_COLOUR,
                            fontWeight="bold", anchor="start", fontSize=13)
    return chart.properties(title=title)
