# tests/lib/pg.sh: a real, private PostgreSQL for one test (sourced).
#
#   pg_start            initdb in a temporary directory and start the server on
#                       a unix socket there (no TCP) as an unprivileged user;
#                       0 when it runs, else prints "skipped: ..." and returns 1.
#                       Sets PG_DIR, PG_SOCK, PG_PORT, PG_USER.
#   pg_stop             stop it (immediate) and remove its directory; also run
#                       from an EXIT trap the caller installs (pg_start does not
#                       replace the caller's trap: call pg_stop from yours).
#   pg_db NAME          create database NAME once (0 when it exists or was made)
#   pg_url NAME         the libpq URL of NAME, for otad --store
#   pg_sql NAME SQL     run SQL in NAME, print the rows (-At: unaligned, no header)
#
# The binaries are Debian's (package postgresql: /usr/lib/postgresql/<v>/bin),
# or $OTA_PG_BIN.  As root the server runs as the `postgres` user (made by the
# package) or else `nobody`.  fsync is off unless OTA_PG_FSYNC=on (the tests
# kill otad, not the machine: a committed row is in PostgreSQL's memory and
# survives otad's death either way; the benchmark sets it on).  The start wait
# is bounded (20 s).

PG_DIR=
PG_SOCK=
PG_PORT=
PG_USER=otatest
PG_RUNAS=

pg_bin() {
    if [ -n "${OTA_PG_BIN:-}" ]; then echo "$OTA_PG_BIN"; return; fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    done
}

# pg_as CMD...: run CMD as the server's user
pg_as() {
    if [ -n "$PG_RUNAS" ]; then setpriv --reuid="$PG_RUNAS" --regid="$(id -g "$PG_RUNAS")" --clear-groups -- "$@"
    else "$@"; fi
}

pg_start() {
    local bin; bin=$(pg_bin)
    if [ -z "$bin" ]; then echo "skipped: PostgreSQL not installed (Debian package postgresql; scripts/deps.sh test)"; return 1; fi
    if ! command -v psql >/dev/null 2>&1 && [ ! -x "$bin/psql" ]; then echo "skipped: psql not installed"; return 1; fi
    PG_BINDIR=$bin
    if [ "$(id -u)" = 0 ]; then
        if id postgres >/dev/null 2>&1; then PG_RUNAS=postgres; else PG_RUNAS=nobody; fi
        command -v setpriv >/dev/null 2>&1 || { echo "skipped: setpriv (util-linux) missing: cannot drop root for PostgreSQL"; return 1; }
    fi
    PG_DIR=$(mktemp -d /tmp/ota-pg.XXXXXX) || { echo "skipped: no temporary directory"; return 1; }
    chmod 0755 "$PG_DIR"
    [ -n "$PG_RUNAS" ] && chown "$PG_RUNAS" "$PG_DIR"
    PG_SOCK=$PG_DIR
    # A port number names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
    PG_PORT=$(( 20000 + (RANDOM % 20000) ))
    if ! pg_as "$bin/initdb" -D "$PG_DIR/data" -U "$PG_USER" -A trust -E UTF8 --no-locale \
            >"$PG_DIR/initdb.log" 2>&1; then
        echo "skipped: initdb failed: $(tail -n 3 "$PG_DIR/initdb.log" | tr '\n' ' ')"
        pg_stop; return 1
    fi
    cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_SOCK'
port = $PG_PORT
fsync = ${OTA_PG_FSYNC:-off}
synchronous_commit = on
full_page_writes = ${OTA_PG_FSYNC:-off}
max_connections = 60
shared_buffers = 32MB
logging_collector = off
EOF
    if ! pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 20 start >/dev/null 2>&1; then
        echo "skipped: PostgreSQL did not start within 20 s: $(tail -n 3 "$PG_DIR/server.log" 2>/dev/null | tr '\n' ' ')"
        pg_stop; return 1
    fi
    return 0
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 20 stop >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
}

pg_psql() { "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" "$@"; }

pg_db() {
    local n="$1"
    [ "$(pg_psql -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname='$n'")" = 1 ] && return 0
    pg_psql -d postgres -c "CREATE DATABASE \"$n\"" >/dev/null
}

pg_url() { echo "postgresql://$PG_USER@/$1?host=$PG_SOCK&port=$PG_PORT"; }

pg_sql() { local n="$1"; shift; pg_psql -d "$n" -At -c "$*"; }
