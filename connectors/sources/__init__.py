"""Parsers of the official sources, one module per source family.

Each parser is a pure function ``parse(path) -> Parsed`` reading the file as published (or an
archive holding it) and returning a table keyed by the published code; the COG carry, the
manifest and the storage are done by :mod:`connectors.refresh`.
"""
