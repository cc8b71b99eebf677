"""The project's declarations, readable from every floor: which public sources exist
(``sources.yaml``), which indicators they give (``indicators.yaml``), and which vintage of each
theme is the current one (:mod:`catalogues.datasets`).

Reading them needs only PyYAML: no HTTP session, no parser, no store. The connectors use them to
fetch and build; geography, models, reports and the app use them to name datasets and cite
sources.
"""
