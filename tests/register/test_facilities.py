"""Health facilities: their API keys (shown once, stored hashed, revocable) and desk phones,
through the service and through `alafia facilities ...` as an operator runs it."""

from __future__ import annotations

import asyncio
import hashlib
import re
import types
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway import cli
from gateway.register import facilities as facilities_module
from gateway.register.capability import Register
from gateway.register.facilities import KEY_CACHE_SECONDS, Facilities, FacilityError
from gateway.settings import Settings
from tests.support.gateway import part, shared

DESK_A = "+2290197000301"
DESK_B = "+2290197000302"
DESK_C = "+2290166000303"
KEY = re.compile(r"alf_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")


def shown_part(key: str) -> str:
    """What may be shown of a key: alf_<its 12-hex prefix> (its secret may hold "_")."""
    return key[:16]


def secret_of(key: str) -> str:
    return key[17:]


def service(app: Starlette) -> Facilities:
    facilities: Facilities = part(app, Register).facilities
    return facilities


def stored(db: Session) -> list[dict[str, Any]]:
    """Every facility row and every desk phone, as the database holds them."""
    db.expire_all()
    rows = db.execute(text("SELECT * FROM facilities ORDER BY code")).mappings().all()
    phones = db.execute(text("SELECT * FROM facility_phones ORDER BY phone")).mappings().all()
    return [dict(r) for r in rows] + [dict(p) for p in phones]


async def eligibility_status(http: httpx.AsyncClient, key: str) -> int:
    """What the API answers to this key (the member is unknown: 404 means the key passed)."""
    response = await http.get(
        "/api/v1/eligibility/109999991", headers={"Authorization": f"Bearer {key}"}
    )
    return response.status_code


# -- the service ---------------------------------------------------------------------


async def test_a_new_facility_gets_a_key_that_finds_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    facility, key = await service(app).add(
        "CS-PKU", "CS Parakou", [DESK_A, DESK_B, DESK_A], by="cli:test"
    )

    assert KEY.fullmatch(key), key
    assert (facility.code, facility.name) == ("CS-PKU", "CS Parakou")
    assert await service(app).by_key(key) == facility
    assert await service(app).by_phone(DESK_A) == facility
    assert await service(app).by_phone(DESK_B) == facility
    assert await service(app).by_phone(DESK_C) is None
    assert await eligibility_status(client, key) == 404


async def test_the_database_never_holds_the_key(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    _, key = await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")
    await eligibility_status(client, key)  # a check is logged too
    await part(app, Register).eligibility.log.flush()
    secret = secret_of(key)

    rows = stored(db)
    checks = db.execute(text("SELECT * FROM eligibility_checks")).mappings().all()
    assert len(checks) == 1
    for row in [*rows, *(dict(c) for c in checks)]:
        for value in row.values():
            assert secret not in str(value), row
    [facility] = [r for r in rows if "code" in r]
    assert facility["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(f"alf_{facility['key_prefix']}_")


WRONG_KEYS = [
    "",
    "alf_",
    "not-a-key",
    "alf_000000000000_" + "A" * 43,  # well formed, no such prefix
]


@pytest.mark.parametrize("wrong", WRONG_KEYS)
async def test_a_wrong_key_finds_no_facility(
    app: Starlette, client: httpx.AsyncClient, wrong: str
) -> None:
    await service(app).add("CS-PKU", "CS Parakou", by="cli:test")

    assert await service(app).by_key(wrong) is None


async def test_a_key_with_a_known_prefix_and_another_secret_finds_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, key = await service(app).add("CS-PKU", "CS Parakou", by="cli:test")
    forged = f"{shown_part(key)}_{'B' * 43}"

    assert await service(app).by_key(forged) is None
    assert await service(app).by_key(key) is not None


async def test_a_second_facility_with_the_same_code_is_refused(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")

    with pytest.raises(FacilityError, match="CS-PKU"):
        await service(app).add("CS-PKU", "Another name", [DESK_B], by="cli:test")

    assert [r["name"] for r in stored(db) if "code" in r] == ["CS Parakou"]
    assert await service(app).by_phone(DESK_B) is None  # nothing of the refused one kept


async def test_a_phone_of_another_facility_is_refused(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    first, _ = await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")

    with pytest.raises(FacilityError, match="phones"):
        await service(app).add("CS-NDA", "CS N'Dali", [DESK_B, DESK_A], by="cli:test")

    assert [r["code"] for r in stored(db) if "code" in r] == ["CS-PKU"]
    assert await service(app).by_phone(DESK_A) == first
    assert await service(app).by_phone(DESK_B) is None


async def test_revoking_stops_the_key_and_the_desk_phones(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    facility, key = await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")
    assert await service(app).by_key(key) == facility  # and now in the key cache

    await service(app).revoke("CS-PKU", by="cli:test")

    assert await service(app).by_key(key) is None  # at once in this process
    assert await service(app).by_phone(DESK_A) is None
    assert await eligibility_status(client, key) == 401
    [row] = await service(app).listing()
    assert row["revoked"] is True


async def test_a_new_key_replaces_the_old_one_and_lifts_a_revocation(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    facility, old = await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")
    await service(app).revoke("CS-PKU", by="cli:test")

    new = await service(app).new_key("CS-PKU", by="cli:test")

    assert new != old and KEY.fullmatch(new)
    assert await service(app).by_key(old) is None
    assert await service(app).by_key(new) == facility
    assert await service(app).by_phone(DESK_A) == facility
    assert await eligibility_status(client, old) == 401
    assert await eligibility_status(client, new) == 404


async def test_a_new_key_stops_the_old_one_even_when_it_was_cached(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, old = await service(app).add("CS-PKU", "CS Parakou", by="cli:test")
    assert await eligibility_status(client, old) == 404  # verified once: cached

    await service(app).new_key("CS-PKU", by="cli:test")

    assert await eligibility_status(client, old) == 401


async def test_another_process_stops_a_revoked_key_within_the_cache_time(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two gateway processes: this one verified the key, the other (the CLI) revokes it.
    other = Facilities(shared(app).sessions, shared(app).now)
    _, key = await service(app).add("CS-PKU", "CS Parakou", by="cli:test")
    clock = types.SimpleNamespace(monotonic=lambda: 1000.0)
    monkeypatch.setattr(facilities_module, "time", clock)
    assert await eligibility_status(client, key) == 404

    await other.revoke("CS-PKU", by="cli:test")

    assert await eligibility_status(client, key) == 404  # still in this process's cache
    clock.monotonic = lambda: 1000.0 + KEY_CACHE_SECONDS + 0.1
    assert await eligibility_status(client, key) == 401


async def test_set_phones_replaces_the_desk_phones(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    facility, _ = await service(app).add("CS-PKU", "CS Parakou", [DESK_A, DESK_B], by="cli:test")

    await service(app).set_phones("CS-PKU", [DESK_B, DESK_C], by="cli:test")

    assert await service(app).by_phone(DESK_A) is None
    assert await service(app).by_phone(DESK_B) == facility
    assert await service(app).by_phone(DESK_C) == facility
    await service(app).set_phones("CS-PKU", [], by="cli:test")
    assert await service(app).by_phone(DESK_B) is None


async def test_set_phones_refuses_another_facilitys_phone_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    first, _ = await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")
    second, _ = await service(app).add("CS-NDA", "CS N'Dali", [DESK_B], by="cli:test")

    with pytest.raises(FacilityError, match="another facility"):
        await service(app).set_phones("CS-NDA", [DESK_C, DESK_A], by="cli:test")

    assert await service(app).by_phone(DESK_A) == first
    assert await service(app).by_phone(DESK_B) == second  # not deleted by the failed change
    assert await service(app).by_phone(DESK_C) is None


@pytest.mark.parametrize("change", ["revoke", "new_key", "set_phones"])
async def test_changes_to_an_unknown_facility_are_refused(
    app: Starlette, client: httpx.AsyncClient, change: str
) -> None:
    facilities = service(app)
    work = {
        "revoke": lambda: facilities.revoke("CS-NONE", by="cli:test"),
        "new_key": lambda: facilities.new_key("CS-NONE", by="cli:test"),
        "set_phones": lambda: facilities.set_phones("CS-NONE", [DESK_A], by="cli:test"),
    }[change]

    with pytest.raises(FacilityError, match="no facility with code 'CS-NONE'"):
        await work()


async def test_listing_shows_prefixes_states_and_phones_by_code(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await service(app).add("CS-PKU", "CS Parakou", [DESK_B, DESK_A], by="cli:test")
    _, key = await service(app).add("CS-KDI", "CS Kandi", by="cli:test")
    await service(app).revoke("CS-KDI", by="cli:test")

    listed = await service(app).listing()

    assert [(r["code"], r["name"], r["revoked"], r["phones"]) for r in listed] == [
        ("CS-KDI", "CS Kandi", True, []),
        ("CS-PKU", "CS Parakou", False, [DESK_A, DESK_B]),
    ]
    assert key.startswith(f"alf_{listed[0]['key_prefix']}_")
    assert all(len(str(r["key_prefix"])) == 12 for r in listed)


# -- the CLI -------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["facilities", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def printed_key(out: str) -> str:
    keys = KEY.findall(out)
    assert len(keys) == 1, out
    return str(keys[0])


def test_cli_add_prints_the_key_once_and_list_shows_only_its_prefix(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou", "--phone", "0197000301"
    )
    assert code == 0
    key = printed_key(out)
    assert "shown only now" in out

    code, out, _ = run(capsys, "list")

    assert code == 0
    assert key not in out and secret_of(key) not in out
    assert f"{shown_part(key)}_..." in out
    assert "CS-PKU" in out and "active" in out and "CS Parakou" in out
    assert DESK_A in out  # the phone as typed, stored in E.164
    [facility] = [r for r in stored(db) if "code" in r]
    assert facility["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


def test_cli_add_refuses_a_duplicate_code_and_an_invalid_phone(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou")[0] == 0

    code, out, err = run(capsys, "add", "--code", "CS-PKU", "--name", "Again")
    assert code == 2 and "not added" in err and "CS-PKU" in err and not KEY.search(out)

    code, out, err = run(capsys, "add", "--code", "CS-NDA", "--name", "N'Dali", "--phone", "12")
    assert code == 2 and "'12' is not a valid phone number" in err and not KEY.search(out)
    assert [r["code"] for r in stored(db) if "code" in r] == ["CS-PKU"]


def test_cli_revoke_and_new_key(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou")
    old = printed_key(out)

    code, out, _ = run(capsys, "revoke", "--code", "CS-PKU")
    assert code == 0 and "revoked" in out and not KEY.search(out)
    assert "revoked" in run(capsys, "list")[1]

    code, out, _ = run(capsys, "new-key", "--code", "CS-PKU")
    assert code == 0
    new = printed_key(out)
    assert new != old
    listed = run(capsys, "list")[1]
    assert "active" in listed and f"{shown_part(new)}_..." in listed and new not in listed
    [facility] = [r for r in stored(db) if "code" in r]
    assert facility["key_hash"] == hashlib.sha256(new.encode()).hexdigest()
    assert facility["revoked_at"] is None


@pytest.mark.parametrize("command", ["revoke", "new-key"])
def test_cli_changes_to_an_unknown_facility_exit_2(
    env: Settings, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, err = run(capsys, command, "--code", "CS-NONE")

    assert code == 2 and "no facility with code 'CS-NONE'" in err and not KEY.search(out)


def test_cli_phones_sets_the_desk_phones(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou", "--phone", DESK_A)

    code, out, _ = run(
        capsys, "phones", "--code", "CS-PKU", "--phone", "97 00 03 02", "--phone", DESK_C
    )

    assert code == 0 and "CS-PKU: 2 desk phones" in out
    assert [r["phone"] for r in stored(db) if "phone" in r] == [DESK_C, DESK_B]


def test_cli_phones_with_an_invalid_number_changes_nothing(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou", "--phone", DESK_A)

    code, _, err = run(capsys, "phones", "--code", "CS-PKU", "--phone", DESK_B, "--phone", "abc")

    assert code == 2
    assert "not changed" in err and "'abc' is not a valid phone number" in err
    assert [r["phone"] for r in stored(db) if "phone" in r] == [DESK_A]


def test_cli_phones_of_another_facility_exit_2(
    env: Settings, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "add", "--code", "CS-PKU", "--name", "CS Parakou", "--phone", DESK_A)
    run(capsys, "add", "--code", "CS-NDA", "--name", "CS N'Dali")

    code, _, err = run(capsys, "phones", "--code", "CS-NDA", "--phone", DESK_A)

    assert code == 2 and "another facility" in err
    assert [r["phone"] for r in stored(db) if "phone" in r] == [DESK_A]


async def test_a_key_from_the_cli_opens_the_api_and_a_revocation_closes_it(
    app: Starlette, client: httpx.AsyncClient, env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI runs its own event loop: here in a thread, as another process would.
    code = await asyncio.to_thread(
        cli.main, ["facilities", "add", "--code", "CS-PKU", "--name", "CS Parakou"]
    )
    assert code == 0
    key = printed_key(capsys.readouterr().out)
    assert await eligibility_status(client, key) == 404

    code = await asyncio.to_thread(cli.main, ["facilities", "new-key", "--code", "CS-PKU"])
    assert code == 0
    new = printed_key(capsys.readouterr().out)
    assert await eligibility_status(client, new) == 404
    service(app)._verified.clear()  # as KEY_CACHE_SECONDS later
    assert await eligibility_status(client, key) == 401
