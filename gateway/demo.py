"""What `alafia demo` puts in a fresh database so that every part can be tried at once:
the demo scheme, a health facility with a desk phone, a field agent, dashboard accounts."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import date

from gateway.commands import Context
from gateway.settings import Settings
from gateway.settings.payments import SANDBOX

log = logging.getLogger("alafia")

FACILITY = "CS-DEMO"
DESK_PHONE = "+2290197000099"
AGENT = "+2290197000050"


@dataclass(frozen=True)
class Seeded:
    facility_key: str | None  # only when the facility was made now: no copy is kept
    agent_code: str | None  # the demo agent's activation code, when made now
    staff: list[tuple[str, str]]  # email, password of accounts made now


def seed(context: Context) -> Seeded:
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.agents.accounts import AgentError, Agents
    from gateway.register.commands import with_facilities
    from gateway.register.facilities import FacilityError
    from gateway.scheme import document
    from gateway.staff.demo import ensure_demo_staff

    engine = create_engine_sync(context.settings.database_url)
    with Session(engine) as session, session.begin():
        if document.is_empty(session):
            document.load(session, document.read_file(document.DEMO_SCHEME))
            log.info("loaded the demo scheme")
    engine.dispose()
    try:
        _, key = with_facilities(
            context, lambda f: f.add(FACILITY, "Centre de santé (démo)", [DESK_PHONE], by="demo")
        )
    except FacilityError:
        key = None  # made by an earlier demo
    # An agent of the Parakou mutual, who chooses a PIN on the first dial with the
    # activation code (or made by an earlier demo).
    code = None
    with contextlib.suppress(AgentError):
        code = context.with_sessions(
            lambda s: Agents(s, context.now).add(AGENT, "Agent démo", "MS-PARAKOU", "demo")
        ).code
    staff = context.with_sessions(lambda s: ensure_demo_staff(s, context.now))
    return Seeded(key, code, staff)


def own_database(settings: Settings) -> str:
    """The demo's own database: the SQLite file in its data directory."""
    return f"sqlite:///{settings.data_dir / 'alafia.sqlite3'}"


def today_problems(settings: Settings) -> list[str]:
    """Why `--today` may not move the calendar here: on a moved clock the worker lapses
    households, writes future-dated years and sends SMS, so only the demo's own database,
    console SMS and sandbox payments may see it (an operator's shell may carry
    production's settings)."""
    problems = []
    if settings.database_url != own_database(settings):
        problems.append(
            "--today runs only on the demo's own database "
            f"({settings.data_dir / 'alafia.sqlite3'}): unset DATABASE_URL"
        )
    if settings.sms.backend != "console":
        problems.append(
            f"--today sends SMS only to the console, not {settings.sms.backend}: unset SMS_BACKEND"
        )
    provider = settings.payments.default_provider
    if provider not in (None, SANDBOX):
        problems.append(
            f"--today takes payments only from the sandbox, not {provider}: unset PAYMENT_PROVIDER"
        )
    return problems


def welcome(
    settings: Settings, host: str, port: int, seeded: Seeded, today: date | None = None
) -> str:
    """`today`: the day `--today` moved the scheme's calendar to."""
    payments = settings.payments
    accounts = "".join(f"\n    {email}  password {password}" for email, password in seeded.staff)
    return (
        f"\nAlafia demo is running on http://{host}:{port}\n"
        f"Dial it from another terminal:\n"
        f"    alafia dial --url http://{host}:{port}/ussd\n"
        f"Or open the phone simulator in a browser: http://{host}:{port}/simulator\n"
        f"Or point Africa's Talking's USSD callback at http://<this host>:{port}/ussd\n"
        f"Payments: {payments.default_provider}"
        + (
            " (simulated: a payer number ending 000009 is refused for lack of funds)"
            if payments.default_provider == "sandbox"
            else ""
        )
        + f"\nSMS: {settings.sms.backend}"
        + (" (messages are printed here)" if settings.sms.backend == "console" else "")
        + f"\nHealth facility {FACILITY}: desk phone {DESK_PHONE} "
        + (
            f"and API key\n    {seeded.facility_key}"
            if seeded.facility_key
            else "(alafia facilities new-key for a key)"
        )
        + f"\nField agent of MS-PARAKOU: alafia dial --phone {AGENT}"
        + (
            f" (activation code {seeded.agent_code}, then a PIN of their choice)"
            if seeded.agent_code
            else " (alafia agents reset-pin for an activation code)"
        )
        + f"\nDashboard: http://{host}:{port}/admin"
        + (
            accounts
            if seeded.staff
            else " (demo accounts made earlier: alafia staff reset-password --email ...)"
        )
        + (
            f"\nThe scheme's calendar runs as of {today.isoformat()} (--today): cover dates, "
            "renewals and reminders count from that day"
            if today is not None
            else ""
        )
        + "\n"
    )
