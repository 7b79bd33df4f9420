"""`alafia ...` in a process of its own, as an operator starts it, on the test run's clock:
with ALAFIA_TEST_CLOCK_SHIFT_DAYS set (the suite's year-ahead run) the child's wall clock
is moved as the test process's is, so both agree on what is due."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

if __name__ == "__main__":
    shift = os.environ.get("ALAFIA_TEST_CLOCK_SHIFT_DAYS", "").strip()
    if shift:
        import time_machine

        moved = datetime.now(UTC) + timedelta(days=float(shift))
        time_machine.travel(moved, tick=True).start()
    from gateway.cli import main

    sys.exit(main(sys.argv[1:]))
