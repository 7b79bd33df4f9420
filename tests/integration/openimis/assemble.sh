#!/usr/bin/env bash
# Assemble a real openIMIS backend (release 24.04, the newest whose modules all
# install from PyPI) against the machine's PostgreSQL, seed what the Alafia
# adapter needs, and serve it with waitress on a free local port.
#
#   tests/integration/openimis/assemble.sh            # build if needed, then serve
#   tests/integration/openimis/assemble.sh --build    # build only (venv + database)
#   tests/integration/openimis/assemble.sh --stop     # stop the server it started
#
# Nothing of openIMIS is kept in this repository: the Django assembly and the SQL
# come from openIMIS's own repositories at tag 24.04, the modules from PyPI.
# Everything built lives in $ALAFIA_OPENIMIS_HOME (outside the checkout) so that a
# second run reuses the venv and the database (marker table) and starts in ~15 s; an
# assembly cut short resumes where it stopped (the venv as a whole, the migrations).
# On success the last line printed is the backend's base URL, also written to
# $ALAFIA_OPENIMIS_HOME/server.url with the seeded settings in seed.json. Exit status:
# 0 served (or built), 3 a prerequisite is missing, anything else a failure (its log on stderr).
set -euo pipefail

TAG=24.04
INSUREE=1.8.0 # the one module taken from a later release (see the venv step)
HOME_DIR=${ALAFIA_OPENIMIS_HOME:-$HOME/.cache/alafia/openimis-$TAG}
PGHOST=${ALAFIA_OPENIMIS_PGHOST:-127.0.0.1}
PGPORT=${ALAFIA_OPENIMIS_PGPORT:-5432}
PGUSER=${ALAFIA_OPENIMIS_PGUSER:-postgres}
DB=${ALAFIA_OPENIMIS_DB:-openimis_it}
PYTHON=${ALAFIA_OPENIMIS_PYTHON:-python3.11}
# Where openIMIS's repositories are read from: a directory of git mirrors
# (owner+name/repo, as the session mirror lays them out) or, failing that, GitHub.
SOURCES=${ALAFIA_OPENIMIS_SOURCES:-/work/.mirror}
HERE=$(cd "$(dirname "$0")" && pwd)
MARKER="alafia openIMIS $TAG insuree $INSUREE assembly v1"
export PGHOST PGPORT PGUSER

log() { printf '[openimis %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# Exit 3: a tool this needs is missing here (CI reports the suite skipped, not failed).
for tool in git tar psql curl flock "$PYTHON"; do
  if ! command -v "$tool" >/dev/null; then
    log "missing prerequisite: $tool"
    exit 3
  fi
done

mkdir -p "$HOME_DIR"
exec 9>"$HOME_DIR/.lock"
flock 9 # one assembly at a time (CI and a developer may race)

stop_server() {
  if [[ -f "$HOME_DIR/server.pid" ]] && kill -0 "$(cat "$HOME_DIR/server.pid")" 2>/dev/null; then
    kill "$(cat "$HOME_DIR/server.pid")"
    log "stopped server $(cat "$HOME_DIR/server.pid")"
  fi
  rm -f "$HOME_DIR/server.pid" "$HOME_DIR/server.url"
}
if [[ "${1:-}" == "--stop" ]]; then
  stop_server
  exit 0
fi

# --- sources -----------------------------------------------------------------
checkout() { # owner/name ref dest
  local repo=$1 ref=$2 dest=$3 mirror="$SOURCES/${1/\//+}/repo"
  [[ -d "$dest" ]] && return 0
  # What a run cut short (the CI time box) left half-written: start it again.
  rm -rf "$dest.part"
  if [[ -d "$mirror" ]]; then
    mkdir -p "$dest.part"
    git --git-dir "$mirror" archive "$ref" | tar -x -C "$dest.part"
  elif [[ -d "$SOURCES/${repo#*/}/.git" ]]; then
    mkdir -p "$dest.part"
    git -C "$SOURCES/${repo#*/}" archive "$ref" | tar -x -C "$dest.part"
  else
    # No local mirror: GitHub. A machine with no route to it (CI machines reach only the
    # package registries) cannot assemble openIMIS at all: a missing prerequisite, not a failure.
    if ! git ls-remote -q "https://github.com/$repo" HEAD >/dev/null 2>&1 \
      && ! curl -sS --max-time 20 -o /dev/null https://github.com 2>/dev/null; then
      log "missing prerequisite: github.com cannot be reached from here and no mirror of $repo is in $SOURCES"
      exit 3
    fi
    if [[ "$ref" == HEAD ]]; then
      # "--branch HEAD" names no branch on GitHub: HEAD is the default branch's tip.
      git clone -q --depth 1 "https://github.com/$repo" "$dest.part"
    else
      git clone -q --depth 1 --branch "$ref" "https://github.com/$repo" "$dest.part"
    fi
  fi
  mv "$dest.part" "$dest"
}
checkout openimis/openimis-be_py "$TAG" "$HOME_DIR/src/be"
checkout openimis/database_postgresql "$TAG" "$HOME_DIR/src/db"
checkout gavinwahl/postgres-json-schema HEAD "$HOME_DIR/src/json-schema"

# --- venv --------------------------------------------------------------------
VENV=$HOME_DIR/venv
if [[ ! -f "$VENV/.complete" ]]; then
  started=$SECONDS
  log "building the venv in $VENV (first time: ~4 min)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # The assembly's requirements, less its git fork of django-apscheduler (not on
  # PyPI; 0.6.2 from PyPI migrates cleanly); apscheduler 3.10 needs pkg_resources.
  grep -v -e '^git+' "$HOME_DIR/src/be/requirements.txt" >"$HOME_DIR/requirements.txt"
  (cd "$HOME_DIR/src/be" && "$PYTHON" modules-requirements.py openimis.json) >"$HOME_DIR/modules.txt"
  "$VENV/bin/pip" install -q 'setuptools<70' wheel
  "$VENV/bin/pip" install -q -r "$HOME_DIR/requirements.txt" -r "$HOME_DIR/modules.txt" \
    'django-apscheduler==0.6.2' 'setuptools<70'
  # insuree 1.7.0 writes two live rows for every insuree created through FHIR (its
  # InsureeService.create_or_update creates one, then saves another), after which every
  # lookup by insuree number fails; 1.8.0, the next release, fixes it and migrates cleanly.
  "$VENV/bin/pip" install -q --no-deps "openimis-be-insuree==$INSUREE"
  touch "$VENV/.complete"
  log "venv built in $((SECONDS - started)) s"
fi

export DB_ENGINE=django.db.backends.postgresql DB_HOST=$PGHOST DB_PORT=$PGPORT DB_NAME=$DB
export DB_USER=$PGUSER DB_PASSWORD=${PGPASSWORD:-} SITE_ROOT=api MODE=${ALAFIA_OPENIMIS_MODE:-PROD}
export OPENIMIS_CONF=$HOME_DIR/src/be/openimis.json DJANGO_SETTINGS_MODULE=openIMIS.settings
export DJANGO_LOG_LEVEL=${DJANGO_LOG_LEVEL:-WARNING} ALLOWED_HOSTS='["*"]'
# GraphQL mutations run inside the request, as openIMIS does outside PROD mode, instead of
# through Celery and RabbitMQ (not needed here).
export ASYNC=False
manage() { (cd "$HOME_DIR/src/be/openIMIS" && "$VENV/bin/python" manage.py "$@"); }

# --- database ----------------------------------------------------------------
# A failed connection is a failure, not "rebuild": only a database that is missing, or that
# carries our marker table (so this script made it), is ever dropped and built again.
exists=$(psql -X -tA -v ON_ERROR_STOP=1 -d postgres -v db="$DB" \
  <<<"select count(*) from pg_database where datname = :'db'") || {
  log "cannot reach PostgreSQL at $PGHOST:$PGPORT as $PGUSER"
  exit 1
}
complete=""
if [[ "$exists" == 1 ]]; then
  ours=$(psql_db -tA -c "select to_regclass('public.alafia_assembly') is not null") || {
    log "cannot connect to database $DB"
    exit 1
  }
  if [[ "$ours" != t ]]; then
    log "database $DB exists but was not made by this script (no alafia_assembly table):" \
      "left untouched; set ALAFIA_OPENIMIS_DB to another name or drop it yourself"
    exit 1
  fi
  complete=$(psql_db -tA -c "select marker from alafia_assembly") || exit 1
fi
if [[ "$complete" != "$MARKER" ]]; then
  started=$SECONDS
  if [[ "$complete" != "$MARKER: SQL loaded" ]]; then
    log "loading openIMIS $TAG schema and demo data into database $DB"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "drop database if exists $DB with (force)"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $DB"
    # Marked ours from the start, so that a load cut short is rebuilt, not refused.
    psql_db -c "create table alafia_assembly (marker text not null);
                insert into alafia_assembly values ('$MARKER: loading')"
    sql="$HOME_DIR/src/db/database scripts"
    # The official image's order: dump, aux functions, views, functions, procedures, the
    # JSON-schema validation functions (as plain SQL rather than the compiled
    # extension), then the demo data.
    for f in 00_dump 02_aux_functions 03_views 04_functions 05_stored_procs; do
      psql_db -f "$sql/$f.sql" >/dev/null
    done
    sed -e 's/@extschema@/public/g' -e '/^\\echo/d' -e '/^\\quit/d' \
      "$HOME_DIR/src/json-schema/postgres-json-schema--0.1.1.sql" | psql_db >/dev/null
    psql_db -f "$sql/demo_db.sql" >/dev/null
    # An assembly cut short from here on (a CI time box) resumes at the migrations.
    psql_db -c "update alafia_assembly set marker = '$MARKER: SQL loaded'"
    log "SQL loaded in $((SECONDS - started)) s"
  fi
  log "migrating (2 to 13 min, as busy as the machine is)"
  manage migrate --no-input >"$HOME_DIR/migrate.log" 2>&1 || {
    tail -30 "$HOME_DIR/migrate.log" >&2
    exit 1
  }
  psql_db -c "update alafia_assembly set marker = '$MARKER'"
  log "database assembled in $((SECONDS - started)) s"
fi

# --- seed what the adapter needs (idempotent, so it runs every time) ---------
psql_db -f "$HERE/seed.sql" >/dev/null
psql_db -tA -f "$HERE/seed-facts.sql" >"$HOME_DIR/seed.json"
[[ "${1:-}" == "--build" ]] && exit 0

# --- serve -------------------------------------------------------------------
if [[ -f "$HOME_DIR/server.url" ]] && curl -sf -o /dev/null "$(cat "$HOME_DIR/server.url")/api/api_fhir_r4/docs/" 2>/dev/null; then
  log "already serving at $(cat "$HOME_DIR/server.url")"
  cat "$HOME_DIR/server.url"
  exit 0
fi
stop_server
port=${ALAFIA_OPENIMIS_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
started=$SECONDS
(
  cd "$HOME_DIR/src/be/openIMIS"
  exec setsid "$VENV/bin/waitress-serve" --listen="127.0.0.1:$port" --threads=4 openIMIS.wsgi:application
) >"$HOME_DIR/server.log" 2>&1 9>&- &
echo $! >"$HOME_DIR/server.pid"
url="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"username":"Admin","password":"admin123"}' "$url/api/api_fhir_r4/login/" | grep -q 200; then
    echo "$url" >"$HOME_DIR/server.url"
    log "serving at $url (started in $((SECONDS - started)) s), log $HOME_DIR/server.log"
    echo "$url"
    exit 0
  fi
  kill -0 "$(cat "$HOME_DIR/server.pid")" 2>/dev/null || break
  sleep 1
done
log "the server did not answer; last lines of $HOME_DIR/server.log:"
tail -30 "$HOME_DIR/server.log" >&2
stop_server
exit 1
