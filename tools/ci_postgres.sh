#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 for the test suite, from nothing.
#
#   tools/ci_postgres.sh         start (or reuse) the server, create one database
#                                per service, write .run/ci-postgres.env and
#                                print its `export ...` lines on stdout
#   tools/ci_postgres.sh stop    stop the server started here
#
# The server listens on 127.0.0.1 only with trust authentication, and trades
# durability for speed (fsync off): it holds test data only. Progress goes to
# stderr so that `eval "$(tools/ci_postgres.sh)"` works as well as sourcing
# the env file.
#
# Environment:
#   CI_POSTGRES_PORT     TCP port (default 5432)
#   CI_POSTGRES_DATA     data directory (default: a new temporary directory,
#                        remembered in the env file so that reruns reuse it)
#   CI_POSTGRES_BINDIR   directory holding initdb/pg_ctl (default: found)
set -euo pipefail

readonly PG_MAJOR=15
readonly DATABASES=(scoring criteria exam_reports compliance audit_referral)
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly STATE_FILE="$repo_root/.run/ci-postgres.env"

log() { printf 'ci_postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# initdb and the server refuse to run as root; everyone else runs them as is.
as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_bindir() {
  local candidate
  for candidate in \
    "${CI_POSTGRES_BINDIR:-}" \
    "$(pg_config --bindir 2>/dev/null || true)" \
    "/usr/lib/postgresql/$PG_MAJOR/bin"; do
    if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

install_server() {
  is_root || die "PostgreSQL $PG_MAJOR is not installed and installing it needs root"
  log "installing postgresql-$PG_MAJOR"
  # Debian would otherwise create and start a `main` cluster on our port.
  mkdir -p /etc/postgresql-common/createcluster.d
  printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.d/ci.conf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_MAJOR" >&2
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_state() {
  local base="postgresql+psycopg://postgres@127.0.0.1:$port"
  mkdir -p "$(dirname "$STATE_FILE")"
  {
    printf 'export CI_POSTGRES_DATA=%q\n' "$data"
    printf 'export CI_POSTGRES_PORT=%q\n' "$port"
    printf 'export CI_POSTGRES_BINDIR=%q\n' "$bindir"
    printf 'export TEST_POSTGRES_URL=%q\n' "$base/postgres"
    local db
    for db in "${DATABASES[@]}"; do
      printf 'export TEST_POSTGRES_URL_%s=%q\n' "${db^^}" "$base/$db"
    done
  } >"$STATE_FILE"
}

stop_server() {
  if [[ ! -f "$STATE_FILE" ]]; then
    log "nothing to stop (no $STATE_FILE)"
    return 0
  fi
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  if as_pg "$CI_POSTGRES_BINDIR/pg_ctl" -D "$CI_POSTGRES_DATA" status >/dev/null 2>&1; then
    as_pg "$CI_POSTGRES_BINDIR/pg_ctl" -D "$CI_POSTGRES_DATA" -m fast -w stop >&2
  else
    log "server in $CI_POSTGRES_DATA is not running"
  fi
}

if [[ "${1:-start}" == "stop" ]]; then
  stop_server
  exit 0
elif [[ "${1:-start}" != "start" ]]; then
  die "usage: $0 [start|stop]"
fi

# A previous run remembers its data directory; an explicit one wins.
if [[ -z "${CI_POSTGRES_DATA:-}" && -f "$STATE_FILE" ]]; then
  CI_POSTGRES_DATA="$(
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    printf '%s' "${CI_POSTGRES_DATA:-}"
  )"
fi
port="${CI_POSTGRES_PORT:-5432}"

if ! bindir="$(find_bindir)"; then
  install_server
  bindir="$(find_bindir)" || die "no initdb/pg_ctl found after installing postgresql-$PG_MAJOR"
fi
log "using $bindir"
if is_root && ! id postgres >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres
fi

data="${CI_POSTGRES_DATA:-}"
if [[ -z "$data" || ! -s "$data/PG_VERSION" ]]; then
  if [[ -z "$data" ]]; then
    data="$(mktemp -d -t customs-ci-postgres.XXXXXX)"
  fi
  mkdir -p "$data"
  if is_root; then
    chown postgres: "$data"
  fi
  chmod 700 "$data"
  log "initialising $data"
  as_pg "$bindir/initdb" --pgdata="$data" --username=postgres --auth=trust \
    --encoding=UTF8 --locale=C >/dev/null
  cat <<EOF | as_pg tee -a "$data/postgresql.conf" >/dev/null
# Added by tools/ci_postgres.sh: loopback only, test data only.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
fi

if as_pg "$bindir/pg_ctl" --pgdata="$data" status >/dev/null 2>&1; then
  log "already running from $data"
  port="$(sed -n 4p "$data/postmaster.pid")"
else
  if port_in_use "$port"; then
    die "port $port is taken by another process; set CI_POSTGRES_PORT"
  fi
  as_pg "$bindir/pg_ctl" --pgdata="$data" --log="$data/server.log" --wait --timeout=60 \
    -o "-p $port" start >&2 || {
    cat "$data/server.log" >&2 || true
    die "the server did not start"
  }
fi

for _ in $(seq 1 60); do
  if "$bindir/pg_isready" --quiet --host=127.0.0.1 --port="$port"; then
    break
  fi
  sleep 0.5
done
"$bindir/pg_isready" --quiet --host=127.0.0.1 --port="$port" || die "not accepting connections"

psql_admin() {
  "$bindir/psql" --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 \
    --host=127.0.0.1 --port="$port" --username=postgres --dbname=postgres "$@"
}
for db in "${DATABASES[@]}"; do
  if [[ -z "$(psql_admin --command="SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
    psql_admin --command="CREATE DATABASE $db" >/dev/null
    log "created database $db"
  fi
done

write_state
log "ready on 127.0.0.1:$port (env in ${STATE_FILE#"$repo_root"/})"
cat "$STATE_FILE"
