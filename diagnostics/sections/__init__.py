"""Sections of the territory report, one module each (data in, document blocks out)."""
