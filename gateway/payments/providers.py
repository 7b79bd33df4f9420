"""The mobile-money providers this installation can use, built once from its settings.

`PAYMENT_PROVIDER` names the default; a mutual can name another in the scheme file
(`payment_provider:` on its unit). A provider that cannot reach the payer's operator
(MTN, Moov, Celtiis, read from the number) is not used for that payer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from adapters.payments import FedapayCollection, MomoCollection, MomoSettings, PaymentProvider
from adapters.payments.sandbox import SandboxCollection
from gateway.settings import SANDBOX, PaymentSettings

log = logging.getLogger(__name__)

SANDBOX_MOUNT = "/sandbox/momo"  # where the app mounts gateway.sandbox_momo


class Providers:
    def __init__(
        self,
        providers: Mapping[str, PaymentProvider],
        settings: PaymentSettings,
        currencies: Mapping[str, str] | None = None,
    ) -> None:
        self.by_name = dict(providers)
        self.currencies = dict(currencies or {})  # what each account collects in
        self.settings = settings
        default = settings.default_provider
        if default is not None and default not in self.by_name:
            raise ValueError(
                f"PAYMENT_PROVIDER={default!r} is not configured "
                f"(configured: {', '.join(sorted(self.by_name)) or 'none'})"
            )

    def choose(self, operator: str | None, preferred: str | None = None) -> str | None:
        """The provider for a payer on `operator`: the mutual's own, else the default,
        else any that reaches the operator; None when nobody can take the payment."""
        for name in (preferred, self.settings.default_provider, *sorted(self.by_name)):
            provider = self.by_name.get(name or "")
            if provider is not None and (operator is None or operator in provider.serves):
                return name
        return None

    @property
    def available(self) -> bool:
        return self.settings.default_provider is not None

    def currency(self, name: str) -> str:
        return self.currencies.get(name, "XOF")

    def callback_url(self, name: str, reference: str) -> str | None:
        """Where a MoMo-protocol provider calls back; FedaPay uses the dashboard's webhook."""
        if isinstance(self.by_name.get(name), MomoCollection):
            return f"{self.settings.public_base_url}/payments/momo/callback/{reference}"
        return None

    async def aclose(self) -> None:
        for provider in self.by_name.values():
            await provider.aclose()


def build(settings: PaymentSettings) -> Providers:
    providers: dict[str, PaymentProvider] = {}
    currencies: dict[str, str] = {}
    if (momo := settings.momo) is not None:
        providers["momo"], currencies["momo"] = MomoCollection(momo), momo.currency
    if (fedapay := settings.fedapay) is not None:
        providers["fedapay"], currencies["fedapay"] = FedapayCollection(fedapay), fedapay.currency
    if settings.default_provider == SANDBOX:
        # The sandbox speaks MoMo's protocol from inside this gateway (gateway.sandbox_momo):
        # the production adapter and callback route run the whole loop with no outside service.
        providers[SANDBOX] = SandboxCollection(
            MomoSettings(
                base_url=settings.public_base_url + SANDBOX_MOUNT,
                subscription_key="sandbox",
                api_user="sandbox",
                api_key="sandbox",
                target_environment="alafia-sandbox",
                currency="XOF",
            )
        )
        currencies[SANDBOX] = "XOF"
        log.warning("payments go to the built-in SANDBOX: no real money moves")
    return Providers(providers, settings, currencies)
