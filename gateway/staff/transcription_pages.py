"""`/admin/transcriptions`: the names callers said on the voice line, for staff to type.

- `/admin/transcriptions`: what waits in the staff member's part of the scheme, oldest
  first, each with its state (audio still coming, ready to hear, never came);
- `/admin/transcriptions/<id>`: one name: its recording in an audio player and the form
  to type it (the family name, the first names, or both for a dependant's one recording),
  read by the short code's own parsers; saved, it comes back to the list;
- `/admin/transcriptions/<id>/audio`: the stored recording, to signed-in staff of that
  part of the scheme only (never a link to the provider's address).

Mutual managers and central admins only (`gateway.transcriptions.desk.may_transcribe`).
Each name typed is audited (`name_transcribed`); the last of a household releases its
enrolment SMS and its register events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.household_forms import typed
from gateway.staff.pages import SECURITY_HEADERS, add_nav_link, render
from gateway.transcriptions.desk import (
    AlreadyDone,
    NoSuchName,
    PendingName,
    Refused,
    TranscriptionDesk,
    TypedName,
    may_transcribe,
)
from menus import parsers
from menus.context import MenuContext, SchemeSnapshot
from menus.nodes import Invalid
from menus.state import SessionState

LIST = "/admin/transcriptions"

add_nav_link(LIST, "transcriptions.nav", lambda staff: may_transcribe(staff.scope))


def desk_of(request: Request) -> TranscriptionDesk:
    desk: TranscriptionDesk = request.state.transcriptions
    return desk


@staff_page
async def waiting(request: Request, staff: StaffUser) -> Response:
    try:
        names, total = await desk_of(request).pending(staff.scope)
    except Refused:
        raise Forbidden() from None
    notice = request.query_params.get("done")
    return render(
        request,
        "transcriptions.html",
        {
            "names": names,
            "total": total,
            "done": notice if notice in ("saved", "household", "already") else None,
        },
    )


@staff_page
async def one(request: Request, staff: StaffUser) -> Response:
    transcription_id = int(request.path_params["transcription_id"])
    desk = desk_of(request)
    try:
        found = await desk.name(staff.scope, transcription_id)
        if request.method == "GET":
            return _page(request, found, {"last_name": "", "first_names": ""}, {})
        form = await request.form()
        shown = {
            "last_name": typed(form, "last_name", 80),
            "first_names": typed(form, "first_names", 80),
        }
        try:
            name = read_name(form, found, dashboard_of(request).now().date())
        except _Problems as problems:
            return _page(request, found, shown, problems.found, status_code=400)
        done = await desk.transcribe(staff.id, staff.scope, transcription_id, name)
    except Refused:
        raise Forbidden() from None
    except NoSuchName:
        raise NotFound() from None
    except AlreadyDone:
        return RedirectResponse(f"{LIST}?done=already", status_code=303)
    return RedirectResponse(
        f"{LIST}?done={'household' if done.household_complete else 'saved'}", status_code=303
    )


@staff_page
async def audio(request: Request, staff: StaffUser) -> Response:
    try:
        found = await desk_of(request).audio(
            staff.scope, int(request.path_params["transcription_id"])
        )
    except Refused:
        raise Forbidden() from None
    except NoSuchName:
        raise NotFound() from None
    if found is None:
        raise NotFound()
    return Response(found.content, media_type=found.content_type, headers=SECURITY_HEADERS)


class _Problems(Exception):
    def __init__(self, found: Mapping[str, str]) -> None:
        super().__init__(", ".join(found))
        self.found = dict(found)


def read_name(form: Mapping[str, object], asked: PendingName, today: date) -> TypedName:
    """The names typed, by the rules of the short code; only the ones this recording
    holds (a head's family name and first names are two recordings)."""
    ctx = MenuContext(scheme=SchemeSnapshot(), today=today)
    state = SessionState(node="staff", language="fr")
    problems: dict[str, str] = {}
    last_name = first_names = None
    if asked.asks_last_name:
        try:
            last_name = parsers.family_name(typed(form, "last_name"), ctx, state)
        except Invalid:
            problems["last_name"] = "correct.error.last_name"
    if asked.asks_first_names:
        try:
            first_names = parsers.given_names(typed(form, "first_names"), ctx, state)
        except Invalid:
            problems["first_names"] = "correct.error.first_names"
    if problems:
        raise _Problems(problems)
    return TypedName(last_name=last_name, first_names=first_names)


def _page(
    request: Request,
    found: PendingName,
    shown: Mapping[str, str],
    problems: Mapping[str, str],
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "transcription.html",
        {"name": found, "shown": shown, "problems": problems},
        status_code=status_code,
    )


PAGES = [
    (LIST, waiting, ["GET"]),
    (f"{LIST}/{{transcription_id:int}}", one, ["GET", "POST"]),
    (f"{LIST}/{{transcription_id:int}}/audio", audio, ["GET"]),
]
