"""Start-up configuration: each check runs `tandem` in a fresh process, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BASE_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith("TANDEM_") and k not in ("DJANGO_ALLOW_ASYNC_UNSAFE",)
}
GOOD_SECRET = "k3Y-" + "x9Qz" * 16
PRODUCTION = {
    "TANDEM_PROFILE": "production",
    "TANDEM_SECRET_KEY": GOOD_SECRET,
    "TANDEM_ALLOWED_HOSTS": "tandem.example.org",
    "TANDEM_SMTP_HOST": "smtp.example.org",
    "TANDEM_DATABASE_URL": "sqlite:////tmp/tandem-settings-test.sqlite3",
}


def tandem(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_profile_is_clean_under_check_deploy():
    result = tandem("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TANDEM_SECRET_KEY": ""}, "TANDEM_SECRET_KEY"),
        ({"TANDEM_SECRET_KEY": "short"}, "TANDEM_SECRET_KEY"),
        ({"TANDEM_ALLOWED_HOSTS": ""}, "TANDEM_ALLOWED_HOSTS"),
        ({"TANDEM_SMTP_HOST": ""}, "TANDEM_SMTP_HOST"),
        ({"TANDEM_DEBUG": "true"}, "TANDEM_DEBUG"),
        ({"TANDEM_DEBUG": "perhaps"}, "TANDEM_DEBUG"),
        ({"TANDEM_IDLE_TIMEOUT_MINUTES": "soon"}, "TANDEM_IDLE_TIMEOUT_MINUTES"),
        ({"TANDEM_IDLE_TIMEOUT_MINUTES": "0"}, "TANDEM_IDLE_TIMEOUT_MINUTES"),
        ({"TANDEM_DATABASE_URL": "mysql://x/y"}, "TANDEM_DATABASE_URL"),
        ({"TANDEM_TIME_ZONE": "Mars/Olympus"}, "TANDEM_TIME_ZONE"),
        ({"TANDEM_REQUIRE_MFA": "maybe"}, "TANDEM_REQUIRE_MFA"),
        ({"TANDEM_SMTP_PORT": "70000"}, "TANDEM_SMTP_PORT"),
    ],
)
def test_a_bad_or_missing_value_stops_start_up_naming_the_variable(env, named):
    result = tandem("check", **{**PRODUCTION, **env})
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_profile_is_named():
    result = tandem("check", TANDEM_PROFILE="staging")
    assert result.returncode == 2
    assert "TANDEM_PROFILE" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(GOOD_SECRET + "\n")
    env = {**PRODUCTION, "TANDEM_SECRET_KEY": "", "TANDEM_SECRET_KEY_FILE": str(secret)}
    env.pop("TANDEM_SECRET_KEY")
    assert tandem("check", **env).returncode == 0
    env["TANDEM_SECRET_KEY_FILE"] = str(tmp_path / "missing")
    result = tandem("check", **env)
    assert result.returncode == 2 and "TANDEM_SECRET_KEY_FILE" in result.stderr


def test_mfa_is_required_by_default_in_production_and_not_in_the_demo():
    code = "from django.conf import settings; print(settings.REQUIRE_MFA)"
    assert tandem("shell", "-c", code, **PRODUCTION).stdout.strip().splitlines()[-1] == "True"
    assert (
        tandem("shell", "-c", code, TANDEM_PROFILE="demo", TANDEM_VAR_DIR="/tmp/tandem-settings-var")
        .stdout.strip()
        .splitlines()[-1]
        == "False"
    )


def test_demo_refuses_to_run_in_production():
    result = tandem("demo", **PRODUCTION)
    assert result.returncode != 0
    assert "refuses to run in the production profile" in result.stderr
