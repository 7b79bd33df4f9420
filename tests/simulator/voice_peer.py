"""A scripted voice menu that speaks Africa's Talking's voice callback protocol
(docs: ../shared/reference/africastalking-voice.md), mounted at `/voice` in a test app:
the real `/voice` is built elsewhere, and the simulator's side is tested against the
documented protocol. Every callback it receives is kept, with the token it carried.

    first callback            -> GetDigits (numDigits=1) with a Say and a Play inside,
                                 then a Say for silence
    dtmfDigits=1              -> Record, its prompt inside
    recordingUrl              -> a Say alone: the call ends once it is spoken
    isActive=0                -> nothing (the call's end is only reported)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.callback_guard import same_secret

WELCOME = "Bienvenue à la mutuelle. Pour adhérer, tapez 1."
NO_ANSWER = "Nous n'avons pas reçu de réponse. Au revoir."
ASK_NAME = "Dites votre nom après le bip, puis tapez dièse."
THANKS = "Merci. Un agent va transcrire votre nom."
MENU_RECORDING = "https://voix.example.bj/fon/menu_main.mp3"

XML = '<?xml version="1.0" encoding="UTF-8"?>\n<Response>{}</Response>'


@dataclass
class ScriptedVoice:
    token: str
    received: list[dict[str, str]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def mount(self, app: Starlette) -> None:
        """First among the app's routes, so that it answers `/voice` even where the real
        one exists."""
        app.router.routes.insert(0, Route("/voice", self.callback, methods=["POST"]))

    async def callback(self, request: Request) -> Response:
        given = request.query_params.get("token", "")
        self.tokens.append(given)
        if not same_secret(given, self.token):
            return Response("missing or wrong token", status_code=401)
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.received.append(form)
        if form.get("isActive") == "0":
            return Response(status_code=200)
        if "recordingUrl" in form:
            body = f"<Say>{THANKS}</Say>"
        elif form.get("dtmfDigits") == "1":
            body = (
                '<Record finishOnKey="#" maxLength="10" trimSilence="true" playBeep="true">'
                f"<Say>{ASK_NAME}</Say></Record>"
            )
        else:
            body = (
                '<GetDigits timeout="20" finishOnKey="#" numDigits="1">'
                f'<Say voice="woman">{WELCOME}</Say><Play url="{MENU_RECORDING}"/>'
                f"</GetDigits><Say>{NO_ANSWER}</Say>"
            )
        return Response(XML.format(body), media_type="application/xml")
