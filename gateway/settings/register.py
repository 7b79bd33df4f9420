"""The register section of the settings: which central register the gateway writes to
(itself, openIMIS or a DCI registry) and how hard it tries. Only the register in use
is read, and then every one of its required variables must be set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.register.dci import TOKEN_PATH, UPDATES_PATH, DciSettings
from adapters.register.dci_records import IdTypes, IndigenceRule
from adapters.register.openimis import OpenImisSettings, settings_problems
from gateway.settings.environment import Environment
from gateway.settings.fhir import canonical_base

REGISTER_ADAPTERS = ("local", "openimis", "dci")
OPENIMIS_REQUIRED = (
    "OPENIMIS_BASE_URL",
    "OPENIMIS_USERNAME",
    "OPENIMIS_PASSWORD",
    "OPENIMIS_OFFICER_UUID",
    "OPENIMIS_LOCATIONS",
)
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
    locations = _json_map(env, "OPENIMIS_LOCATIONS")
    products = _json_map(env, "OPENIMIS_PRODUCTS")
    if missing:
        return None
    settings = OpenImisSettings(
        base_url=env.text("OPENIMIS_BASE_URL"),
        username=env.text("OPENIMIS_USERNAME"),
        password=env.text("OPENIMIS_PASSWORD"),
        officer_id=env.text("OPENIMIS_OFFICER_UUID"),
        locations=locations,
        products=products,
        timeout_seconds=timeout_seconds,
        member_no_code=env.text("OPENIMIS_MEMBER_NO_CODE", "Code"),
        national_id_code=env.text("OPENIMIS_NATIONAL_ID_CODE", "PPN"),
        national_id_type=_optional(env.raw("OPENIMIS_NATIONAL_ID_TYPE", "N")),
    )
    for problem in settings_problems(settings):
        env.problem(f"REGISTER_ADAPTER=openimis: {problem}")
    return settings


def _json_map(env: Environment, name: str) -> dict[str, str]:
    """A JSON object of names to names, e.g. {"Parakou/Banikanni": "<uuid>"}."""
    raw = env.text(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        env.problem(f"{name} must be a JSON object: {exc}")
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        env.problem(f'{name} must be a JSON object of texts, e.g. {{"Parakou": "<uuid>"}}')
        return {}
    return value


def _optional(raw: str) -> str | None:
    """Blank (set but empty) turns the setting off."""
    return raw.strip() or None


def _dci(env: Environment) -> DciSettings | None:
    missing = env.missing(DCI_REQUIRED)
    if missing:
        env.problem(f"REGISTER_ADAPTER=dci: missing DCI settings: {', '.join(missing)}")
    signing_key = env.text("DCI_SIGNING_KEY") or None
    signing_key_id = env.text("DCI_SIGNING_KEY_ID") or None
    if signing_key and not signing_key_id:
        env.problem("REGISTER_ADAPTER=dci: DCI_SIGNING_KEY needs DCI_SIGNING_KEY_ID")
    timeout_seconds = env.seconds("DCI_TIMEOUT_SECONDS", 10.0)
    if env.text("DCI_RECEIPTS_PATH"):
        # The 2024 draft's /registry/receipts is no longer spoken: say so rather than
        # push somewhere a released registry has no such endpoint.
        env.problem(
            "DCI_RECEIPTS_PATH belongs to the 2024 draft (receipts), no longer supported: "
            "remove it; enrolments go to DCI_UPDATES_PATH (default " + UPDATES_PATH + ")"
        )
    indigence = _indigence(env)
    if missing:
        return None
    updates = env.text("DCI_UPDATES_PATH", UPDATES_PATH)
    return DciSettings(
        base_url=env.text("DCI_BASE_URL"),
        client_id=env.text("DCI_CLIENT_ID"),
        client_secret=env.text("DCI_CLIENT_SECRET"),
        sender_id=env.text("DCI_SENDER_ID"),
        receiver_id=env.text("DCI_RECEIVER_ID"),
        programme_id=env.text("DCI_PROGRAMME_ID"),
        token_url=env.text("DCI_TOKEN_URL", TOKEN_PATH),
        updates_path=None if updates.lower() == "none" else updates,
        indigence=indigence,
        id_types=IdTypes(
            national_id=env.text("DCI_NATIONAL_ID_TYPE", "UIN"),
            member_no=env.text("DCI_MEMBER_ID_TYPE", "MEMBER_NO"),
        ),
        signing_key=signing_key,
        signing_key_id=signing_key_id,
        timeout_seconds=timeout_seconds,
    )


def _indigence(env: Environment) -> IndigenceRule | None:
    """Who is indigent by the social registry: off unless DCI_INDIGENT_SCORE_BELOW is set."""
    below = env.text("DCI_INDIGENT_SCORE_BELOW")
    if not below:
        if env.text("DCI_INDIGENT_SCORE_TYPE"):
            env.problem("DCI_INDIGENT_SCORE_TYPE needs DCI_INDIGENT_SCORE_BELOW")
        return None
    try:
        score = float(below)
    except ValueError:
        env.problem(f"DCI_INDIGENT_SCORE_BELOW must be a number, not {below!r}")
        return None
    return IndigenceRule(score, env.text("DCI_INDIGENT_SCORE_TYPE") or None)


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
