from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Tandem with granian (WSGI) and run the background worker beside it. Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("TANDEM_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TANDEM_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")
        parser.add_argument(
            "--blocking-threads",
            type=int,
            default=1,
            help="threads per worker (1 keeps SQLite writers few; 2-4 on PostgreSQL)",
        )
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")

    def handle(self, *args: Any, **options: Any) -> None:
        bin_dir = Path(sys.executable).parent
        granian = bin_dir / "granian"
        web_cmd = [
            str(granian) if granian.exists() else "granian",
            "--interface",
            "wsgi",
            "--workers",
            str(options["workers"]),
            "--blocking-threads",
            str(options["blocking_threads"]),
            "--host",
            options["host"],
            "--port",
            str(options["port"]),
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers-kill-timeout",
            "5",
        ]
        if settings.PRODUCTION:
            web_cmd += ["--static-path-route", "/static", "--static-path-mount", str(settings.STATIC_ROOT)]
        web_cmd.append("tandem.wsgi:application")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tandem.settings"),
        }
        # Each child leads its own process group, so that stopping it reaches its workers too.
        children: list[subprocess.Popen[bytes]] = [
            subprocess.Popen(web_cmd, env=env, start_new_session=True)  # noqa: S603
        ]
        if not options["no_worker"]:
            worker_cmd = [sys.executable, "-m", "tandem", "worker"]
            children.append(subprocess.Popen(worker_cmd, env=env, start_new_session=True))  # noqa: S603
        self.stdout.write(f"Tandem is serving on http://{options['host']}:{options['port']}/  (Ctrl-C stops)")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            self._stop(children)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT, None)]
        if failed and not stopping:
            self.stderr.write("a server process stopped unexpectedly; Tandem is shutting down")
            sys.exit(1)
        self.stdout.write("Tandem stopped.")

    @staticmethod
    def _stop(children: list[subprocess.Popen[bytes]]) -> None:
        """SIGTERM each child's process group, then SIGKILL whatever is left after 10 s."""
        for child in children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
