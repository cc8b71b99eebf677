"""The launcher's preparation (ui/serve.py): every step tried, a failure said in French and
never fatal, nothing that registers a Streamlit component imported before the runtime."""

from __future__ import annotations

import subprocess
import sys

import settings


def _quiet_steps(monkeypatch, calls: list[str]) -> None:
    from ui import data, gap, geometry, need, sites, variables

    def record(name, result=None):
        def function(*args, **kwargs):
            calls.append(name)
            return result
        return function

    monkeypatch.setattr(data, "available", record("available", True))
    monkeypatch.setattr(need, "need_model", record("need", object()))
    monkeypatch.setattr(gap, "gap_bundle", record("gap"))
    monkeypatch.setattr(variables, "available_variables", record("variables"))
    monkeypatch.setattr(data, "communes_table", record("communes"))
    monkeypatch.setattr(data, "household_weights", record("weights"))
    monkeypatch.setattr(data, "layer", record("layer"))
    monkeypatch.setattr(geometry, "national_view", record("national"))
    monkeypatch.setattr(geometry, "static_serving", lambda: False)
    monkeypatch.setattr(sites, "registry_sites", record("sites"))


def test_every_step_runs_and_a_failure_is_said_in_french(monkeypatch):
    from ui import gap, serve

    calls: list[str] = []
    _quiet_steps(monkeypatch, calls)

    def broken(_model):
        calls.append("gap")
        raise RuntimeError("registre illisible")

    monkeypatch.setattr(gap, "gap_bundle", broken)
    said: list[str] = []
    timings = serve.prepare(said.append)
    assert calls.count("gap") == 1 and calls.count("national") == 3 and calls.count("layer") == 6
    # the steps after the failure still ran
    assert "variables" in calls and "weights" in calls and "sites" in calls
    assert "gap" not in timings and "need" in timings
    assert any("écart à l'offre pour toute la France impossible (registre illisible)" in s
               and "démarre quand même" in s for s in said)


def test_an_empty_store_stops_after_the_imports(monkeypatch):
    from ui import data, serve

    calls: list[str] = []
    _quiet_steps(monkeypatch, calls)
    monkeypatch.setattr(data, "available", lambda name: False)
    timings = serve.prepare(lambda text: None)
    assert set(timings) == {"imports", "store"} and calls == []


def test_the_map_component_is_not_imported_before_the_runtime():
    """streamlit-folium registers its component only inside a script run: imported by the
    preparation, the map frame stayed empty (seen in Chromium)."""
    code = ("import sys; from ui import serve; serve.prepare(lambda t: None); "
            "print('streamlit_folium' in sys.modules, 'ui.mapview' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=settings.PROJECT_ROOT,
                         capture_output=True, text=True, check=True, timeout=600)
    assert out.stdout.split()[-2:] == ["False", "False"]
