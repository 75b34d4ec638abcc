#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL server for the storage tests and prints the connection string:
#
#   eval "$(bash scripts/start-test-postgres.sh)" && dotnet test tests/Uid2.Storage.Tests
#
# Only `export ...` lines go to stdout; progress goes to stderr.
#   UID2_PG_PORT  port to listen on (default 55432), on 127.0.0.1 only
#   UID2_PG_DIR   data directory (default /tmp/uid2-test-pg-<port>)
# If the PostgreSQL server binaries are missing and this runs as root, it installs the Debian `postgresql` package.
# The server is tuned for tests, not durability (fsync off), and trusts every local connection: never use it for data.
# Stop it with: pg_ctl -D <data dir> stop  (as the user that owns the data directory).
set -euo pipefail

PORT="${UID2_PG_PORT:-55432}"
DATA="${UID2_PG_DIR:-/tmp/uid2-test-pg-$PORT}"
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Password=postgres;Database=postgres"

log() { echo "start-test-postgres: $*" >&2; }
emit() {
    echo "export UID2_TEST_POSTGRES='$CONN'"
}

find_bin() {
    local dir
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then
        echo "$dir"
        return 0
    fi
    return 1
}

answering() {
    if [[ -n "${BIN:-}" && -x "$BIN/pg_isready" ]]; then
        "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres >/dev/null 2>&1
    elif command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") >/dev/null 2>&1
    fi
}

BIN="$(find_bin || true)"

# Reuse only the server this script started (its data directory's postmaster.pid names this port and a live
# process): any other server on the port is somebody else's, and tests must not write into it.
ours() {
    [[ -f "$DATA/postmaster.pid" ]] || return 1
    local pid port
    pid="$(sed -n 1p "$DATA/postmaster.pid")"
    port="$(sed -n 4p "$DATA/postmaster.pid")"
    [[ "$port" == "$PORT" ]] && kill -0 "$pid" 2>/dev/null
}

if answering; then
    if ours; then
        log "the test server started from $DATA is already answering on 127.0.0.1:$PORT; reusing it"
        emit
        exit 0
    fi
    log "another server (not started from $DATA) is listening on 127.0.0.1:$PORT: refusing to run tests against it."
    log "Set UID2_PG_PORT to a free port, or UID2_TEST_POSTGRES to a server you want the tests to use."
    exit 1
fi

if [[ -z "$BIN" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        log "PostgreSQL server binaries (pg_ctl, initdb) not found; install the 'postgresql' package or run this as root"
        exit 1
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin || true)"
    if [[ -z "$BIN" ]]; then
        log "postgresql installed but pg_ctl/initdb still not found"
        exit 1
    fi
fi
log "using PostgreSQL binaries in $BIN"

# The server refuses to run as root: as root, run it as the 'postgres' OS user.
RUN=()
if [[ "$(id -u)" -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
        log "creating the 'postgres' system user"
        useradd --system --user-group --no-create-home --shell /bin/bash postgres
    fi
    if command -v runuser >/dev/null 2>&1; then
        RUN=(runuser -u postgres --)
    else
        RUN=(su postgres -s /bin/bash -c)
    fi
fi

as_server_user() {
    if [[ ${#RUN[@]} -eq 0 ]]; then
        "$@"
    elif [[ "${RUN[0]}" == "runuser" ]]; then
        "${RUN[@]}" "$@"
    else
        "${RUN[@]}" "$(printf '%q ' "$@")"
    fi
}

mkdir -p "$DATA"
if [[ ${#RUN[@]} -gt 0 ]]; then chown postgres: "$DATA"; fi
chmod 700 "$DATA"

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "initdb into $DATA"
    as_server_user "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
        || as_server_user "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >&2
    # Trust auth on 127.0.0.1 (and ::1, local socket) only; listen on 127.0.0.1 only.
    cat > "$DATA/pg_hba.conf" <<HBA
local   all all              trust
host    all all 127.0.0.1/32 trust
host    all all ::1/128      trust
HBA
    cat >> "$DATA/postgresql.conf" <<CONF

# uid2 test server: throwaway, tuned for speed
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DATA'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_size = 4GB
CONF
    if [[ ${#RUN[@]} -gt 0 ]]; then chown postgres: "$DATA/pg_hba.conf"; fi
fi

# A stale pid file from a killed server would stop pg_ctl; it checks that itself, so just start.
log "starting the server on 127.0.0.1:$PORT"
if ! as_server_user "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 -o "-p $PORT" start >&2; then
    log "pg_ctl start failed; last lines of $DATA/server.log:"
    tail -n 20 "$DATA/server.log" >&2 || true
    exit 1
fi

for _ in $(seq 1 60); do
    if answering; then break; fi
    sleep 0.5
done
if ! answering; then
    log "the server did not become ready; see $DATA/server.log"
    exit 1
fi

# A password, for clients that insist on sending one (trust auth ignores it).
as_server_user "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAt \
    -c "ALTER USER postgres PASSWORD 'postgres';" >/dev/null 2>&1 || true

log "ready"
emit
