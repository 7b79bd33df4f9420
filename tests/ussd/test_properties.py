"""Whatever the aggregator sends, the phone gets a 200 and a screen that fits."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menus import gsm

KEYPAD = st.sampled_from(
    ["", "0", "00", "1", "2", "3", "4", "9", "98", "99", "1985", "25031985", "1234567890"]
)
TYPED = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
ANSWER = st.one_of(KEYPAD, KEYPAD, TYPED)
HOPS = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.lists(ANSWER, max_size=5), st.booleans()),
    min_size=1,
    max_size=12,
)
PHONES = st.sampled_from(["+2290197000401", "97000402", "+22670123456", "0197000403", "nonsense"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hops=HOPS, phone=PHONES)
async def test_every_reply_is_a_proper_screen(
    client: httpx.AsyncClient, hops: list, phone: str
) -> None:
    texts: dict[str, list[str]] = {}
    for session, answers, restart in hops:
        typed = [] if restart else texts.get(session, [])
        typed = typed + answers
        texts[session] = typed
        response = await client.post(
            "/ussd",
            data={
                "sessionId": f"prop-{session}",
                "serviceCode": "*384*22#",
                "phoneNumber": phone,
                "networkCode": "61603",
                "text": "*".join(typed),
            },
        )
        assert response.status_code == 200
        assert response.text.startswith(("CON ", "END ")), response.text
        assert gsm.fits(response.text, 160), response.text
