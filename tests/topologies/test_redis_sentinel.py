"""The gateway on a primary found through Redis Sentinel (`redis+sentinel://`): a USSD
enrolment and a rate limit, as on one server."""

from __future__ import annotations

import yaml
from sqlalchemy.orm import Session

from tests.conftest import JOURNEYS
from tests.limits import test_rates
from tests.menus.test_journeys import tell
from tests.topologies.conftest import Topology


async def test_an_enrolment_through_sentinel(on_sentinel: Topology, db: Session) -> None:
    path = JOURNEYS / "enrol_family_fr.yaml"
    story = yaml.safe_load(path.read_text("utf-8"))
    await tell(story, path, on_sentinel.client, on_sentinel.clock, db, on_sentinel.app)


async def test_a_rate_limit_through_sentinel(on_sentinel: Topology) -> None:
    await test_rates.test_two_processes_never_both_take_the_last_use(on_sentinel.settings, None)
