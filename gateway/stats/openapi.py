"""The OpenAPI 3.1 document of the statistics API, built from the routes' own table so that
a route cannot exist undocumented (tests/stats/test_api.py checks both ways).

Response shapes are written here by hand, next to each other, and kept to what
`gateway.stats.figures` returns.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, Protocol

from gateway.stats.filters import CHANNELS, INTERVALS, MAX_BUCKETS
from menus.values import CoverageStatus


class Documented(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def description(self) -> str: ...


def _integer() -> dict[str, Any]:
    return {"type": "integer"}


def _counts(*names: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: _integer() for name in names},
        "required": list(names),
    }


def _map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": _integer()}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _keyed(**properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"key": {"type": ["string", "null"]}, **properties},
        "required": ["key", *properties],
    }


def _rate() -> dict[str, Any]:
    return {"type": ["number", "null"], "description": "null when nothing is due"}


def _day() -> dict[str, Any]:
    return {"type": ["string", "null"], "format": "date"}


STATUSES = {"$ref": "#/components/schemas/Statuses"}
RENEWALS = {"$ref": "#/components/schemas/Renewals"}
PERIOD = {
    "type": "object",
    "description": "the period the renewal windows opened in (cover end less the product's "
    "renewal_opens_days), as counted (defaults applied)",
    "properties": {"from": _day(), "to": _day()},
    "required": ["from", "to"],
}
PREMIUMS = {"$ref": "#/components/schemas/Premiums"}
COLLECTED = {"$ref": "#/components/schemas/Collected"}
RENEWAL_COUNTS = {
    "due": {
        "type": "integer",
        "description": "cover years whose renewal window opened in the period",
    },
    "renewed": {"type": "integer", "description": "of those, renewed (renewal_of_id)"},
    "paid": {"type": "integer", "description": "of those renewals, paid"},
    "renewal_rate": _rate(),
    "paid_rate": _rate(),
}
BREAKDOWN = _list(_keyed(households=_integer(), persons=_integer()))

RESPONSES: dict[str, dict[str, Any]] = {
    "overview": {
        "households": _integer(),
        "persons": _integer(),
        "households_by_status": STATUSES,
        "premiums": PREMIUMS,
        "collected": COLLECTED,
    },
    "enrolment": {
        "households": _integer(),
        "persons": _integer(),
        "by_mutual": BREAKDOWN,
        "by_commune": BREAKDOWN,
        "by_product": BREAKDOWN,
        "by_channel": BREAKDOWN,
        "by_occupation": _list(_keyed(persons=_integer())),
    },
    "coverage": {
        "households": _integer(),
        "households_by_status": STATUSES,
        "persons_by_status": STATUSES,
        "by_mutual": _list(
            {"allOf": [{"type": "object", "properties": {"key": {"type": "string"}}}, STATUSES]}
        ),
        "periods_opened": _counts("first", "renewals"),
    },
    "collection": {
        "premiums": PREMIUMS,
        "premiums_by_mutual": _list(PREMIUMS),
        "premiums_by_product": _list(PREMIUMS),
        "collected": COLLECTED,
        "collected_by_provider": _list(COLLECTED),
        "collected_by_channel": _list(COLLECTED),
    },
    "timeseries": {
        "interval": {"type": "string", "enum": list(INTERVALS)},
        "series": _list(
            {
                "type": "object",
                "properties": {
                    "start": {"type": "string", "format": "date"},
                    **_counts("households", "persons", "payments", "collected")["properties"],
                },
                "required": ["start", "households", "persons", "payments", "collected"],
            }
        ),
    },
    "agents": {
        "agents": _list(
            {
                "type": "object",
                "properties": {
                    "agent_id": _integer(),
                    "name": {"type": "string"},
                    "mutual": {"type": "string"},
                    **_counts("households", "members", "cash_payments", "cash_collected")[
                        "properties"
                    ],
                },
            }
        )
    },
    "sms": {
        "messages": _integer(),
        "by_status": _map(),
        "by_delivery_status": _map(),
        "by_purpose": _map(),
    },
    "funnel": {
        "sessions": _integer(),
        "enrolled": _integer(),
        "payment_started": _integer(),
        "by_journey": _map(),
        "by_status": _map(),
        "stopped_at": _list(
            {
                "type": "object",
                "properties": {"node": {"type": "string"}, "sessions": _integer()},
            }
        ),
        "by_mutual": _list(
            _keyed(
                sessions=_integer(),
                enrolled=_integer(),
                payment_started=_integer(),
            )
            | {
                "description": (
                    "the caller's mutual by code; key null: sessions of no known mutual, "
                    "counted only for staff who see the whole scheme and without a mutual filter"
                )
            }
        ),
        "average_hops": {"type": ["number", "null"]},
        "average_duration_ms": {"type": ["number", "null"]},
    },
    "renewals": {
        "period": PERIOD,
        **RENEWAL_COUNTS,
        "by_mutual": _list(RENEWALS),
        "by_commune": _list(RENEWALS),
        "by_product": _list(RENEWALS),
        "by_channel": _list(
            _keyed(renewed=_integer(), paid=_integer(), share=_rate())
            | {"description": "by the renewal's channel; share = renewed by it ÷ all due"}
        ),
    },
    "renewals_due": {
        "period": PERIOD,
        "due": {"type": "integer", "description": "households due and not renewed, in all"},
        "by_commune": _list(_keyed(due=_integer())),
        "households": _list(
            {
                "type": "object",
                "description": (
                    "the nearest ends first, at most 500; for viewers the name is initials, "
                    "the phone masked and the village null"
                ),
                "properties": {
                    "household_id": _integer(),
                    "member_no": {"type": ["string", "null"], "description": "the head's"},
                    "name": {"type": ["string", "null"], "description": "the head's"},
                    "phone": {"type": "string"},
                    "mutual": {"type": "string"},
                    "commune": {"type": ["string", "null"]},
                    "village": {"type": ["string", "null"]},
                    "product": {"type": "string"},
                    "ends_on": _day(),
                    "grace_until": _day(),
                    "status": {"type": "string", "enum": list(CoverageStatus)},
                },
            }
        ),
    },
    "retention": {
        "cohorts": _list(
            {
                "type": "object",
                "properties": {
                    "year": {"type": "integer", "description": "the year first covered"},
                    "households": _integer(),
                    "still_covered": _list(
                        {
                            "type": "object",
                            "properties": {
                                "year": _integer(),
                                "after_years": _integer(),
                                "households": _integer(),
                                "rate": _rate(),
                            },
                        }
                    ),
                },
            }
        )
    },
}


def _parameter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PARAMETERS = [
    _parameter("from", {"type": "string", "format": "date"}, "first day of the period, inclusive"),
    _parameter("to", {"type": "string", "format": "date"}, "last day of the period, inclusive"),
    _parameter("mutual", {"type": "string"}, "a mutual's code, e.g. MS-PARAKOU (within scope)"),
    _parameter("commune", {"type": "string"}, "the household's commune, e.g. Parakou"),
    _parameter("product", {"type": "string"}, "a product's code, e.g. FAMILLE"),
    _parameter("channel", {"type": "string", "enum": list(CHANNELS)}, "how the household came"),
    _parameter(
        "interval",
        {"type": "string", "enum": list(INTERVALS), "default": "day"},
        f"time series only: buckets of a day or a week (Monday); at most {MAX_BUCKETS}",
    ),
]

ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    }
}


def document(endpoints: Iterable[Documented], prefix: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        paths[f"{prefix}/{endpoint.name}"] = {
            "get": {
                "operationId": f"stats_{endpoint.name}",
                "summary": endpoint.summary,
                "description": inspect.cleandoc(endpoint.description),
                "parameters": PARAMETERS,
                "security": [{"staffSession": []}],
                "responses": {
                    "200": {
                        "description": "the figures, with the filters applied and the scope",
                        "content": {"application/json": {"schema": _response(endpoint.name)}},
                    },
                    "400": {"description": "a filter that cannot be read, and why", **ERROR},
                    "401": {"description": "no staff session", **ERROR},
                    "403": {"description": "a mutual outside the staff member's scope", **ERROR},
                    "503": {"description": "the query took too long; narrow it", **ERROR},
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Alafia statistics API",
            "version": "1",
            "description": (
                "Figures of enrolment, coverage, collection, renewal, retention, agents, SMS "
                "and the USSD funnel, for the part of the scheme the logged-in staff member "
                "sees. A household is due for renewal in a period when one of its cover "
                "years ends in it (cover_ends_on for a scheme year, else covered_until); it "
                "renewed when a cover year whose renewal_of_id is that year exists; the "
                "renewal rate is renewed ÷ due. "
                "See docs/statistics-api.md."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "staffSession": {"type": "apiKey", "in": "cookie", "name": "alafia_staff"}
            },
            "schemas": {
                "Statuses": _counts(*CoverageStatus),
                "Premiums": _keyed(
                    premium_due=_integer(),
                    premium_paid=_integer(),
                    collection_rate={"type": ["number", "null"]},
                    sponsor_share=_integer(),
                    sponsor_paid=_integer(),
                ),
                "Collected": _keyed(payments=_integer(), amount=_integer()),
                "Renewals": _keyed(**RENEWAL_COUNTS),
            },
        },
    }


def _response(name: str) -> dict[str, Any]:
    properties = RESPONSES[name]
    return {
        "type": "object",
        "properties": {
            "filters": {"type": "object"},
            "scope": {"type": ["string", "null"], "description": "the staff member's unit path"},
            "computed_at": {
                "type": "string",
                "format": "date-time",
                "description": "when the figures were counted (kept up to STATS_CACHE_SECONDS)",
            },
            **properties,
        },
        "required": ["filters", "scope", "computed_at", *properties],
    }
