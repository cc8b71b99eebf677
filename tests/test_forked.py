"""Work on the second core (``models.forked``): a child computes, the parent
gets the same result as when it computes alone, and a failing child costs only time.

The report-level tests build the Creuse's diagnostic twice, with and without children, and
compare what a reader gets: the gap's figures and tables, the PDF's text and images page by
page (the PDFs differ only by their images' internal names, derived from the addresses).
"""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest

from models import forked
from models.forked import ForkedCall
from tests import report_support as support

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="pas de fork ici (un seul cœur ?)")


def _pid() -> int:
    return os.getpid()


def _square(value: int) -> int:
    return value * value


def _fails_in_child(parent: int) -> str:
    if os.getpid() != parent:
        raise RuntimeError("échec simulé dans l'enfant")
    return "calculé par le parent"


def _unpicklable_in_child(parent: int):
    if os.getpid() != parent:
        return lambda: None  # a lambda cannot be pickled
    return "calculé par le parent"


def _none() -> None:
    return None


@needs_fork
def test_a_child_computes_the_result():
    call = ForkedCall(_pid, label="test")
    assert call.forked
    assert call.result() != os.getpid()  # computed elsewhere
    assert ForkedCall(_square, 12).result() == 144


@needs_fork
def test_a_failing_child_is_replaced_by_the_parent():
    assert ForkedCall(_fails_in_child, os.getpid()).result() == "calculé par le parent"
    assert ForkedCall(_unpicklable_in_child, os.getpid()).result() == "calculé par le parent"


def test_an_exception_reaches_the_caller_as_without_child():
    def always_fails() -> None:
        raise ValueError("toujours")

    with pytest.raises(ValueError, match="toujours"):
        ForkedCall(always_fails).result()


def test_a_none_result_is_not_computed_twice():
    assert ForkedCall(_none).result() is None


def test_switched_off_or_threaded_the_parent_computes(monkeypatch):
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    call = ForkedCall(_pid)
    assert not call.forked and call.result() == os.getpid()
    monkeypatch.delenv(forked.ENV_SWITCH)

    import threading

    seen = {}
    ready, release = threading.Event(), threading.Event()

    def worker():
        ready.set()
        release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        ready.wait(10)
        seen["can_fork"] = forked.can_fork()
    finally:
        release.set()
        thread.join()
    assert seen["can_fork"] is False  # another thread may hold a lock: never fork then


def _blocked_thread(name: str):
    import threading

    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(10,), name=name, daemon=True)
    thread.start()
    return thread, release


def test_a_thread_waiting_for_a_subprocess_does_not_stop_the_fork():
    """asyncio's subprocess watcher (the PDF's Playwright driver) only waits in os.waitpid."""
    if not forked.can_fork():
        pytest.skip("pas de fork ici")
    thread, release = _blocked_thread("asyncio-waitpid-7")
    try:
        assert forked.can_fork()
        call = ForkedCall(_pid)
        assert call.forked and call.result() != os.getpid()
    finally:
        release.set()
        thread.join()
    thread, release = _blocked_thread("asyncio-waitpid-7-mais-pas-seul")
    other, release_other = _blocked_thread("travail")
    try:
        assert not forked.can_fork()  # any other thread still forbids it
    finally:
        release.set()
        release_other.set()
        thread.join()
        other.join()


def test_maps_are_dealt_between_two_children():
    from diagnostics.background_maps import shares

    assert shares(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert shares(["a"], 2) == [["a"]]
    assert shares([], 2) == []


# -- the report --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def creuse_both_ways(shared_data):
    """The Creuse's diagnostic built with children (as the command line) and without."""
    from diagnostics.produce import build

    parallel = support.diagnostic("dep:23")
    previous = os.environ.get(forked.ENV_SWITCH)
    os.environ[forked.ENV_SWITCH] = "0"
    try:
        alone = build("dep:23", support.report_store(), registry_url=support.registry_url())
    finally:
        if previous is None:
            os.environ.pop(forked.ENV_SWITCH, None)
        else:
            os.environ[forked.ENV_SWITCH] = previous
    return parallel, alone


def test_gap_computed_in_a_child_is_the_gap_computed_alone(creuse_both_ways):
    parallel, alone = creuse_both_ways
    pd.testing.assert_frame_equal(parallel.exports["communes"], alone.exports["communes"])
    for left, right in zip(parallel.tables(), alone.tables(), strict=True):
        assert (left.title, left.columns, left.rows) == (right.title, right.columns, right.rows)
        if left.data is not None:
            pd.testing.assert_frame_equal(left.data, right.data)
    assert len(parallel.tables()) == len(alone.tables()) > 10
    assert [s.title for s in parallel.sections] == [s.title for s in alone.sections]


def test_raster_is_written_after_a_gap_computed_in_a_child(creuse_both_ways, tmp_path):
    import rasterio

    from diagnostics import exports

    parallel, alone = creuse_both_ways
    (one,) = exports.write_geotiff(parallel, tmp_path / "enfant.tif")
    (two,) = exports.write_geotiff(alone, tmp_path / "seul.tif")
    with rasterio.open(one) as a, rasterio.open(two) as b:
        assert a.descriptions == b.descriptions
        assert (a.read(masked=True) == b.read(masked=True)).all()


def _pages(pdf: bytes) -> list[tuple[str, list[bytes]]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return [(page.extract_text(), [image.data for image in page.images]) for page in reader.pages]


def test_pdf_with_maps_drawn_in_a_child_has_the_same_pages(creuse_both_ways):
    from diagnostics import report

    diag = creuse_both_ways[0]
    maps = report.background_images(diag)
    assert maps.forked == forked.can_fork()
    in_child = report.render_pdf(diag, maps)
    drawn_here = report.render_pdf(diag, report.static_images(diag))
    pages_child, pages_here = _pages(in_child), _pages(drawn_here)
    assert len(pages_child) == len(pages_here)
    assert sum(len(images) for _, images in pages_here) >= 5  # the maps are there
    for (text_a, images_a), (text_b, images_b) in zip(pages_child, pages_here, strict=True):
        assert text_a == text_b
        assert images_a == images_b
    assert _image_objects(in_child) == _image_objects(drawn_here)  # a repeated map stored once


def _image_objects(pdf: bytes) -> int:
    """Distinct image objects of the PDF (the synthesis repeats a map of its section)."""
    from pypdf import PdfReader

    found = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in (page.get("/Resources") or {}).get("/XObject", {}).values():
            found.add(ref.idnum)
    return len(found)


@needs_fork
def test_work_waits_with_the_parent_for_the_gap(shared_data, monkeypatch):
    """``while_waiting`` runs once, while the gap's child computes (the PDF's Chromium starts
    there); without a child there is no wait, and it is not called."""
    from diagnostics.inputs import gather

    calls = []
    gather("dep:23", support.report_store(), registry_url=support.registry_url(),
           while_waiting=lambda known: calls.append((forked.can_fork(), known.gap)))
    assert calls == [(True, None)]  # the inputs known so far, without the gap
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    gather("dep:23", support.report_store(), registry_url=support.registry_url(),
           while_waiting=lambda known: calls.append("sans enfant"))
    assert calls == [(True, None)]


def _descendants() -> set[int]:
    """Processes below this one (read from /proc)."""
    from pathlib import Path

    parents = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(status.parent.name)] = int(fields[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _main_processes(pids: set[int]) -> set[int]:
    """The processes that are not one of Chromium's helpers (renderer, GPU, zygote…)."""
    from pathlib import Path

    found = set()
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if command and b"--type=" not in command:  # (a helper that exits has none)
            found.add(pid)
    return found


@needs_fork
def test_pdf_download_starts_chromium_during_the_gap_and_keeps_it_for_the_next(shared_data,
                                                                              monkeypatch):
    """The first PDF starts the process's Chromium while the gap is computed; the next one
    prints with the same processes (none started again); stopping it leaves no process."""
    from diagnostics import pdf_chromium
    from diagnostics.produce import report_bytes

    if not pdf_chromium.wanted():
        pytest.skip("Chromium absent")
    pdf_chromium.shutdown()
    started = []
    original = pdf_chromium.Printer.start

    def start(self):
        started.append((self.running, forked.can_fork()))
        return original(self)

    monkeypatch.setattr(pdf_chromium.Printer, "start", start)
    before = _descendants()
    from pypdf import PdfReader

    store, url = support.report_store(), support.registry_url()
    pdf, name, _mime = report_bytes("dep:23", "pdf", store, registry_url=url)
    assert pdf.startswith(b"%PDF") and name == "diagnostic_creuse.pdf"
    assert "Skia" in PdfReader(io.BytesIO(pdf)).metadata.producer  # printed by Chromium
    assert started == [(False, True)]  # started from the gap's wait, where children are forked
    kept = _descendants() - before
    assert kept  # Playwright's driver and Chromium, kept for the next document
    again, _name, _mime = report_bytes("dep:23", "pdf", store, registry_url=url)
    assert started == [(False, True), (True, True)]  # running already; children still forked
    assert "Skia" in PdfReader(io.BytesIO(again)).metadata.producer
    assert len(PdfReader(io.BytesIO(again)).pages) == len(PdfReader(io.BytesIO(pdf)).pages)
    # The same driver and browser printed it (each document has a new page, whose renderer
    # is a new process: ``--type=renderer``).
    assert _main_processes(_descendants() - before) == _main_processes(kept)
    pdf_chromium.shutdown()
    import time

    for _ in range(50):  # the driver and the browser are gone (their exit may take a moment)
        if not (_descendants() - before):
            break
        time.sleep(0.1)
    assert not (_descendants() - before)


@needs_fork
def test_maps_drawn_while_the_gap_is_computed_are_the_reports_maps(shared_data):
    """The sections that need no gap and their maps, made by a child from the inputs known
    before the gap, and the gap's maps, drawn from the gathered inputs while the sections are
    built, are taken by the report only where they draw the same PNG as its own maps; the
    report built with the child's sections is the one built without."""
    from diagnostics import report
    from diagnostics.background_maps import GAP, EarlyMaps
    from diagnostics.produce import build
    from diagnostics.territory_diagnostic import build_diagnostic

    early = []

    def meanwhile(known):
        early.append(EarlyMaps(known))

    held = {}

    def gathered(inputs):
        assert inputs.gap is not None
        early.append(EarlyMaps(inputs, stage=GAP))
        held["inputs"], held["sections"] = inputs, early[0].sections()
        return held["sections"]

    diag = build("dep:23", support.report_store(), registry_url=support.registry_url(),
                 while_waiting=meanwhile, when_gathered=gathered)
    assert held["sections"].built_from(held["inputs"])  # taken by the build
    maps = report.background_images(diag, early=early[:1])
    both = report.background_images(diag, early=early)
    try:
        taken = maps.from_early()
        # No gap in them (the need map is drawn once, under the synthesis' key).
        assert {maps.drawing(key) for key in ("densite", "politiques", "besoin", "offre")} <= taken
        assert "ecart" not in taken and "zones_blanches" not in taken
        assert {"ecart", "zones_blanches"} <= both.from_early()
        assert not both._calls  # nothing left to draw after the report is built
        alone = report.static_images(diag)
        assert {key: maps[key] for key in maps} == alone  # byte for byte
        assert {key: both[key] for key in both} == alone
    finally:
        maps.close()
        both.close()
        for one in early:
            one.close()
    # The same report as from sections built here, from the whole inputs.
    assert _text(build_diagnostic(held["inputs"])) == _text(diag)


def _text(diag) -> str:
    from diagnostics import report

    uris = {spec.key: "x" for spec in diag.maps()}
    return report.render_html(diag, images={key: b"" for key in uris}, interactive=False,
                              mode="pdf", uris=uris)


@needs_fork
def test_a_map_drawn_early_from_other_inputs_is_drawn_again(shared_data):
    """An early map whose appearance differs from the report's (here: the gap's maps drawn
    from another territory's inputs) is not taken: the report draws its own."""
    from diagnostics import report
    from diagnostics.background_maps import GAP, EarlyMaps
    from diagnostics.inputs import gather
    from diagnostics.produce import build

    store, url = support.report_store(), support.registry_url()
    other = EarlyMaps(gather("dep:87", store, registry_url=url), stage=GAP)
    diag = build("dep:23", store, registry_url=url)
    maps = report.background_images(diag, early=[other])
    try:
        assert not {"ecart", "zones_blanches"} & maps.from_early()
        assert {key: maps[key] for key in maps} == report.static_images(diag)
    finally:
        maps.close()
        other.close()


def test_the_gaps_shared_tables_loaded_beforehand_change_no_figure(shared_data, monkeypatch):
    """``results.prepare_gap`` loads what every territory's gap reads (so that a forked child
    inherits it instead of reading it again): the economic model's parameters, the communes'
    terms, OpenFisca-France's values; the Creuse's gap and programme are the same with them
    loaded beforehand as when the gap loads them itself."""
    from diagnostics.inputs import gather
    from models import household_aid, programme_costs, results

    monkeypatch.setenv(forked.ENV_SWITCH, "0")  # the gap in this process: its caches seen here
    store, url = support.report_store(), support.registry_url()

    def forget() -> None:
        programme_costs.clear_cache()
        programme_costs._terms_table.cache_clear()
        for value in vars(household_aid).values():  # every value read, and what depends on it
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

    forget()
    alone = gather("dep:23", store, registry_url=url).gap
    forget()
    results.prepare_gap(store)
    assert programme_costs._terms_table.cache_info().currsize == 1
    assert programme_costs._evaluate.cache_info().currsize >= len(programme_costs.kinds())
    read = household_aid._read.cache_info().currsize
    assert read > 10  # the values each kind of operation reads
    prepared = gather("dep:23", store, registry_url=url).gap
    assert household_aid._read.cache_info().currsize == read  # nothing left to read
    pd.testing.assert_frame_equal(alone.frame, prepared.frame)
    pd.testing.assert_frame_equal(alone.programme.operations, prepared.programme.operations)
    pd.testing.assert_frame_equal(alone.programme.families, prepared.programme.families)
    for variant in ("central", "low", "high"):
        pd.testing.assert_frame_equal(alone.programme.yearly(variant),
                                      prepared.programme.yearly(variant))


def _steps(parent: int, fail_after: int | None = None):
    for index in range(3):
        if fail_after is not None and index == fail_after and os.getpid() != parent:
            raise RuntimeError("échec simulé dans l'enfant")
        yield (index, os.getpid() == parent)


def _big_steps():
    yield b"x" * 1_000_000  # more than a pipe holds
    yield "suite"


@needs_fork
def test_steps_reach_the_parent_one_by_one_and_the_same_without_a_child(monkeypatch):
    """A child's steps come in order as soon as made (the first one read before the last is
    asked for); a child failing after its first step is replaced by the parent for the others;
    without a child the parent makes them all; the values are the same."""
    from models.forked import ForkedSteps

    parent = os.getpid()
    steps = ForkedSteps(_steps, parent, label="test")
    assert steps.forked
    assert steps.step(0) == (0, False)  # made by the child
    assert steps.result() == [(0, False), (1, False), (2, False)]
    failing = ForkedSteps(_steps, parent, 1, label="test")
    assert failing.result() == [(0, False), (1, True), (2, True)]
    big = ForkedSteps(_big_steps, label="test")
    assert big.step(1) == "suite" and len(big.step(0)) == 1_000_000
    unread = ForkedSteps(_big_steps, label="test")
    unread.close()  # a child still sending stops at once
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    alone = ForkedSteps(_steps, parent, label="test")
    assert not alone.forked
    assert alone.result() == [(0, True), (1, True), (2, True)]
    with pytest.raises(IndexError):
        alone.step(3)
