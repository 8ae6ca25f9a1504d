"""Django's SQLite backend, with writers queued by the operating system instead of polling.

Every transaction Tandem opens on SQLite is `BEGIN IMMEDIATE` (it takes the database's write
lock at once), and nearly every request writes (an audit row at least). When two worker
processes want the lock together, SQLite's busy handler makes the second one sleep and retry —
1, 2, 5, 10 ms… — long after the first has finished, leaving a core idle. Here each transaction
first takes an exclusive `flock` on a small file beside the database and releases it when the
transaction ends; a waiting writer looks again every half millisecond. The
database's own locking still stands behind it (a statement outside a transaction, another
program), so correctness never depends on this lock — only the waiting is better. In-memory
databases (the test suite's) need none.
"""

from __future__ import annotations

import fcntl
import os
import time
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_fd: int | None = None
    _writer_held = False

    def _writer_lock_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or not name:
            return None
        return f"{name}-writer"

    def _take_writer_lock(self) -> None:
        if self._writer_held:
            return
        if self._writer_fd is None:
            path = self._writer_lock_path()
            if path is None:
                return
            self._writer_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Waiting is in half-millisecond steps, up to the database's own busy timeout; after it
        # (a transaction of this thread on another connection, say) SQLite's lock decides alone.
        deadline = time.monotonic() + float(self.settings_dict["OPTIONS"].get("timeout", 5))
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.0005)
            else:
                self._writer_held = True
                return

    def _drop_writer_lock(self) -> None:
        if self._writer_held and self._writer_fd is not None:
            self._writer_held = False
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._drop_writer_lock()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._drop_writer_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._drop_writer_lock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._drop_writer_lock()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
