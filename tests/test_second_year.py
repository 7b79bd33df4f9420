"""A household's second year in `alafia demo`, end to end (issue 13's "Done when").

The demo is run through the real command (`cli.main(["demo", "--today", ...])`) twice on
the same database and Redis (the suite's own, PostgreSQL and a Redis server in CI): the
first run on day D, the second restarted with `--today` D + 365. Each run serves the app
the command built on a real loopback port (uvicorn in a thread, in place of the
command's blocking `uvicorn.run`), so that the demo's sandbox provider calls this very
process back over HTTP and its worker settles payments as it does for a trainer.

A phone talks to `/ussd` with Africa's Talking's form fields; the manager of the Parakou
mutual logs in with the account the first run printed and reads the renewal rate from
the statistics API the dashboard uses, and from the dashboard's page.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway import cli
from tests.conftest import TODAY
from tests.support.http_server import free_port

D = TODAY  # the first run's day: fixed, whatever the real date (CI moves the clock a year)
A_YEAR_ON = D + timedelta(days=365)
PHONE = "+2290197000301"
MANAGER = "gestion.parakou@demo.alafia"
STARTUP = 30.0


def a_year_after(day: date) -> date:
    return day.replace(year=day.year + 1)


def fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


# The family product's rolling cover: 30 days of waiting after payment, then 12 months;
# a renewal paid on time starts the day after, with no new waiting.
FIRST_STARTS = D + timedelta(days=30)
FIRST_ENDS = a_year_after(FIRST_STARTS) - timedelta(days=1)
NEXT_STARTS = FIRST_ENDS + timedelta(days=1)
NEXT_ENDS = a_year_after(NEXT_STARTS) - timedelta(days=1)
NEWBORN = A_YEAR_ON - timedelta(days=20)


@contextmanager
def demo_running(monkeypatch: pytest.MonkeyPatch, today: date) -> Iterator[str]:
    """`alafia demo --today <today> --port <free>` in a thread; yields its base URL, and
    stops it (as Ctrl-C would) on leaving."""
    port = free_port()
    held: dict[str, Any] = {}

    def serve(app: Any, *, host: str, port: int, **options: Any) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, lifespan="on", log_level="warning"
        )
        held["server"] = server = uvicorn.Server(config)
        server.run()

    monkeypatch.setattr(uvicorn, "run", serve)

    def run() -> None:
        held["code"] = cli.main(["demo", "--today", today.isoformat(), "--port", str(port)])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP
    while not (held.get("server") and held["server"].started):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the demo did not start: {held}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        held["server"].should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "the demo did not stop"
    assert held["code"] == 0


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> None:
    # The demo's own database (a SQLite file in its data directory): `--today` refuses
    # any other, so that a shell carrying production's settings cannot move its calendar.
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "DATABASE_URL",
        "SMS_BACKEND",
        "PAYMENT_PROVIDER",
        "USSD_CALLBACK_TOKEN",
        "AT_CALLBACK_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


_sessions = itertools.count(1)


class Phone:
    def __init__(self, http: httpx.Client, number: str) -> None:
        self.http, self.number = http, number
        self.session = ""
        self.typed: list[str] = []
        self.screen = ""

    def dial(self) -> str:
        self.session = f"ATUid_second_year_{next(_sessions)}"
        self.typed = []
        return self._send()

    def type(self, answer: str) -> str:
        self.typed.append(answer)
        return self._send()

    def choose(self, label: str) -> str:
        """Types the number of the option `label` on the screen (the phone reads it)."""
        found = re.search(rf"^(\d+)\. {re.escape(label)}", self.screen, re.MULTILINE)
        assert found, f"no option {label!r} on:\n{self.screen}"
        return self.type(found.group(1))

    def _send(self) -> str:
        reply = self.http.post(
            "/ussd",
            data={
                "sessionId": self.session,
                "serviceCode": "*384*22#",
                "phoneNumber": self.number,
                "networkCode": "61603",
                "text": "*".join(self.typed),
            },
        )
        assert reply.status_code == 200, reply.text
        self.screen = reply.text
        return reply.text


def wait_for(phone: Phone, options: list[str], words: str, seconds: float = 90.0) -> str:
    """Dials and follows `options` until the screen says `words`: the sandbox answers a
    few seconds after the request, then the worker and the callback settle it."""
    deadline = time.monotonic() + seconds
    while True:
        phone.dial()
        for option in options:
            screen = phone.choose(option)
        if words in screen or time.monotonic() > deadline:
            return screen
        time.sleep(0.5)


class Staff:
    """A browser of the dashboard on the demo's loopback address: like browsers on
    localhost, it sends the (Secure) session cookie back over plain http."""

    def __init__(self, http: httpx.Client, email: str, password: str) -> None:
        self.http = http
        form = self.get("/admin/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        answer = self._keep(
            http.post(
                "/admin/login",
                data={"email": email, "password": password, "csrf": token.group(1), "next": ""},
            )
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/admin", answer.text

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for cookie in response.cookies.jar:
            self.http.cookies.set(cookie.name, cookie.value or "")
        return response

    def get(self, path: str) -> httpx.Response:
        return self._keep(self.http.get(path, headers={"Accept-Language": "fr"}))


@contextmanager
def second_year(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Staff]:
    """The walk-through: enrol a household of three and pay on day D; restart the demo a
    year on, renew dropping one member and adding a newborn, pay. Yields the Parakou
    manager logged in to the second run, which is still serving."""
    with demo_running(monkeypatch, D) as url, httpx.Client(base_url=url, timeout=30) as http:
        printed = capsys.readouterr().out  # the first run prints the demo's accounts
        phone = Phone(http, PHONE)
        if "Choisissez la langue" in phone.dial():  # a phone's first call only
            phone.choose("Francais")
        phone.choose("Adhérer")
        # the product is asked once the size says which fit: only Famille takes three
        assert "Chef de ménage" in phone.choose("Mutuelle de santé de Parakou")
        phone.type("Houngbo Akpé")
        phone.type("1980")
        assert "combien de personnes" in phone.type("2")  # no NPI number
        assert "Personne 2/3" in phone.type("3")
        phone.type("Awa")
        phone.choose("Épouse")  # and so the head is a man: not asked
        assert "Personne 3/3" in phone.type("1985")
        phone.type("Jean")
        phone.choose("Fils")
        screen = phone.type("2004")  # grown up: the adult price
        assert "HOUNGBO, 3 pers., Famille:" in screen and "Total: 4725 F/an" in screen
        screen = phone.choose("Confirmer")
        # payments are on in the demo: the end offers to pay in the same call
        assert screen.startswith("CON Bienvenue! Numéro de membre: "), screen
        assert "1. Payer maintenant" in screen
        assert "Cotisation due: 4725 F" in screen

        menu = phone.dial()
        assert "Renouveler" not in menu, menu
        phone.choose("Payer")
        assert "Reste à payer: 4725 F" in phone.choose("Mon ménage")
        phone.choose("Tout payer")
        assert "Payer 4725 F avec le 01 97 00 03 01?" in phone.choose("Ce numéro")
        assert phone.choose("Confirmer").startswith("END Confirmez le paiement de 4725 F")
        # The sandbox "confirms on the phone" a few seconds later; the demo settles it.
        rights = wait_for(phone, ["Mes droits"], "Déjà payé: 4725 F")
        assert "Déjà payé: 4725 F" in rights, rights
        assert f"Soins couverts à partir du {fr(FIRST_STARTS)}" in rights, rights
        assert "Reste à payer" not in rights, rights
    accounts = re.search(rf"{re.escape(MANAGER)}  password (\S+)", printed)
    assert accounts, printed

    # Ctrl-C, and `alafia demo --today <a year on>` on the same data.
    with (
        demo_running(monkeypatch, A_YEAR_ON) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        phone = Phone(http, PHONE)
        menu = phone.dial()
        assert "5. Renouveler" in menu, menu  # after the other entries: they keep their numbers
        assert "Renouveler pour:" in phone.choose("Renouveler")
        screen = phone.choose("Mon ménage")
        for words in ("l'an prochain: 3 pers.", "Akpé (chef)", "Awa", "Jean"):
            assert words in screen, screen
        assert "Qui retirer?" in phone.choose("Retirer un membre")
        assert "Pourquoi?" in phone.choose("Jean")
        screen = phone.choose("A quitté le ménage")
        assert "l'an prochain: 2 pers." in screen and "Jean" not in screen, screen
        assert "Nouveau-né: prénom(s)" in phone.choose("Ajouter un nouveau-né")
        phone.type("Paul")
        phone.choose("Homme")
        screen = phone.type(NEWBORN.strftime("%d%m%Y"))
        for words in ("l'an prochain: 3 pers.", "Akpé (chef)", "Awa", "Paul"):
            assert words in screen, screen
        screen = phone.choose("Garder et continuer")
        # Two adults at 1 575; the newborn's care is free (the State pays the child's 1 000).
        for words in (
            "Cotisation de l'année: 4150 F",
            "Payé par les partenaires: 1000 F",
            "A payer par le ménage: 3150 F",
        ):
            assert words in screen, screen
        # Straight on to payment, on next year's premium.
        assert "Reste à payer: 3150 F" in phone.choose("Confirmer")
        phone.choose("Tout payer")
        assert "Payer 3150 F avec le 01 97 00 03 01?" in phone.choose("Ce numéro")
        assert phone.choose("Confirmer").startswith("END Confirmez le paiement de 3150 F")

        paid = f"Année suivante payée: du {fr(NEXT_STARTS)} au {fr(NEXT_ENDS)}"
        rights = wait_for(phone, ["Mes droits"], "Année suivante payée")
        assert paid in rights, rights
        assert "Statut: couvert" in rights, rights
        assert f"Valable jusqu'au {fr(FIRST_ENDS)}" in rights, rights
        assert "Renouveler" not in phone.dial(), phone.screen

        yield Staff(http, MANAGER, accounts.group(1))


def text_of(page: httpx.Response) -> str:
    """What the page says, without its markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


def renewal_rate(staff: Staff, query: str = "") -> dict[str, Any]:
    answer = staff.get(f"/api/v1/stats/renewals{query}")
    assert answer.status_code == 200, answer.text
    figures: dict[str, Any] = answer.json()
    return figures


def test_a_household_renews_a_year_later_in_the_demo(
    demo_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with second_year(monkeypatch, capsys) as manager:
        # The README's walk-through: the period up to a day after this year's cover ends.
        to = f"?to={(FIRST_ENDS + timedelta(days=1)).isoformat()}"
        figures = renewal_rate(manager, to)
        page = text_of(manager.get(f"/admin/stats/renewals{to}"))

    assert figures["scope"].endswith("MS-PARAKOU")
    assert (figures["due"], figures["renewed"], figures["paid"]) == (1, 1, 1), figures
    assert figures["renewal_rate"] == 1.0 and figures["paid_rate"] == 1.0, figures
    assert figures["by_mutual"] == [
        {
            "key": "MS-PARAKOU",
            "due": 1,
            "renewed": 1,
            "paid": 1,
            "renewal_rate": 1.0,
            "paid_rate": 1.0,
        }
    ]
    assert figures["by_channel"] == [{"key": "ussd", "renewed": 1, "paid": 1, "share": 1.0}]
    # Statistiques → Renouvellements, as the manager reads it.
    for words in (
        "Taux de renouvellement À renouveler Renouvelés Renouvellements payés "
        "Taux de renouvellement Taux payé 1 1 1 100,0 % 100,0 %",
        "MS-PARAKOU 1 1 1 100,0 % 100,0 %",
        "USSD (soi-même) 1 1 100,0 %",
    ):
        assert words in page, page


def test_the_manager_sees_the_renewal_without_choosing_a_period(
    demo_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with second_year(monkeypatch, capsys) as manager:
        figures = renewal_rate(manager)

    assert (figures["due"], figures["renewed"], figures["paid"]) == (1, 1, 1), figures
