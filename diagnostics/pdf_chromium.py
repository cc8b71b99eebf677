"""The territory report printed to PDF by headless Chromium (Playwright), in less than half of
WeasyPrint's time.

The Nord's report is 30 to 40 A4 pages of tables, text and eleven maps. WeasyPrint, a
pure-Python layout engine, took 5.7 to 6.5 s on this machine (bench line
``report_weasyprint_dep59_s``) to lay them out and write them; Chromium 2.4 to 2.7 s, its
start included (2 s started: ``report_chromium_dep59_s``), for the same HTML, the same stylesheet
(``@page`` margin boxes with the page number and the FICTIF banner) and the same maps.

What Chromium does not implement is handled here, with the same result on paper:

* ``target-counter()`` (the page numbers of the table of contents): the document is printed
  once; each section's page is read from the PDF's named destinations (every table-of-contents
  link has one); the numbers are written into the contents' entries and only the
  table-of-contents pages are printed again, then put in place of the first ones (pypdf),
  which also writes the bookmarks (one per section).
* ``string()`` (the territory's name in the header) is written by the template as a literal
  when the engine is Chromium.

Nothing reaches the network: scripts are disabled in the page, and every request is refused
except the report's own maps (``https://rapport.invalid/cartes/<clé>.png``), served from the
bytes drawn by :mod:`diagnostics.static_maps` (maybe still being drawn on the other core:
Chromium parses the document meanwhile). ``data:`` images (charts) are not requests.

One Chromium serves the whole process (:func:`shared`): started while the first report's gap
is computed, with the page of the next document already open, and stopped when the process
ends. Each document has its own context and page (nothing of one is seen by the next).

Where Chromium or Playwright is missing, or printing fails, :func:`diagnostics.report.render_pdf`
uses WeasyPrint (the same document; slower). ``DIAG_MOTEUR_PDF=weasyprint`` forces it.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import queue
import shutil
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path

log = logging.getLogger(__name__)

ENGINE_ENV = "DIAG_MOTEUR_PDF"  # "weasyprint" or "chromium" (default: Chromium when present)
EXECUTABLE_ENV = "DIAG_CHROMIUM"  # path of the Chromium executable
MAP_ORIGIN = "https://rapport.invalid/cartes/"
TIMEOUT_MS = 180_000  # a loaded machine may take long to draw the maps the page waits for
ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-quic",
)
# Print options: the stylesheet's A4 page and margins, its backgrounds (FICTIF banner, table
# heads). Chromium's tagged PDF (and the outline it derives from the tags) would double the
# time of the printing and of pypdf's pass: the bookmarks are written by :func:`finish`.
PDF_OPTIONS = {"prefer_css_page_size": True, "print_background": True, "tagged": False,
               "outline": False}

# Writes each section's page number into its table-of-contents entry (run by Playwright in
# the page; the page's own scripts are disabled).
FILL_TOC_JS = """(numbers) => {
  for (const [target, number] of Object.entries(numbers)) {
    const cell = document.querySelector(`.toc .toc-page[data-cible="${target}"]`);
    if (cell) cell.textContent = String(number);
  }
}"""


class ChromiumError(RuntimeError):
    """Chromium could not print the report (the caller falls back to WeasyPrint)."""


def executable() -> str | None:
    """Path of the Chromium to use, or None."""
    configured = os.environ.get(EXECUTABLE_ENV)
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def wanted() -> bool:
    """True when the report should be printed by Chromium (present, and not switched off)."""
    if os.environ.get(ENGINE_ENV, "").strip().lower() == "weasyprint":
        return False
    if executable() is None:
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _quiet_pypdf():
    """pypdf warns about Chromium's trailer size (one less than the objects it writes): a
    harmless count the user has nothing to do with."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def section_pages(pdf: bytes, targets: list[str]) -> dict[str, int]:
    """Page number (from 1) of each target id, read from the PDF's named destinations."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = {}
    for name, destination in reader.named_destinations.items():
        key = str(name).lstrip("/")
        if key in targets:
            found[key] = reader.get_destination_page_number(destination) + 1
    missing = [t for t in targets if t not in found]
    if missing:
        raise ChromiumError(f"destinations absentes du PDF : {', '.join(missing)}")
    return found


def finish(pdf: bytes, replacement: bytes | None, first: int,
           bookmarks: list[tuple[str, int]]) -> bytes:
    """``pdf`` with its pages from index ``first`` on replaced by the pages of ``replacement``
    (their drawing and resources; the links and the rest of each page are kept), and one
    bookmark per ``(title, page number from 1)``."""
    import pypdf
    from pypdf.generic import NameObject

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    if replacement is not None:
        for offset, new in enumerate(pypdf.PdfReader(io.BytesIO(replacement)).pages):
            page = writer.pages[first + offset]
            for key in ("/Contents", "/Resources"):
                page[NameObject(key)] = new.raw_get(key).clone(writer)
    for title, number in bookmarks:
        writer.add_outline_item(title=title, page_number=number - 1)
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_count(pdf: bytes) -> int:
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _server(images: Mapping[str, bytes], refused: list[str]):
    def handle(route) -> None:
        url = route.request.url
        key = url.removeprefix(MAP_ORIGIN).removesuffix(".png") if url.startswith(MAP_ORIGIN) else None
        if key is not None and key in images:
            route.fulfill(status=200, content_type="image/png", body=images[key])
        else:
            refused.append(url)
            route.abort("blockedbyclient")

    return handle


class Printer:
    """One headless Chromium, started when :meth:`start` is called (early, while something
    else is computed: :func:`diagnostics.produce.build`'s wait for the territory's gap) or
    when the first document is printed; :meth:`close` stops it.

    Starting takes about a second (Playwright's driver, then Chromium), and a page's renderer
    0.2 s more: :func:`shared` keeps one printer for the whole process, so that only its first
    document waits for them. Playwright's synchronous API belongs to the thread that started
    it: every call runs in the printer's own thread (named with
    :data:`models.forked.SERVING_PREFIX`), while the calling thread waits for the answer;
    so any thread may print (the app's script threads), one document at a time.

    A failure to start is kept and raised as :class:`ChromiumError` by :meth:`print`, so the
    caller falls back; a failure while printing stops Chromium, which the next document
    starts again.
    """

    def __init__(self) -> None:
        self._manager = self._playwright = self._browser = None
        self._failure: str | None = None
        self._opened = None  # (context, page) opened beforehand for the next document
        self._jobs: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()  # one document (or start, or close) at a time

    # -- the thread that owns Playwright -----------------------------------------------------
    def _call(self, function, *args):
        """``function(*args)`` run in the printer's thread (started on first use)."""
        if self._pid != os.getpid():  # a forked child's copy: its parent's thread is not here
            self.__init__()
        if self._thread is None:
            from models.forked import SERVING_PREFIX

            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(target=_serve, args=(self._jobs,), daemon=True,
                                            name=f"{SERVING_PREFIX}chromium")
            self._thread.start()
        done: Future = Future()
        self._jobs.put((function, args, done))
        return done.result()

    def start(self) -> Printer:
        """Start Chromium and open the next document's page, if not done yet."""
        with self._lock:
            self._call(self._start_here)
        return self

    def _start_here(self) -> None:
        if self._failure is not None:
            return
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            path = executable()
            if path is None:
                self._failure = "Chromium introuvable"
                return
            try:
                self._manager = sync_playwright()
                self._playwright = self._manager.__enter__()
                self._browser = self._playwright.chromium.launch(executable_path=path,
                                                                 args=list(ARGS), headless=True)
            except Exception as exc:  # no driver, no browser, no display of any kind
                self._failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._close_here()
                return
        if self._opened is None:
            try:
                self._opened = self._open()  # the page's renderer process starts now
            except Exception:  # the browser went away: started again for the document
                self._close_here()

    def print(self, html: str, images: Mapping[str, bytes], sections: list[tuple[str, str]],
              refused: list[str] | None = None) -> bytes:
        """Print ``html`` (made with ``engine="chromium"``) to PDF.

        Parameters
        ----------
        html
            The report in print mode; its maps at ``MAP_ORIGIN<clé>.png``.
        images
            Map key → PNG; reading a value may wait for it to be drawn.
        sections
            ``(id, title)`` of the sections listed in the table of contents, in order (their
            pages fill the contents and the bookmarks).
        refused
            Receives the address of every request refused (tests).
        """
        refused = [] if refused is None else refused
        with self._lock:
            return self._call(self._print_here, html, images, sections, refused)

    def _print_here(self, html, images, sections, refused) -> bytes:
        from playwright.sync_api import Error as PlaywrightError

        self._start_here()
        if self._browser is None:
            raise ChromiumError(self._failure or "Chromium non démarré")
        try:
            opened, self._opened = self._opened, None
            context, page = opened or self._open()
            try:
                return self._print(page, html, images, sections, refused)
            finally:
                context.close()
        except PlaywrightError as exc:
            self._close_here()  # maybe gone: the next document starts it again
            raise ChromiumError(str(exc).splitlines()[0] if str(exc) else "erreur") from exc

    def _open(self):
        """A new context (scripts off) and its page."""
        context = self._browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return context, page

    @staticmethod
    def _print(page, html, images, sections, refused) -> bytes:
        page.route("**/*", _server(images, refused))
        page.set_content(html, wait_until="load")
        pdf = page.pdf(**PDF_OPTIONS)
        if not sections:
            return pdf
        with _quiet_pypdf():
            numbers = section_pages(pdf, [key for key, _title in sections])
        bookmarks = [(f"{rank}. {title}", numbers[key])
                     for rank, (key, title) in enumerate(sections, start=1)]
        first_section = min(numbers.values())
        toc = None
        if first_section > 2:  # contents between the cover and the first section
            page.evaluate(FILL_TOC_JS, numbers)
            toc = page.pdf(**PDF_OPTIONS, page_ranges=f"2-{first_section - 1}")
        with _quiet_pypdf():
            if toc is not None and _page_count(toc) != first_section - 2:
                raise ChromiumError("le sommaire a changé de longueur")
            return finish(pdf, toc, 1, bookmarks)

    @property
    def running(self) -> bool:
        """True while Chromium is started."""
        return self._browser is not None and self._pid == os.getpid()

    def close(self) -> None:
        """Stop Chromium and Playwright's driver (the driver takes the browser down with it),
        then the printer's thread."""
        if self._pid != os.getpid():
            return
        with self._lock:
            thread, jobs = self._thread, self._jobs
            if thread is None:
                return
            self._call(self._close_here)
            self._thread = self._jobs = None
            jobs.put(None)
            thread.join(timeout=30)

    def _close_here(self) -> None:
        manager, self._manager, self._playwright, self._browser = self._manager, None, None, None
        self._opened = None
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.__exit__(None, None, None)

    def __enter__(self) -> Printer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.close()


def _serve(jobs: queue.SimpleQueue) -> None:
    """The printer's thread: run each ``(function, args, future)`` until told to stop."""
    while (job := jobs.get()) is not None:
        function, args, done = job
        try:
            done.set_result(function(*args))
        except BaseException as exc:  # given to the waiting caller
            done.set_exception(exc)


_shared: Printer | None = None
_shared_lock = threading.Lock()


def shared() -> Printer:
    """The process's printer, kept from one document to the next (the app's downloads, the
    command line's formats, the benchmarks) and stopped when the process ends."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._pid != os.getpid():
            _shared = Printer()
            atexit.register(_shared.close)
        return _shared


def shutdown() -> None:
    """Stop the process's printer now (the next document starts another)."""
    global _shared
    with _shared_lock:
        printer, _shared = _shared, None
    if printer is not None:
        printer.close()


def print_pdf(html: str, images: Mapping[str, bytes], sections: list[tuple[str, str]],
              refused: list[str] | None = None) -> bytes:
    """:meth:`Printer.print` with a Chromium started and stopped for this document."""
    with Printer() as printer:
        return printer.print(html, images, sections, refused)
