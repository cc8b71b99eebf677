"""A visit's first map is sent alone: the page pauses before its controls, once per visit."""

from __future__ import annotations

from ui import mapview


def _record(monkeypatch, session: dict) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(mapview.time, "sleep", sleeps.append)
    monkeypatch.setattr(mapview.st, "session_state", session)
    return sleeps


def test_pause_once_per_visit(monkeypatch):
    first_visit: dict = {}
    sleeps = _record(monkeypatch, first_visit)
    mapview.let_the_map_draw_first(0.5)
    mapview.let_the_map_draw_first(0.5)  # the next runs of the same visit: no pause
    assert sleeps == [0.5]
    sleeps = _record(monkeypatch, {})  # another visit pauses again
    mapview.let_the_map_draw_first(0.5)
    assert sleeps == [0.5]


def test_zero_turns_the_pause_off(monkeypatch):
    sleeps = _record(monkeypatch, {})
    mapview.let_the_map_draw_first(0.0)
    assert sleeps == []


def test_default_comes_from_settings(monkeypatch):
    import settings

    sleeps = _record(monkeypatch, {})
    monkeypatch.setattr(settings, "FIRST_MAP_PAUSE_S", 0.25)
    mapview.let_the_map_draw_first()
    assert sleeps == [0.25]
