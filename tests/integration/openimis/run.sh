#!/usr/bin/env bash
# Run the openIMIS integration suite against a real openIMIS 24.04 backend:
# assemble it if needed (first time ~5 min, then ~15 s), then run the tests, which
# fail rather than skip when the backend is missing.
#
#   tests/integration/openimis/run.sh            # from the repository, with its venv active
#   tests/integration/openimis/run.sh -k renewal # extra arguments go to pytest
#
# ALAFIA_OPENIMIS_URL (and ALAFIA_OPENIMIS_SEED) point it at a backend of your own instead.
# A plain `python -m pytest` skips this suite: it runs only through this script (which sets
# ALAFIA_REQUIRE_OPENIMIS=1) or with ALAFIA_OPENIMIS_URL set.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ -z "${ALAFIA_OPENIMIS_URL:-}" ]; then
  tests/integration/openimis/assemble.sh >/dev/null
fi
ALAFIA_REQUIRE_OPENIMIS=1 exec python -m pytest -q -p no:randomly tests/integration/openimis "$@"
