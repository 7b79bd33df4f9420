"""gateway.settings: every variable read and checked once, every problem reported at once."""

from __future__ import annotations

import base64

import pytest

from adapters.register.dci_records import IndigenceRule
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


# -- MTN MoMo ---------------------------------------------------------------------------------

MOMO = {
    "MOMO_BASE_URL": "https://proxy.momoapi.mtn.com/",
    "MOMO_SUBSCRIPTION_KEY": " subscription-key-value ",
    "MOMO_API_USER": "0b7c6a2e-64a7-4c1c-9a55-8c2b1f5e2d10",
    "MOMO_API_KEY": "api-key-value",
    "MOMO_TARGET_ENVIRONMENT": "mtnbenin",
}


def test_momo_settings() -> None:
    payments = Settings.from_env(MOMO).payments
    momo = payments.momo

    assert momo is not None
    assert momo.base_url == "https://proxy.momoapi.mtn.com"
    assert momo.subscription_key == "subscription-key-value"
    assert momo.api_key == "api-key-value"
    assert momo.target_environment == "mtnbenin"
    assert momo.currency == "XOF"
    assert "key-value" not in repr(momo)  # secrets stay out of logs
    assert "key-value" not in repr(payments)
    assert payments.fedapay is None


def test_momo_is_not_set_up_without_its_variables() -> None:
    assert Settings.from_env({}).payments.momo is None


def test_momo_names_every_missing_variable() -> None:
    environ = {k: v for k, v in MOMO.items() if k not in ("MOMO_API_KEY", "MOMO_BASE_URL")}

    assert problems_of(environ) == ["MTN MoMo is not configured: set MOMO_BASE_URL, MOMO_API_KEY"]


def test_the_momo_sandbox_insists_on_eur() -> None:
    sandbox = {**MOMO, "MOMO_TARGET_ENVIRONMENT": "sandbox"}

    assert problems_of(sandbox) == ["the MoMo sandbox only accepts EUR: set MOMO_CURRENCY=EUR"]
    momo = Settings.from_env({**sandbox, "MOMO_CURRENCY": "eur"}).payments.momo
    assert momo is not None and momo.currency == "EUR"


def test_a_momo_currency_alone_is_a_momo_half_set_up() -> None:
    problems = problems_of({"MOMO_CURRENCY": "XOF"})

    assert problems == [
        "MTN MoMo is not configured: set MOMO_BASE_URL, MOMO_SUBSCRIPTION_KEY, MOMO_API_USER, "
        "MOMO_API_KEY, MOMO_TARGET_ENVIRONMENT"
    ]


# -- FedaPay ----------------------------------------------------------------------------------

FEDAPAY = {
    "FEDAPAY_BASE_URL": "https://sandbox-api.fedapay.com/v1/",
    "FEDAPAY_SECRET_KEY": "sk_sandbox_value",
    "FEDAPAY_WEBHOOK_SECRET": " wh_sandbox_new , wh_sandbox_old,",
}


def test_fedapay_settings() -> None:
    payments = Settings.from_env(FEDAPAY).payments
    fedapay = payments.fedapay

    assert fedapay is not None
    assert fedapay.base_url == "https://sandbox-api.fedapay.com"
    assert fedapay.secret_key == "sk_sandbox_value"
    assert fedapay.webhook_secrets == ("wh_sandbox_new", "wh_sandbox_old")
    assert payments.fedapay_webhook_secrets == ("wh_sandbox_new", "wh_sandbox_old")
    assert "sandbox_" not in repr(fedapay)  # secrets stay out of logs
    assert "sandbox_" not in repr(payments)
    assert payments.momo is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FEDAPAY_BASE_URL", " "),
        ("FEDAPAY_BASE_URL", "/v1/"),
        ("FEDAPAY_SECRET_KEY", ""),
        ("FEDAPAY_WEBHOOK_SECRET", " , "),
    ],
)
def test_fedapay_names_what_is_missing(name: str, value: str) -> None:
    expected = [f"FedaPay is not configured: set {name}"]
    assert problems_of({**FEDAPAY, name: value}) == expected
    without = {k: v for k, v in FEDAPAY.items() if k != name}
    assert problems_of(without) == expected


def test_a_webhook_secret_alone_does_not_set_up_fedapay() -> None:
    payments = Settings.from_env({"FEDAPAY_WEBHOOK_SECRET": "wh_live"}).payments

    assert payments.fedapay is None
    assert payments.fedapay_webhook_secrets == ("wh_live",)


# -- the default provider ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({}, None),
        ({"PAYMENT_PROVIDER": "sandbox"}, "sandbox"),
        ({**MOMO, "PAYMENT_PROVIDER": " MoMo "}, "momo"),
    ],
)
def test_the_default_provider(environ: dict[str, str], name: str | None) -> None:
    assert Settings.from_env(environ).payments.default_provider == name


def test_the_default_provider_must_be_set_up() -> None:
    assert problems_of({**FEDAPAY, "PAYMENT_PROVIDER": "momo"}) == [
        "PAYMENT_PROVIDER='momo' is not configured (configured: fedapay)"
    ]
    assert problems_of({"PAYMENT_PROVIDER": "mtn"}) == [
        "PAYMENT_PROVIDER='mtn' is not configured (configured: none)"
    ]


def test_a_default_provider_half_set_up_is_reported_once() -> None:
    environ = {"PAYMENT_PROVIDER": "fedapay", "FEDAPAY_SECRET_KEY": "sk_live_value"}

    assert problems_of(environ) == [
        "FedaPay is not configured: set FEDAPAY_BASE_URL, FEDAPAY_WEBHOOK_SECRET"
    ]


def test_every_provider_problem_is_reported_with_the_others() -> None:
    environ = {
        **{k: v for k, v in MOMO.items() if k != "MOMO_API_USER"},
        "MOMO_TARGET_ENVIRONMENT": "sandbox",
        "FEDAPAY_BASE_URL": "https://api.fedapay.com",
        "PAYMENT_EXPIRE_AFTER": "10",
        "USSD_SESSION_TTL": "forever",
    }

    assert problems_of(environ) == [
        "USSD_SESSION_TTL must be a whole number, got 'forever'",
        "PAYMENT_EXPIRE_AFTER must be between 60 and 604800, got 10",
        "MTN MoMo is not configured: set MOMO_API_USER",
        "the MoMo sandbox only accepts EUR: set MOMO_CURRENCY=EUR",
        "FedaPay is not configured: set FEDAPAY_SECRET_KEY, FEDAPAY_WEBHOOK_SECRET",
    ]


# -- the central register ---------------------------------------------------------------------

OFFICER = "671ef662-cd56-4740-8d2d-55cb4f451418"
VILLAGE = "ca5ec00f-eaa3-4af8-ac11-7bc5abb3341b"
OPENIMIS = {
    "REGISTER_ADAPTER": "openimis",
    "OPENIMIS_BASE_URL": "https://imis.example.bj",
    "OPENIMIS_USERNAME": "gateway",
    "OPENIMIS_PASSWORD": "very-secret",
    "OPENIMIS_OFFICER_UUID": OFFICER,
    "OPENIMIS_LOCATIONS": f'{{"Parakou/Banikanni": "{VILLAGE}", "*": "{VILLAGE}"}}',
}
DCI = {
    "REGISTER_ADAPTER": "dci",
    "DCI_BASE_URL": "https://registry.example.bj/dci",
    "DCI_CLIENT_ID": "alafia",
    "DCI_CLIENT_SECRET": "very-secret",
    "DCI_SENDER_ID": "alafia.gateway",
    "DCI_RECEIVER_ID": "social.registry",
    "DCI_PROGRAMME_ID": "AMU-BJ-MUTUELLES",
}


def test_the_local_register_reads_no_remote_settings() -> None:
    register = Settings.from_env({**OPENIMIS, **DCI, "REGISTER_ADAPTER": "local"}).register

    assert register.adapter == "local"
    assert register.openimis is None and register.dci is None


def test_openimis_settings() -> None:
    register = Settings.from_env(
        {
            **OPENIMIS,
            "OPENIMIS_TIMEOUT_SECONDS": "4.5",
            "OPENIMIS_PRODUCTS": '{"FAMILLE": "FAM0001"}',
            "OPENIMIS_NATIONAL_ID_TYPE": "",
        }
    ).register
    loaded = register.openimis

    assert loaded is not None
    assert loaded.base_url == "https://imis.example.bj"
    assert loaded.timeout_seconds == 4.5
    assert loaded.officer_id == OFFICER
    assert loaded.locations == {"Parakou/Banikanni": VILLAGE, "*": VILLAGE}
    assert loaded.products == {"FAMILLE": "FAM0001"}
    assert loaded.member_no_code == "Code" and loaded.national_id_code == "PPN"
    assert loaded.national_id_type is None  # set blank: the NPI goes without a document type
    assert register.dci is None
    assert "very-secret" not in repr(loaded)
    assert "very-secret" not in repr(register)


def test_openimis_sends_the_npi_as_a_national_id_card_by_default() -> None:
    loaded = Settings.from_env(OPENIMIS).register.openimis

    assert loaded is not None and loaded.national_id_type == "N"


def test_openimis_names_what_is_missing() -> None:
    environ = {"REGISTER_ADAPTER": "openimis", "OPENIMIS_BASE_URL": "https://imis.example.bj"}

    assert problems_of(environ) == [
        "REGISTER_ADAPTER=openimis: missing openIMIS settings: OPENIMIS_USERNAME,"
        " OPENIMIS_PASSWORD, OPENIMIS_OFFICER_UUID, OPENIMIS_LOCATIONS"
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"OPENIMIS_OFFICER_UUID": "E00001"}, "OPENIMIS_OFFICER_UUID must be the UUID"),
        ({"OPENIMIS_LOCATIONS": "Parakou"}, "OPENIMIS_LOCATIONS must be a JSON object"),
        ({"OPENIMIS_LOCATIONS": '{"Parakou": "R1D2M1V1"}'}, "must be a village Location UUID"),
        ({"OPENIMIS_PRODUCTS": '["FAMILLE"]'}, "OPENIMIS_PRODUCTS must be a JSON object"),
    ],
)
def test_openimis_says_which_setting_is_wrong(changes: dict[str, str], problem: str) -> None:
    assert any(problem in p for p in problems_of({**OPENIMIS, **changes}))


def test_dci_settings() -> None:
    register = Settings.from_env(
        {
            **DCI,
            "DCI_UPDATES_PATH": "none",
            "DCI_NATIONAL_ID_TYPE": "NPI",
            "DCI_INDIGENT_SCORE_BELOW": "12.5",
            "DCI_INDIGENT_SCORE_TYPE": "PMT",
        }
    ).register
    loaded = register.dci

    assert loaded is not None
    assert loaded.updates_path is None
    assert loaded.indigence == IndigenceRule(12.5, "PMT")
    assert loaded.id_types.national_id == "NPI"
    assert loaded.id_types.member_no == "MEMBER_NO"
    assert loaded.token_url == "/oauth2/client/token"
    assert loaded.timeout_seconds == 10.0
    assert register.openimis is None
    assert "very-secret" not in repr(loaded)
    assert "very-secret" not in repr(register)


def test_dci_defaults() -> None:
    loaded = Settings.from_env(DCI).register.dci

    assert loaded is not None
    assert loaded.updates_path == "/registry/sync/enrollment/updates"
    assert loaded.indigence is None
    assert loaded.signing_key is None and loaded.signing_key_id is None


def test_dci_refuses_the_2024_draft_and_a_bad_indigence_rule() -> None:
    environ = {
        **DCI,
        "DCI_RECEIPTS_PATH": "/registry/receipts",
        "DCI_INDIGENT_SCORE_BELOW": "low",
    }

    found = problems_of(environ)

    assert any("DCI_RECEIPTS_PATH belongs to the 2024 draft" in p for p in found)
    assert "DCI_INDIGENT_SCORE_BELOW must be a number, not 'low'" in found
    assert problems_of({**DCI, "DCI_INDIGENT_SCORE_TYPE": "PMT"}) == [
        "DCI_INDIGENT_SCORE_TYPE needs DCI_INDIGENT_SCORE_BELOW"
    ]


def test_dci_names_what_is_missing() -> None:
    environ = {k: v for k, v in DCI.items() if k not in ("DCI_RECEIVER_ID", "DCI_PROGRAMME_ID")}

    assert problems_of(environ) == [
        "REGISTER_ADAPTER=dci: missing DCI settings: DCI_RECEIVER_ID, DCI_PROGRAMME_ID"
    ]


def test_a_dci_signing_key_needs_its_id() -> None:
    signing_key = base64.b64encode(bytes(32)).decode()

    assert problems_of({**DCI, "DCI_SIGNING_KEY": signing_key}) == [
        "REGISTER_ADAPTER=dci: DCI_SIGNING_KEY needs DCI_SIGNING_KEY_ID"
    ]
    loaded = Settings.from_env(
        {**DCI, "DCI_SIGNING_KEY": signing_key, "DCI_SIGNING_KEY_ID": "k2026"}
    ).register.dci
    assert loaded is not None and loaded.signing_key_id == "k2026"
    assert signing_key not in repr(loaded)


def test_every_register_problem_is_reported_with_the_others() -> None:
    environ = {
        "REGISTER_ADAPTER": "dci",
        "DCI_BASE_URL": "https://registry.example.bj/dci",
        "DCI_SIGNING_KEY": "a2V5",
        "DCI_TIMEOUT_SECONDS": "0",
        "REGISTER_MAX_ATTEMPTS": "many",
        "SMS_BACKEND": "africastalking",
    }

    assert problems_of(environ) == [
        "SMS_BACKEND=africastalking needs AT_USERNAME, AT_API_KEY, AT_CALLBACK_TOKEN",
        "REGISTER_MAX_ATTEMPTS must be a whole number, got 'many'",
        "REGISTER_ADAPTER=dci: missing DCI settings: DCI_CLIENT_ID, DCI_CLIENT_SECRET, "
        "DCI_SENDER_ID, DCI_RECEIVER_ID, DCI_PROGRAMME_ID",
        "REGISTER_ADAPTER=dci: DCI_SIGNING_KEY needs DCI_SIGNING_KEY_ID",
        "DCI_TIMEOUT_SECONDS must be a number of seconds above 0, got '0'",
    ]
