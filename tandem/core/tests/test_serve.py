"""`tandem serve` as `make run` starts it: web server and worker together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

TANDEM = [sys.executable, "-m", "tandem"]


def migrated_demo_env(tmp_path) -> dict[str, str]:
    """The environment of a demo installation in tmp_path, its database migrated."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TANDEM_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        TANDEM_PROFILE="demo", TANDEM_VAR_DIR=str(tmp_path), TANDEM_DATABASE_URL=f"sqlite:///{tmp_path}/t.db"
    )
    subprocess.run([*TANDEM, "migrate", "-v", "0"], env=env, check=True, timeout=120)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def group_members(pgid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True).stdout
    return [int(pid) for pid, group in (line.split() for line in out.splitlines()) if int(group) == pgid]


def test_serve_answers_and_ctrl_c_stops_web_server_and_worker(tmp_path):
    env = migrated_demo_env(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [*TANDEM, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = b""
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        assert b'"ok"' in body
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2  # granian and the worker
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
        assert server.returncode == 0, output
        assert "Tandem stopped." in output
        for pid in map(int, children):
            assert not alive(pid) and not group_members(pid), f"process {pid} or its workers outlived serve"
    finally:
        if server.poll() is None:
            server.kill()


def test_the_worker_sends_queued_email_from_the_database_queue(tmp_path):
    env = migrated_demo_env(tmp_path)
    enqueue = "from tandem.accounts.tasks import send_email; send_email.enqueue(['a@example.test'], 'Queued hello', 'Body')"
    subprocess.run([*TANDEM, "shell", "-c", enqueue], env=env, check=True, timeout=60)
    result = subprocess.run(
        [*TANDEM, "worker", "--batch"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Subject: Queued hello" in result.stdout
    again = subprocess.run(
        [*TANDEM, "worker", "--batch"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "Queued hello" not in again.stdout  # sent once, not twice
