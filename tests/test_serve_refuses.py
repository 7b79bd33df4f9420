"""`alafia serve` is closed by default: started as a newcomer would, without the callbacks'
secrets, without a Redis server or with the payment sandbox, it refuses and names every
setting at once; `alafia worker` refuses the embedded Redis and the sandbox; the demo stays
open but only on a loopback address."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import cli
from gateway.settings import ConfigError, Settings
from gateway.settings.production import serve_problems, worker_problems
from tests.support.http_server import free_port

USSD_TOKEN = "ussd-Hk3v9Qz0pLm2Xr7w"
AT_TOKEN = "at-Yb6Tn1Wq8Jd4Ks0e"
PRODUCTION = {
    "USSD_CALLBACK_TOKEN": USSD_TOKEN,
    "AT_CALLBACK_TOKEN": AT_TOKEN,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PUBLIC_BASE_URL": "https://alafia.mutuelles-borgou.bj",
}
# Every variable these checks read: a test's environment starts without any of them.
CHECKED = (*PRODUCTION, "PAYMENT_PROVIDER", "CALLBACK_ALLOW_NETWORKS", "FHIR_CANONICAL_BASE")


def named(problems: list[str]) -> list[str]:
    """The setting each problem is about: the first word of its line."""
    return [problem.split()[0].split("=")[0] for problem in problems]


def test_a_newcomers_serve_names_every_missing_setting_at_once() -> None:
    newcomer = Settings.from_env({"PAYMENT_PROVIDER": "sandbox"})

    assert named(serve_problems(newcomer)) == [
        "USSD_CALLBACK_TOKEN",
        "AT_CALLBACK_TOKEN",
        "FHIR_CANONICAL_BASE",
        "REDIS_URL",
        "PAYMENT_PROVIDER",
    ]


def test_serve_refuses_fhir_urls_named_under_a_loopback_address() -> None:
    # The FHIR extension URLs are names kept by facilities' software: never 127.0.0.1.
    local = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_BASE_URL"}
    for public in ({}, {"PUBLIC_BASE_URL": "http://localhost:8000"}):
        assert named(serve_problems(Settings.from_env({**local, **public}))) == [
            "FHIR_CANONICAL_BASE"
        ]
    # Either one set to a real address will do.
    network = {"FHIR_CANONICAL_BASE": "https://fhir.mutuelles.bj"}
    assert serve_problems(Settings.from_env({**local, **network})) == []
    assert serve_problems(Settings.from_env(PRODUCTION)) == []


def test_with_the_secrets_and_a_redis_server_serve_may_start() -> None:
    assert serve_problems(Settings.from_env(PRODUCTION)) == []
    assert serve_problems(Settings.from_env({**PRODUCTION, "PAYMENT_PROVIDER": ""})) == []


def test_an_allow_list_stands_in_for_the_at_token_but_not_for_the_ussd_one() -> None:
    networks = {"CALLBACK_ALLOW_NETWORKS": "196.201.214.0/24, 2001:db8::/32"}
    without_at = {k: v for k, v in PRODUCTION.items() if k != "AT_CALLBACK_TOKEN"}
    without_ussd = {k: v for k, v in PRODUCTION.items() if k != "USSD_CALLBACK_TOKEN"}

    assert serve_problems(Settings.from_env({**without_at, **networks})) == []
    assert named(serve_problems(Settings.from_env({**without_ussd, **networks}))) == [
        "USSD_CALLBACK_TOKEN"
    ]


def test_a_short_token_is_refused_without_being_repeated() -> None:
    problems = serve_problems(
        Settings.from_env(
            {**PRODUCTION, "USSD_CALLBACK_TOKEN": "changeme", "AT_CALLBACK_TOKEN": "x"}
        )
    )

    assert named(problems) == ["USSD_CALLBACK_TOKEN", "AT_CALLBACK_TOKEN"]
    assert all("shorter than 16" in problem for problem in problems)
    assert "changeme" not in " ".join(problems)


def test_the_worker_needs_a_redis_server_and_a_real_provider_but_no_token() -> None:
    assert named(worker_problems(Settings.from_env({"PAYMENT_PROVIDER": "sandbox"}))) == [
        "REDIS_URL",
        "PAYMENT_PROVIDER",
    ]
    assert worker_problems(Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})) == []


@pytest.mark.parametrize("value", ["10.0.0.1/8", "196.201.214", "everyone"])
def test_a_wrong_allow_list_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CALLBACK_ALLOW_NETWORKS": f"196.201.214.0/24,{value}"})

    assert raised.value.problems == [
        "CALLBACK_ALLOW_NETWORKS must be networks like 196.201.214.0/24 or 2001:db8::/32, "
        f"separated by commas, got {value!r}"
    ]


def test_the_allow_list_is_parsed_into_networks() -> None:
    settings = Settings.from_env({"CALLBACK_ALLOW_NETWORKS": " 196.201.214.0/24 ,, 2001:db8::/32"})

    assert [str(network) for network in settings.callback_networks] == [
        "196.201.214.0/24",
        "2001:db8::/32",
    ]


def test_alafia_serve_started_as_a_newcomer_would_refuses_and_says_why(tmp_path: Path) -> None:
    """The real command in its own process: exit status 2, every setting named, no
    traceback, and the short token it was given is not repeated."""
    environment = {k: v for k, v in os.environ.items() if k not in CHECKED}
    environment.update(
        ALAFIA_DATA_DIR=str(tmp_path), PAYMENT_PROVIDER="sandbox", AT_CALLBACK_TOKEN="tiny-Qx7"
    )
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", str(free_port())],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("alafia serve refuses to start:\n")
    for setting in ("USSD_CALLBACK_TOKEN", "AT_CALLBACK_TOKEN", "REDIS_URL", "PAYMENT_PROVIDER"):
        assert f"  - {setting}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "tiny-Qx7" not in done.stderr + done.stdout
    assert "Uvicorn running" not in done.stderr + done.stdout


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CHECKED:
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path))


def test_a_worker_refuses_the_embedded_redis_and_the_sandbox(
    production: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("PAYMENT_PROVIDER", "sandbox")

    assert cli.main(["worker"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("alafia worker refuses to start:\n")
    assert "  - REDIS_URL" in stderr and "  - PAYMENT_PROVIDER=sandbox" in stderr


def test_serve_refuses_to_trust_every_proxy_with_an_allow_list(
    production: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With every peer trusted, X-Forwarded-For would let anyone name an allowed source."""
    monkeypatch.setenv("CALLBACK_ALLOW_NETWORKS", "196.201.214.0/24")

    assert cli.main(["serve", "--forwarded-allow-ips", "*"]) == 2
    assert "--forwarded-allow-ips '*' with CALLBACK_ALLOW_NETWORKS" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "gateway.example.org"])
def test_the_open_demo_binds_a_loopback_address_only(
    host: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path))

    assert cli.main(["demo", "--host", host]) == 2
    assert f"--host {host} is not a loopback address" in capsys.readouterr().err
    assert not (tmp_path / "alafia.sqlite3").exists()  # refused before anything was made


def test_a_callback_token_in_an_access_log_line_is_masked() -> None:
    """`alafia serve --access-log`: uvicorn logs each request's path with its query."""
    from gateway.logs.formatter import MaskingFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("196.201.214.7:41000", "POST", f"/sms/delivery?token={AT_TOKEN}&x=1", "1.1", 200),
        None,
    )

    line = MaskingFormatter("%(message)s").format(record)
    assert AT_TOKEN not in line
    assert line.startswith('196.201.214.7:41000 - "POST /sms/delivery?token=•••')
