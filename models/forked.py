"""A computation run on the machine's second core, in a forked child, while the caller goes on.

A report is one long chain on one core: the territory's gap (about 1 s for the Nord) waits
for the statistical sources, the maps for the sections, the PDF for the maps; France's
production programme places each région's operations one région after the other. Some links
do not depend on each other. :class:`ForkedCall` starts one of them in a child made by
``fork`` (it inherits the data already in memory, nothing is copied up front), and
:meth:`ForkedCall.result` waits for its answer, sent back pickled.

A child is forked only where that is safe and useful: on Linux, with at least two cores, and
from a process running a single thread (the command line, the benchmarks; the thread that
only waits for the PDF's Chromium driver to exit and the one that drives Chromium while the
main thread waits for it do not count). The app's server
runs many threads, one of which may hold a lock at the moment of the fork: there, as anywhere
the child cannot be used or fails for any reason, the call runs in the process itself when its
result is asked for. The result is the same either way; only the time differs.

The function must only compute: it must not write to files, the registry or a cache shared
with the parent (the child's writes would be lost or would race with the parent's).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

ENV_SWITCH = "DIAG_CALCUL_EN_PARALLELE"  # "0": every call runs in the process itself
T = TypeVar("T")
# A thread whose name starts with this works only while the thread that gave it the work
# waits for the answer (:mod:`diagnostics.pdf_chromium`'s Playwright thread): when the main
# thread forks, it is blocked on its queue of work, holding no lock a child would need.
SERVING_PREFIX = "diag-service-"
# Threads that cannot hold a lock a child would need: asyncio's watcher of a subprocess (the
# PDF's Playwright driver) spends its life blocked in ``os.waitpid``; the serving threads.
WAITING_THREADS = ("asyncio-waitpid-", SERVING_PREFIX)


def can_fork() -> bool:
    """True where a child may run a computation (see the module's docstring)."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    if not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2:
        return False
    return all(thread is threading.main_thread() or thread.name.startswith(WAITING_THREADS)
               for thread in threading.enumerate())


_MISSING = object()


class _Failed:
    """What the child sends when its computation raised (the parent runs it again itself,
    so that the exception, if any, is raised where the caller expects it)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _child(connection, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        answer = function(*args, **kwargs)
    except BaseException as exc:
        answer = _Failed(f"{type(exc).__name__}: {exc}")
    try:
        connection.send(answer)
    except Exception as exc:  # not picklable: the parent computes it
        with contextlib.suppress(Exception):
            connection.send(_Failed(f"résultat non transmissible ({exc})"))
    finally:
        connection.close()


class _End:
    """What a child computing steps sends after its last one."""


def _steps_child(connection, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """Compute the steps and send each one; a thread sends them, so that computing the next
    step does not wait for the parent to read the previous one (a pipe holds 64 KiB)."""
    outbox: queue.SimpleQueue = queue.SimpleQueue()

    def send() -> None:
        while True:
            value = outbox.get()
            try:
                connection.send(value)
            except Exception as exc:
                if isinstance(value, _Failed | _End):
                    return
                with contextlib.suppress(Exception):  # not picklable: the parent computes it
                    connection.send(_Failed(f"valeur non transmissible ({exc})"))
                return
            if isinstance(value, _Failed | _End):
                return

    sender = threading.Thread(target=send, name="diag-envoi", daemon=True)
    sender.start()
    try:
        for value in function(*args, **kwargs):
            outbox.put(value)
        outbox.put(_End())
    except BaseException as exc:  # the parent computes the steps itself
        outbox.put(_Failed(f"{type(exc).__name__}: {exc}"))
    finally:
        sender.join()
        connection.close()


class ForkedCall(Generic[T]):
    """``function(*args, **kwargs)`` computed in a forked child when possible.

    Parameters
    ----------
    function
        A pure computation whose result can be pickled.
    label
        Names the computation in the log when the child cannot be used.
    """

    def __init__(self, function: Callable[..., T], *args: Any, label: str = "calcul",
                 **kwargs: Any) -> None:
        self._call = (function, args, kwargs)
        self.label = label
        self._done = False
        self._value: T | None = None
        self._process = self._connection = None
        if can_fork():
            try:
                self._start()
            except OSError as exc:  # no fork possible (limits): computed here later
                log.info("%s : calcul dans le processus principal (%s)", label, exc)
                self._process = self._connection = None

    _target = staticmethod(_child)

    @property
    def forked(self) -> bool:
        """True while a child is computing (or holds the answer)."""
        return self._process is not None

    def _start(self) -> None:
        import multiprocessing

        function, args, kwargs = self._call
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=self._target,
                                  args=(sender, function, args, kwargs),
                                  name=f"diag-{self.label}", daemon=True)
        process.start()
        sender.close()
        self._process, self._connection = process, receiver

    def result(self) -> T:
        """The computation's result (waits for the child; computes here if it failed)."""
        if self._done:
            return self._value  # type: ignore[return-value]
        answer: Any = _MISSING
        if self._connection is not None:
            try:
                answer = self._connection.recv()
            except (EOFError, OSError) as exc:
                answer = _Failed(f"{type(exc).__name__}: {exc}")
            finally:
                self.close()
            if isinstance(answer, _Failed):
                log.warning("%s : refait dans le processus principal (%s)", self.label,
                            answer.text)
        if answer is _MISSING or isinstance(answer, _Failed):
            function, args, kwargs = self._call
            answer = function(*args, **kwargs)
        self._value, self._done = answer, True
        self._call = (self._call[0], (), {})  # drop the inputs
        return answer

    def close(self) -> None:
        """Release the child (waits for it; kills it if it hangs). Its end of the pipe is
        closed first: a child still sending an answer stops at once."""
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
                process.join()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutting down
            self.close()


class ForkedSteps(ForkedCall[list]):
    """``function(*args, **kwargs)``, a generator, run in a forked child when possible: each
    value it yields is sent to the parent as soon as it is made, so that the parent may use
    the first ones while the child computes the next (a report's sections that need no gap,
    then their maps). Where no child is used, or it fails, the parent runs the generator itself
    (and skips the values it already has). The values are the same either way.
    """

    _target = staticmethod(_steps_child)

    def __init__(self, function: Callable[..., Any], *args: Any, label: str = "calcul",
                 **kwargs: Any) -> None:
        self._steps: list[Any] = []  # values received (or computed) so far
        self._local: Any = None  # the generator, when the parent computes the values
        super().__init__(function, *args, label=label, **kwargs)

    def step(self, index: int) -> Any:
        """The value yielded at ``index`` (from 0), waiting for it if needed."""
        while len(self._steps) <= index:
            if not self._next():
                raise IndexError(f"{self.label} : pas de valeur {index}")
        return self._steps[index]

    def result(self) -> list:
        """Every value yielded, in order."""
        while self._next():
            pass
        return list(self._steps)

    def _next(self) -> bool:
        """Receive (or compute) one more value; False when there is none left."""
        if self._done:
            return False
        if self._connection is not None:
            try:
                value = self._connection.recv()
            except (EOFError, OSError) as exc:
                value = _Failed(f"{type(exc).__name__}: {exc}")
            if not isinstance(value, _End | _Failed):
                self._steps.append(value)
                return True
            self.close()
            if isinstance(value, _End):
                self._done = True
                return False
            log.warning("%s : refait dans le processus principal (%s)", self.label, value.text)
        if self._local is None:
            function, args, kwargs = self._call
            self._local = iter(function(*args, **kwargs))
            for _ in self._steps:  # received from the child already
                next(self._local)
        try:
            self._steps.append(next(self._local))
            return True
        except StopIteration:
            self._done, self._local = True, None
            self._call = (self._call[0], (), {})
            return False
