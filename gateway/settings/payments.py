"""The mobile-money section of the settings: which provider the pay menu uses, how the
gateway follows a payment up, and the accounts of MTN MoMo and FedaPay, each read only
when one of its variables is set. A provider half set up is reported, not ignored, and
PAYMENT_PROVIDER must name one that is set up (or the demo's sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.payments import FedapaySettings, MomoSettings
from gateway.settings.environment import Environment

MOMO_REQUIRED = (
    "MOMO_BASE_URL",
    "MOMO_SUBSCRIPTION_KEY",
    "MOMO_API_USER",
    "MOMO_API_KEY",
    "MOMO_TARGET_ENVIRONMENT",
)
MOMO_VARIABLES = (*MOMO_REQUIRED, "MOMO_CURRENCY")
# FEDAPAY_WEBHOOK_SECRET is not among them: the webhook route reads it on its own.
FEDAPAY_ACCOUNT = ("FEDAPAY_BASE_URL", "FEDAPAY_SECRET_KEY")


def _momo(env: Environment) -> MomoSettings | None:
    """MTN MoMo Collection, when any of its variables is set; then all but the currency are
    required."""
    if not env.mentions(MOMO_VARIABLES):
        return None
    target_environment = env.text("MOMO_TARGET_ENVIRONMENT")
    currency = env.text("MOMO_CURRENCY", "XOF").upper()
    missing = env.missing(MOMO_REQUIRED)
    if missing:
        env.problem(f"MTN MoMo is not configured: set {', '.join(missing)}")
    if target_environment == "sandbox" and currency != "EUR":
        env.problem("the MoMo sandbox only accepts EUR: set MOMO_CURRENCY=EUR")
    if missing:
        return None
    return MomoSettings(
        base_url=env.text("MOMO_BASE_URL").rstrip("/"),
        subscription_key=env.text("MOMO_SUBSCRIPTION_KEY"),
        api_user=env.text("MOMO_API_USER"),
        api_key=env.text("MOMO_API_KEY"),
        target_environment=target_environment,
        currency=currency,
    )


def _fedapay(env: Environment) -> FedapaySettings | None:
    """FedaPay, when its URL or its key is set; then its webhook secret is required too."""
    if not env.mentions(FEDAPAY_ACCOUNT):
        return None
    base_url = env.text("FEDAPAY_BASE_URL").rstrip("/").removesuffix("/v1")
    secret_key = env.text("FEDAPAY_SECRET_KEY")
    webhook_secrets = env.secrets("FEDAPAY_WEBHOOK_SECRET")
    missing = [
        name
        for name, value in (
            ("FEDAPAY_BASE_URL", base_url),
            ("FEDAPAY_SECRET_KEY", secret_key),
            ("FEDAPAY_WEBHOOK_SECRET", webhook_secrets),
        )
        if not value
    ]
    if missing:
        env.problem(f"FedaPay is not configured: set {', '.join(missing)}")
        return None
    return FedapaySettings(
        base_url=base_url, secret_key=secret_key, webhook_secrets=webhook_secrets
    )


SANDBOX = "sandbox"  # the built-in simulated provider of `alafia demo` (gateway.payments.sandbox)


@dataclass(frozen=True)
class PaymentSettings:
    # None: no mobile money here (the pay menu says so); "sandbox" in `alafia demo`.
    default_provider: str | None
    public_base_url: str  # how providers reach our callback URLs
    # Several while a secret is rotated.
    fedapay_webhook_secrets: tuple[str, ...] = field(repr=False)
    poll_after: int  # seconds before asking a provider about a payment with no news
    expire_after: int  # seconds before a payment nobody confirmed is expired locally
    keep_polling_for: int  # seconds during which an expired payment may still succeed
    status_calls_per_second: int  # per worker process and provider, under the provider's limit
    max_amount: int  # the largest single mobile-money payment, in XOF
    momo: MomoSettings | None = None  # None: MTN MoMo is not set up here
    fedapay: FedapaySettings | None = None  # None: FedaPay is not set up here

    @classmethod
    def _read(cls, env: Environment) -> PaymentSettings:
        payments = cls(
            default_provider=env.text("PAYMENT_PROVIDER").lower() or None,
            public_base_url=env.text("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            fedapay_webhook_secrets=env.secrets("FEDAPAY_WEBHOOK_SECRET"),
            poll_after=env.whole_number("PAYMENT_POLL_AFTER", 60, 1, 86_400),
            expire_after=env.whole_number("PAYMENT_EXPIRE_AFTER", 900, 60, 7 * 86_400),
            keep_polling_for=env.whole_number("PAYMENT_KEEP_POLLING_FOR", 86_400, 0, 30 * 86_400),
            status_calls_per_second=env.whole_number("PAYMENT_STATUS_RATE", 50, 1, 1000),
            max_amount=env.whole_number("PAYMENT_MAX_AMOUNT", 500_000, 100, 100_000_000),
            momo=_momo(env),
            fedapay=_fedapay(env),
        )
        default = payments.default_provider
        found = {"momo": payments.momo, "fedapay": payments.fedapay}
        configured = [name for name, provider in found.items() if provider is not None]
        # One half set up has had its own problem reported: no second one about it.
        set_about = {"momo": env.mentions(MOMO_VARIABLES), "fedapay": env.mentions(FEDAPAY_ACCOUNT)}
        if default not in (None, SANDBOX, *configured) and not set_about.get(default or "", False):
            env.problem(
                f"PAYMENT_PROVIDER={default!r} is not configured "
                f"(configured: {', '.join(configured) or 'none'})"
            )
        return payments
