"""The `alafia` commands, run as an operator would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import cli
from gateway.app import create_app
from gateway.scheme import document as scheme
from gateway.settings import Settings
from tests.conftest import Clock
from tests.support.http_server import serve
from tests.support.log_privacy import KnownPersonalData

# A line of `logs.configure`'s format: 2026-12-03 01:21:07,123 INFO gateway.x: ...
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def test_db_upgrade_creates_a_fresh_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["db", "upgrade"]) == 0  # and again: nothing to do
    assert "latest schema" in capsys.readouterr().out
    from db.migrate import current

    assert current(f"sqlite:///{tmp_path / 'fresh.sqlite3'}") is not None


def test_scheme_load_is_idempotent_and_show_lists_it(env: Settings, capsys) -> None:
    assert cli.main(["scheme", "load", str(scheme.DEMO_SCHEME)]) == 0
    assert cli.main(["scheme", "load", str(scheme.DEMO_SCHEME)]) == 0
    assert "loaded 6 units, 6 occupations, 2 products" in capsys.readouterr().out
    assert cli.main(["scheme", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [u["code"] for u in shown["units"] if u["level"] == "mutual"] == [
        "MS-KANDI",
        "MS-NDALI",
        "MS-PARAKOU",
    ]
    family = next(p for p in shown["products"] if p["code"] == "FAMILLE")
    assert (
        family["premium_per_person"] == 1575
        and family["waiting_days"] == 30
        and family["cover_months"] == 12
    )
    assert cli.main(["scheme", "show"]) == 0
    table = capsys.readouterr().out
    assert "MS-PARAKOU" in table and "SCOLAIRE" in table and "350 XOF/person" in table


def test_a_bad_scheme_file_is_reported_and_changes_nothing(
    env: Settings, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "units:\n  - {code: X, level: planet, name: X}\nproducts:\n  - {code: P, offered_by: Y}\n"
    )
    assert cli.main(["scheme", "load", str(bad)]) == 2
    errors = capsys.readouterr().err
    assert (
        "level must be one of" in errors
        and "offered_by 'Y'" in errors
        and "missing premium_per_person" in errors
    )
    assert cli.main(["scheme", "load", str(tmp_path / "missing.yaml")]) == 2


def test_dial_runs_a_scripted_session_over_http(env: Settings, clean: None, capsys) -> None:
    with serve(create_app(env, Clock())) as base:
        code = cli.main(
            [
                "dial",
                "--url",
                f"{base}/ussd",
                "--phone",
                "97000501",
                "--input",
                "1,1,1,Dossa Yao,1975,2,1,1,1",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "Choisissez la langue" in out and "DOSSA, 1 pers." in out and "Bienvenue!" in out


def test_dial_reports_a_gateway_that_is_not_there(capsys) -> None:
    assert cli.main(["dial", "--url", "http://127.0.0.1:9/ussd", "--input", "1"]) == 1
    assert "network error" in capsys.readouterr().out


def test_python_dash_m_gateway_prints_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for command in ("demo", "serve", "db", "scheme", "dial"):
        assert command in done.stdout


def test_demo_runs_the_whole_loop_enrol_pay_callback_cover(tmp_path: Path) -> None:
    """The README's first command, end to end: SQLite, embedded Redis, the demo scheme,
    the payment sandbox calling back, the worker crediting, the rights showing it."""
    import os
    import time

    import httpx

    from tests.support.http_server import free_port

    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "PAYMENT_PROVIDER")
    }
    environment["ALAFIA_DATA_DIR"] = str(tmp_path / "data")
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def dial(session: str, answers: list[str]) -> str:
        reply = ""
        for hop in range(len(answers) + 1):
            form = {
                "sessionId": session,
                "serviceCode": "*384*22#",
                "phoneNumber": "+2290197000601",
            }
            reply = httpx.post(f"{url}/ussd", data={**form, "text": "*".join(answers[:hop])}).text
        return reply

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert demo.poll() is None and time.monotonic() < deadline, "alafia demo did not start"
            time.sleep(0.2)
        enrolled = dial("s1", ["1", "1", "1", "Dossa Yao", "1975", "2", "1", "1", "1"])
        # payments are on in the demo: the end offers to pay at once
        assert enrolled.startswith("CON Bienvenue"), enrolled
        paying = dial("s2", ["2", "1", "1", "1", "1"])
        assert paying.startswith("END Confirmez le paiement de 1575 F"), paying
        rights = ""
        while "délai avant les soins" not in rights:  # the sandbox answers in a few seconds
            assert time.monotonic() < deadline + 30, rights
            time.sleep(0.5)
            rights = dial(f"s3-{time.monotonic()}", ["3"])
        assert "Soins couverts à partir du" in rights and "Déjà payé: 1575 F" in rights
        # The phone simulator is open in the demo, without a login (gateway/simulator).
        simulator = httpx.post(
            f"{url}/simulator/ussd",
            data={"session": "00c0ffee", "phoneNumber": "97000602", "code": "*384*22#", "text": ""},
        )
        assert simulator.status_code == 200 and simulator.text.startswith("CON "), simulator.text
    finally:
        demo.terminate()
        output, _ = demo.communicate(timeout=30)
    assert "alafia dial --url" in output and "/simulator" in output
    assert "embedded Redis" in output
    assert "SANDBOX" in output
    assert (tmp_path / "data" / "alafia.sqlite3").exists()
    # Its log lines (the SMS it prints are not logs) carry neither the caller nor the
    # names enrolled: the scan of the suite's logs does not see this child process.
    known = KnownPersonalData()
    known.add("phone", "+2290197000601")
    for name in ("DOSSA", "Dossa", "Yao"):  # as typed and as stored
        known.add("name", name)
    logged = [line for line in output.splitlines() if LOG_LINE.match(line)]
    assert "USSD session s1 opened by" in "\n".join(logged)
    assert [(line, found) for line in logged for found in known.found_in(line)] == []
