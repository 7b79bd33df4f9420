"""The simulator's endpoints: the page, the two channels it forwards to, the recording.

Who may use it: anyone who reaches `alafia demo` (bound to 127.0.0.1); under `alafia
serve`, signed-in staff only (the dashboard's session, its CSRF token on every POST), and
only with phone numbers in the training range `SIMULATOR_PHONE_PREFIX`, since a simulated
phone enrols for real. A refusal is a short text in the page's language with a 4xx
status: the page shows it on the phone's screen.
"""

from __future__ import annotations

import logging
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from db.values import StaffRole
from gateway.settings import Settings
from gateway.simulator import forward
from gateway.simulator.callbacks import BadForm, Called, Dialled, field
from gateway.simulator.recording import SILENCE
from gateway.staff import language
from gateway.staff.auth import StaffUser, current_staff
from gateway.staff.guard import same_origin, to_login, tokens_match
from gateway.staff.pages import render
from menus.identifiers import PhoneNumberError, mask_phone, normalise_phone

log = logging.getLogger(__name__)

USSD_PATH = "/ussd"
VOICE_PATH = "/voice"
RECORDING_PATH = "/simulator/recording.wav"
DEMO_PHONE = "+2290197000001"  # `alafia dial`'s default
VOICE_NUMBER = "+22921000000"  # what the page calls by default; the gateway does not read it


class Refusal(Exception):
    def __init__(self, status: int, key: str, **params: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params


class SimulatorPages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.simulator = settings.simulator

    @property
    def is_off(self) -> bool:
        """Production without a training range: nobody may simulate."""
        return not self.simulator.open_without_login and self.simulator.phone_prefix is None

    async def page(self, request: Request) -> Response:
        if not self.simulator.open_without_login:
            staff = await current_staff(request)
            if staff is None:
                return to_login(request)
            request.state.staff = staff
        prefix = self.simulator.phone_prefix
        values = {
            "off": self.is_off,
            "prefix": None if self.simulator.open_without_login else prefix,
            "phone": DEMO_PHONE if self.simulator.open_without_login else _sample(prefix or ""),
            "code": self.settings.sms.ussd_code,
            "voice_number": VOICE_NUMBER,
            "texts": _page_texts(language.language_of(request)),
        }
        return render(request, "simulator.html", values, status_code=403 if self.is_off else 200)

    async def ussd(self, request: Request) -> Response:
        """One hop of the page's USSD session, posted to `/ussd` as the aggregator would."""
        try:
            form, staff = await self._admitted(request)
            hop = Dialled.read(form, self._phone(form))
        except Refusal as refusal:
            return _refused(request, refusal)
        except BadForm as bad:
            return _refused(request, Refusal(400, "simulator.refused.field", name=str(bad)))
        if hop.text == "":
            log.info("simulated dial from %s by %s", mask_phone(hop.phone), _who(staff))
        answer = await forward.post_form(
            request.app,
            USSD_PATH,
            hop.form(),
            token=self.settings.ussd_callback_token,
            client=self._source(request),
            host=request.headers.get("host", "simulator"),
        )
        return _passed_on(answer)

    async def voice(self, request: Request) -> Response:
        """One callback of the page's call, posted to `/voice` as Africa's Talking would;
        a recording is the simulator's own silent WAV, at a URL made here."""
        recording = f"{str(request.base_url).rstrip('/')}{RECORDING_PATH}?id={secrets.token_hex(8)}"
        try:
            form, staff = await self._admitted(request)
            call = Called.read(form, self._phone(form), recording)
        except Refusal as refusal:
            return _refused(request, refusal)
        except BadForm as bad:
            return _refused(request, Refusal(400, "simulator.refused.field", name=str(bad)))
        if call.active and call.digits is None and call.recording_url is None:
            log.info("simulated call from %s by %s", mask_phone(call.phone), _who(staff))
        answer = await forward.post_form(
            request.app,
            VOICE_PATH,
            call.form(),
            token=self.settings.sms.callback_token,
            client=self._source(request),
            host=request.headers.get("host", "simulator"),
        )
        return _passed_on(answer)

    async def recording(self, request: Request) -> Response:
        """Open to all: the voice channel fetches it without a staff session, and it is
        silence."""
        return Response(SILENCE, media_type="audio/wav", headers={"Cache-Control": "no-store"})

    async def _admitted(self, request: Request) -> tuple[FormData, StaffUser | None]:
        """The form of a POST the simulator may forward, and the staff member behind it
        (None in the demo)."""
        if not same_origin(request):
            raise Refusal(403, "simulator.refused.origin")
        form = await request.form()
        if self.simulator.open_without_login:
            return form, None
        staff = await current_staff(request)
        if staff is None:
            raise Refusal(401, "simulator.refused.login")
        if not tokens_match(field(form, "csrf"), staff.session.csrf):
            raise Refusal(403, "simulator.refused.csrf")
        if self.is_off:
            raise Refusal(403, "simulator.off")
        if staff.role == StaffRole.VIEWER:
            # A simulated phone enrols and pays for real: not for a read-only account.
            raise Refusal(403, "simulator.refused.viewer")
        return form, staff

    def _phone(self, form: FormData) -> str:
        typed = field(form, "phoneNumber")
        try:
            phone = normalise_phone(typed, self.settings.country)
        except PhoneNumberError:
            raise Refusal(400, "simulator.refused.phone") from None
        if not self.simulator.admits(phone):
            raise Refusal(403, "simulator.refused.range", prefix=self.simulator.phone_prefix or "")
        return phone

    def _source(self, request: Request) -> tuple[str, int]:
        """The peer the forwarded callback comes from. With CALLBACK_ALLOW_NETWORKS set, an
        address inside the aggregator's first network, as its own callbacks come from:
        the request is made here, in the process, after the simulator's own checks."""
        networks = self.settings.callback_networks
        if networks:
            return (str(networks[0].network_address), 0)
        return (request.client.host if request.client else "127.0.0.1", 0)


def _refused(request: Request, refusal: Refusal) -> Response:
    text = language.translate(language.language_of(request), refusal.key, **refusal.params)
    headers = {"Cache-Control": "no-store"}
    return PlainTextResponse(text, status_code=refusal.status, headers=headers)


def _passed_on(answer: forward.Answer) -> Response:
    headers = {"Cache-Control": "no-store"}
    if answer.refused:
        headers["X-Refused"] = answer.refused
    return Response(
        answer.body, status_code=answer.status, headers=headers, media_type=answer.content_type
    )


def _who(staff: StaffUser | None) -> str:
    return "the demo" if staff is None else f"staff:{staff.id}"


def _sample(prefix: str) -> str:
    """A number in the training range to start with: the prefix, zeros, then 1."""
    return prefix.ljust(13, "0") + "1" if len(prefix) < 14 else prefix


PAGE_TEXTS = (
    "idle",
    "unknown_code",
    "sending",
    "network_error",
    "cancelled",
    "voice_unavailable",
    "calling",
    "call_ended",
    "hung_up",
    "press_keys",
    "speak",
    "you_pressed",
    "you_said",
    "silence",
    "recording",
    "invalid_xml",
    "unsupported",
    "rejected",
    "operator_error",
)


def _page_texts(lang: str) -> dict[str, str]:
    """What the page's script writes on the screen, in the page's language."""
    return {name: language.translate(lang, f"simulator.js.{name}") for name in PAGE_TEXTS}
