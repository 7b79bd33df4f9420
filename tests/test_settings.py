"""gateway.settings: every variable read and checked once, every problem reported at once."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigError, Settings


def problems_of(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ)
    assert str(raised.value) == "\n".join(raised.value.problems)  # one problem per line
    return raised.value.problems


# -- the whole configuration ---------------------------------------------------------------


def test_an_empty_environment_is_a_working_configuration() -> None:
    settings = Settings.from_env({})

    assert settings.timezone == "Africa/Porto-Novo"
    assert settings.log_level == "INFO"
    assert settings.redis_timeout == 2.0
    assert settings.payments.default_provider is None
    assert settings.sms.backend == "console"
    assert settings.register.adapter == "local"


def test_every_wrong_setting_of_every_section_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "USSD_MAX_CHARS": "100",
            "REDIS_TIMEOUT": "soon",
            "TIMEZONE": "Africa/Atlantis",
            "LOG_LEVEL": "chatty",
            "PAYMENT_POLL_AFTER": "often",
            "SMS_BACKEND": "pigeon",
            "SMS_QUIET_HOURS": "25:00-07:00",
            "SMS_COVER_ENDING_DAYS": "30,0",
            "REGISTER_ADAPTER": "ledger",
            "REGISTER_CONCURRENCY": "0",
        }
    )

    assert problems == [
        "REDIS_TIMEOUT must be a number of seconds above 0, got 'soon'",
        "USSD_MAX_CHARS must be between 160 and 182, got 100",
        "TIMEZONE must be a time zone like Africa/Porto-Novo, got 'Africa/Atlantis'",
        "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'CHATTY'",
        "PAYMENT_POLL_AFTER must be a whole number, got 'often'",
        "SMS_BACKEND must be one of console, africastalking, got 'pigeon'",
        "SMS_QUIET_HOURS must look like 21:00-07:00, got '25:00-07:00'",
        "SMS_COVER_ENDING_DAYS must be between 1 and 366 days, got '30,0'",
        "REGISTER_ADAPTER must be one of local, openimis, dci, got 'ledger'",
        "REGISTER_CONCURRENCY must be between 1 and 64, got 0",
    ]


def test_one_problem_is_its_own_message() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SMS_PREMIUM_DUE_DAYS": "3,x"})

    assert (
        str(raised.value)
        == "SMS_PREMIUM_DUE_DAYS must be whole numbers of days like 30,7, got '3,x'"
    )
    assert raised.value.problems == [str(raised.value)]


def test_a_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="STATS_CACHE_SECONDS"):
        Settings.from_env({"STATS_CACHE_SECONDS": "-1"})


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://alafia:db-secret@db:5432/alafia",
            "REDIS_URL": "redis://:redis-secret@redis:6379/0",
            "USSD_CALLBACK_TOKEN": "ussd-secret",
            "FEDAPAY_WEBHOOK_SECRET": "webhook-secret",
            "SMS_BACKEND": "africastalking",
            "AT_USERNAME": "mutuelles",
            "AT_API_KEY": "at-secret",
            "AT_CALLBACK_TOKEN": "callback-secret",
        }
    )

    assert "secret" not in repr(settings)
    assert "mutuelles" in repr(settings)  # what is not secret still shows


# -- Africa's Talking --------------------------------------------------------------------------


def test_africastalking_names_every_missing_variable() -> None:
    problems = problems_of({"SMS_BACKEND": "africastalking", "AT_USERNAME": "mutuelles"})

    assert problems == ["SMS_BACKEND=africastalking needs AT_API_KEY, AT_CALLBACK_TOKEN"]


def test_africastalking_settings() -> None:
    sms = Settings.from_env(
        {
            "SMS_BACKEND": " AfricasTalking ",
            "AT_USERNAME": "mutuelles",
            "AT_API_KEY": "key",
            "AT_CALLBACK_TOKEN": "token",
            "AT_SMS_URL": "http://127.0.0.1:9000/",
            "SMS_QUIET_HOURS": "",
        }
    ).sms

    assert sms.backend == "africastalking"
    assert sms.at_sms_url == "http://127.0.0.1:9000"
    assert sms.at_sender_id is None
    assert sms.quiet_hours == ""  # blank: no quiet hours
