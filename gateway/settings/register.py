"""The register section of the settings: which central register the gateway writes to
(itself, openIMIS or a DCI registry) and how hard it tries. Only the register in use
is read, and then every one of its required variables must be set.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.register.dci import RECEIPTS_PATH, TOKEN_PATH, DciSettings
from adapters.register.dci_records import IdTypes
from adapters.register.openimis import OpenImisSettings
from gateway.settings.environment import Environment
from gateway.settings.fhir import canonical_base

REGISTER_ADAPTERS = ("local", "openimis", "dci")
OPENIMIS_REQUIRED = ("OPENIMIS_BASE_URL", "OPENIMIS_USERNAME", "OPENIMIS_PASSWORD")
DCI_REQUIRED = (
    "DCI_BASE_URL",
    "DCI_CLIENT_ID",
    "DCI_CLIENT_SECRET",
    "DCI_SENDER_ID",
    "DCI_RECEIVER_ID",
    "DCI_PROGRAMME_ID",
)


def _openimis(env: Environment) -> OpenImisSettings | None:
    missing = env.missing(OPENIMIS_REQUIRED)
    if missing:
        env.problem(f"REGISTER_ADAPTER=openimis: missing openIMIS settings: {', '.join(missing)}")
    timeout_seconds = env.seconds("OPENIMIS_TIMEOUT_SECONDS", 10.0)
    if missing:
        return None
    return OpenImisSettings(
        base_url=env.text("OPENIMIS_BASE_URL"),
        username=env.text("OPENIMIS_USERNAME"),
        password=env.text("OPENIMIS_PASSWORD"),
        timeout_seconds=timeout_seconds,
        insurer=env.text("OPENIMIS_INSURER", "openIMIS"),
        eligibility_service=env.text("OPENIMIS_ELIGIBILITY_SERVICE") or None,
        member_no_code=env.text("OPENIMIS_MEMBER_NO_CODE", "Code"),
        national_id_code=env.text("OPENIMIS_NATIONAL_ID_CODE", "NationalId"),
    )


def _dci(env: Environment) -> DciSettings | None:
    missing = env.missing(DCI_REQUIRED)
    if missing:
        env.problem(f"REGISTER_ADAPTER=dci: missing DCI settings: {', '.join(missing)}")
    signing_key = env.text("DCI_SIGNING_KEY") or None
    signing_key_id = env.text("DCI_SIGNING_KEY_ID") or None
    if signing_key and not signing_key_id:
        env.problem("REGISTER_ADAPTER=dci: DCI_SIGNING_KEY needs DCI_SIGNING_KEY_ID")
    timeout_seconds = env.seconds("DCI_TIMEOUT_SECONDS", 10.0)
    if missing:
        return None
    receipts = env.text("DCI_RECEIPTS_PATH", RECEIPTS_PATH)
    return DciSettings(
        base_url=env.text("DCI_BASE_URL"),
        client_id=env.text("DCI_CLIENT_ID"),
        client_secret=env.text("DCI_CLIENT_SECRET"),
        sender_id=env.text("DCI_SENDER_ID"),
        receiver_id=env.text("DCI_RECEIVER_ID"),
        programme_id=env.text("DCI_PROGRAMME_ID"),
        token_url=env.text("DCI_TOKEN_URL", TOKEN_PATH),
        receipts_path=None if receipts.lower() == "none" else receipts,
        id_types=IdTypes(
            national_id=env.text("DCI_NATIONAL_ID_TYPE", "UIN"),
            member_no=env.text("DCI_MEMBER_ID_TYPE", "MEMBER_NO"),
        ),
        signing_key=signing_key,
        signing_key_id=signing_key_id,
        timeout_seconds=timeout_seconds,
    )


@dataclass(frozen=True)
class RegisterSettings:
    adapter: str  # local (the gateway is the register), openimis, dci
    max_attempts: int  # pushes of one event before it goes to the dead letters
    concurrency: int  # households pushed at once per worker process
    # Read only for the register in use (REGISTER_ADAPTER); None otherwise.
    openimis: OpenImisSettings | None = None
    dci: DciSettings | None = None
    # FHIR_CANONICAL_BASE (settings/fhir.py); None: PUBLIC_BASE_URL/fhir.
    fhir_canonical_base: str | None = None

    @classmethod
    def _read(cls, env: Environment) -> RegisterSettings:
        adapter = env.choice("REGISTER_ADAPTER", "local", REGISTER_ADAPTERS)
        return cls(
            adapter=adapter,
            max_attempts=env.whole_number("REGISTER_MAX_ATTEMPTS", 48, 1, 10_000),
            concurrency=env.whole_number("REGISTER_CONCURRENCY", 4, 1, 64),
            openimis=_openimis(env) if adapter == "openimis" else None,
            dci=_dci(env) if adapter == "dci" else None,
            fhir_canonical_base=canonical_base(env),
        )
