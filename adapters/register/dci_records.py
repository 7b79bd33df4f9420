"""DCI registry records: beneficiaries we send in enrolment updates, persons and groups we
read from searches.

No I/O here. Shapes follow the DCI standard's release files (``spdci/standards``,
``release/yaml/ibr_api_v1.0.0.yaml`` and ``social_api_v1.0.0.yaml``; see
docs/integrations/dci.md): the IBR ``Beneficiary`` example (``reg_records`` items, which the
``EnrollmentUpdatesRequest.enrolled_updates.beneficiaries`` reuse) for what we send; the IBR
``Beneficiary``, the social registry's ``Group`` (``group_head_info``, ``member_list``,
``poverty_score``) and the plain ``Person`` for what we read. The standard writes dates in
ISO 8601 but some of its own examples use ``DD.MM.YYYY``; both are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.register.answers import as_dict, opt_list, opt_str
from adapters.register.base import RegisterPerson
from adapters.register.errors import RegisterMalformedAnswer
from adapters.register.events import BirthDate, CoverageRecord, HouseholdRecord, MemberRecord, Sex
from menus.values import CoverageStatus, Relationship

# The programme enrolment statuses of the standard (IBR code directory CD.IBR.02,
# src/extensions/ibr/EnrollmentStatus.yaml): Active, Deceased, Graduated, Suspended. A
# household still paying or waiting for its cover has none: it is not a beneficiary yet.
ACTIVE = "Active"
SUSPENDED = "Suspended"
DECEASED = "Deceased"
ENROLMENT_STATUSES = ("Active", "Deceased", "Graduated", "Suspended")

_SEX_CODES = {Sex.MALE: "M", Sex.FEMALE: "F", Sex.OTHER: "O"}
_SEX_READ = {
    "m": Sex.MALE,
    "male": Sex.MALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "o": Sex.OTHER,
    "other": Sex.OTHER,
}


@dataclass(frozen=True)
class IdTypes:
    """The identifier types agreed with the registry for our two identifiers."""

    national_id: str = "UIN"
    member_no: str = "MEMBER_NO"


def enrolment_status(coverage: CoverageRecord | None) -> str | None:
    """The standard's status for the household's cover now; None before its cover starts."""
    if coverage is None:
        return None
    if coverage.status.covers_care:
        return ACTIVE
    if coverage.status in (CoverageStatus.LAPSED, CoverageStatus.CANCELLED):
        return SUSPENDED
    return None


def beneficiary(
    member: MemberRecord,
    household: HouseholdRecord,
    coverage: CoverageRecord | None,
    *,
    status: str,
    changed_on: dt.date,
    programme_id: str,
    id_types: IdTypes,
) -> dict[str, Any]:
    person: dict[str, Any] = {
        "name": {"first_name": member.given_names, "surname": member.family_name},
        "sex": _SEX_CODES[member.sex],
        "birth_date": member.birth_date.isoformat(),  # "1985" when only the year is known
    }
    if member.national_id:
        person |= {"identifier_type": id_types.national_id, "identifier_value": member.national_id}
    phone = member.phone or (household.phone if member.relationship is Relationship.HEAD else None)
    if phone:
        person["phone_number"] = phone
    programme: dict[str, Any] = {
        "programme": {"programme_identifier": programme_id},
        "enrolment_status": status,
        "status_change_date": changed_on.isoformat(),
    }
    attributes = [{"attribute_name": "mutual_code", "attribute_value": household.mutual_code}]
    if coverage is not None:
        programme["enrolment_date"] = coverage.start.isoformat()
        attributes += [
            {"attribute_name": "product_code", "attribute_value": coverage.product_code},
            {"attribute_name": "coverage_end", "attribute_value": coverage.end.isoformat()},
        ]
    relationship = member.relationship
    return {
        "@type": "Beneficiary",
        "assistance_unit": household.reference,
        "member": {
            "member_identifier": member.member_no,
            "demographic_info": {"person": person},
            "relationship_head": "self"
            if relationship is Relationship.HEAD
            else relationship.value,
            "registration_date": (coverage.enrolled_on if coverage else changed_on).isoformat(),
            "programme_identifier": programme,
            "additional_attributes": attributes,
        },
    }


# -- reading -----------------------------------------------------------------------------


def identifiers(record: Mapping[str, Any], id_types: IdTypes) -> dict[str, str]:
    """Every identifier of a record, by type; a bare member_identifier is our member number."""
    found: dict[str, str] = {}
    member = record.get("member")
    sources: list[Any] = [record.get("identifier")]
    if isinstance(member, dict):
        bare = member.get("member_identifier")
        if isinstance(bare, str):
            found[id_types.member_no] = bare
        else:
            sources.append(bare)
        sources.append(_demographics(member).get("identifier"))
        sources.append(_demographics(member))  # the flat identifier_type/value of receipts
    for source in sources:
        for item in source if isinstance(source, list) else [source]:
            if isinstance(item, dict):
                kind, value = item.get("identifier_type"), item.get("identifier_value")
                if isinstance(kind, str) and isinstance(value, str):
                    found.setdefault(kind, value)
    return found


def person(record: Mapping[str, Any], id_types: IdTypes) -> RegisterPerson:
    where = "reg_record"
    member = record.get("member")
    details = _demographics(member) if isinstance(member, dict) else dict(record)
    name = as_dict(details.get("name") or {}, f"{where}.name")
    given = [
        opt_str(name, key, f"{where}.name") for key in ("given_name", "first_name", "second_name")
    ]
    ids = identifiers(record, id_types)
    sex = opt_str(details, "sex", where)
    birth = opt_str(details, "birth_date", where)
    return RegisterPerson(
        register_id=None,  # DCI records carry identifiers, not a registry id of their own
        member_no=ids.get(id_types.member_no),
        national_id=ids.get(id_types.national_id),
        family_name=opt_str(name, "surname", f"{where}.name") or "",
        given_names=" ".join(g for g in given if g),
        sex=_SEX_READ.get(sex.lower()) if sex else None,
        birth_date=_birth_date(birth) if birth else None,
        phone=opt_str(details, "phone_number", where),
    )


def _demographics(member: Mapping[str, Any]) -> dict[str, Any]:
    info = as_dict(member.get("demographic_info") or {}, "member.demographic_info")
    nested = info.get("person")  # receipts nest the person one level deeper
    return as_dict(nested, "demographic_info.person") if nested is not None else info


def _birth_date(text: str) -> BirthDate:
    try:
        if len(text) == 10 and text[2] == "." and text[5] == ".":
            day = dt.datetime.strptime(text, "%d.%m.%Y").date()
            return BirthDate(day.year, day.month, day.day)
        return BirthDate.parse(text)
    except ValueError as exc:
        raise RegisterMalformedAnswer(f"reg_record.birth_date {text!r}: {exc}") from exc


def matches(record: Mapping[str, Any], id_type: str, value: str, id_types: IdTypes) -> bool:
    return identifiers(record, id_types).get(id_type) == value


def records_of(search_item: Mapping[str, Any]) -> list[Any]:
    data = as_dict(search_item.get("data"), "search_response.data")
    return opt_list(data, "reg_records", "search_response.data")


# -- social registry groups ----------------------------------------------------------------


@dataclass(frozen=True)
class SocialStanding:
    """What a social registry says of the group (household) a person belongs to.

    From the social registry's ``Group`` (social_api_v1.0.0.yaml, ``SearchResponse``
    ``reg_records`` example): ``poverty_score`` (a number) and ``poverty_score_type`` (e.g.
    ``income-based``, ``PMT``). The standard fixes neither the scale nor which end is poor;
    the rule that makes someone indigent is a setting (``IndigenceRule``).
    """

    group_id: str | None
    poverty_score: float | None
    score_type: str | None


@dataclass(frozen=True)
class IndigenceRule:
    """A group whose poverty score is below ``score_below`` is indigent (the standard's own
    example selects poor groups with ``poverty_score $lt 5``); ``score_type``, when set, must
    match the group's ``poverty_score_type``."""

    score_below: float
    score_type: str | None = None

    def holds(self, standing: SocialStanding) -> bool:
        if standing.poverty_score is None:
            return False
        if self.score_type is not None and standing.score_type != self.score_type:
            return False
        return standing.poverty_score < self.score_below


def groups_holding(
    found: list[Any], id_type: str, value: str, id_types: IdTypes
) -> list[dict[str, Any]]:
    """The groups of a search answer that list the person (head or member) exactly."""
    groups = []
    for item in found:
        group = as_dict(item, "reg_record")
        members = [group.get("group_head_info"), *(opt_list(group, "member_list", "group") or [])]
        if any(
            isinstance(m, dict) and identifiers({"member": m}, id_types).get(id_type) == value
            for m in members
        ):
            groups.append(group)
    return groups


def standing(group: Mapping[str, Any], id_types: IdTypes) -> SocialStanding:
    score = group.get("poverty_score")
    if isinstance(score, bool) or score in (None, ""):
        value = None
    else:
        try:
            value = float(score)
        except (TypeError, ValueError) as exc:
            raise RegisterMalformedAnswer(f"group.poverty_score {score!r}") from exc
    ids = identifiers({"identifier": group.get("group_identifier")}, id_types)
    group_id = next(iter(ids.values()), None) or opt_str(group, "@id", "group")
    return SocialStanding(group_id, value, opt_str(group, "poverty_score_type", "group"))
