"""A second process working ahead of the importing one (`tandem import`, two cores).

The importing process writes a chunk, then recomputes what follows from it; checking and
scoring the next chunk's resources needs no database. `Ahead.start(work)` forks a process that
runs `work(outbox)`, which sends one answer per chunk, in order; the importing process takes them
with `next()`, one per chunk, while the other prepares the following ones (never more than
AHEAD answers waiting to be taken).

An answer is a head start, never a verdict: what it does not cover, the importing process does
itself, as it would without it. So the second process is given up — and the work done in the
importing process from then on — whenever it cannot be started (no fork, other threads running),
fails, ends early or falls silent for WAIT seconds; it is ended with the import, whatever
happens, and ends by itself if the importing process dies (its next send fails).

The forked process must not use the database: it shares the importing process's connection.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)

WAIT = 60.0  # seconds without an answer before the importing process does the work itself
AHEAD = 4  # answers waiting to be taken, at most


class Outbox:
    """What the work sends its answers with: `send(answer)`, and `waiting()`, how many sent
    answers the importing process has not taken yet (0: it waits for the next one)."""

    def __init__(self, send: Callable[[Any], None], waiting: Callable[[], int]) -> None:
        self.send = send
        self.waiting = waiting


Work = Callable[[Outbox], None]


class Ahead:
    def __init__(self, process: Any, answers: Connection) -> None:
        self.process = process
        self.answers: Connection | None = answers

    @classmethod
    def start(cls, work: Work) -> Ahead | None:
        """The process started, or None when it cannot be (the caller does the work)."""
        if threading.active_count() > 1:  # a fork copies no other thread, nor what they hold
            return None
        try:
            context = multiprocessing.get_context("fork")
            answers, sender = context.Pipe(duplex=False)
            process = context.Process(target=_run, args=(work, sender, answers), daemon=True)
            process.start()
        except (ValueError, OSError):  # no fork on this platform, or no process to be had
            logger.warning("working ahead in a second process is not possible here", exc_info=True)
            return None
        sender.close()
        return cls(process, answers)

    def next(self) -> Any | None:
        """The next chunk's answer; None once the process is given up (then for good)."""
        if self.answers is None:
            return None
        try:
            if self.answers.poll(WAIT):
                return self.answers.recv()
            logger.warning("the second process of the import fell silent; going on without it")
        except (EOFError, OSError):  # it ended (or failed) before this chunk
            pass
        except Exception:  # an answer that cannot be read: nothing lost, the work is done here
            logger.warning("an answer of the import's second process could not be read", exc_info=True)
        self.close()
        return None

    def close(self) -> None:
        if self.answers is not None:
            self.answers.close()
            self.answers = None
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():  # pragma: no cover - it ignored SIGTERM
            self.process.kill()
            self.process.join()


def _run(work: Work, sender: Connection, answers: Connection) -> None:
    """In the forked process: the work, its answers sent by a thread (up to AHEAD of them
    waiting), so that the work goes on while the importing process is busy; ends quietly when
    the importing process stops listening."""
    answers.close()  # so that a send fails once the importing process is gone
    waiting: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    gone = threading.Event()

    def send_each() -> None:
        try:
            while (answer := waiting.get()) is not _END:
                sender.send(answer)
        except Exception:  # the importing process is gone, or the answer cannot be sent
            gone.set()
            logger.debug("an answer of the import's second process was not sent", exc_info=True)

    def put(answer: Any) -> None:
        while not gone.is_set():
            try:
                waiting.put(answer, timeout=1.0)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the importing process no longer listens")

    thread = threading.Thread(target=send_each, daemon=True)
    thread.start()
    try:
        work(Outbox(put, waiting.qsize))
    except (BrokenPipeError, EOFError, OSError):
        pass
    except Exception:
        logger.warning("the import's second process failed; the import goes on without it", exc_info=True)
    finally:
        with contextlib.suppress(BrokenPipeError):
            put(_END)
        thread.join()
        sender.close()


_END = object()
