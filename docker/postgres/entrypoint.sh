#!/bin/sh
# Start PostgreSQL for the fleet: initialise the data directory on first start, then run the
# server in the foreground (SIGINT from `docker stop` is its "fast shutdown").
#
# Authentication is the isolation between bots: the superuser only through the local socket
# (peer, socket in /tmp: `docker exec` as postgres, which is how scripts/fleet.sh creates the bots' roles),
# and over the network each role may only reach the database of its own name (`sameuser`),
# with a password (SCRAM). So a bot that has its own secret cannot read another bot's trades.
set -eu
bin=/usr/local/lib/pgbin
: "${PGDATA:=/var/lib/postgresql/data}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "grodt-postgres: initialising $PGDATA" >&2
    "$bin/initdb" -D "$PGDATA" --username=postgres --encoding=UTF8 --locale=C \
        --auth-local=peer --auth-host=reject >&2
    cat >"$PGDATA/pg_hba.conf" <<'HBA'
# TYPE  DATABASE  USER  ADDRESS     METHOD
local   all       postgres          peer
host    sameuser  all   0.0.0.0/0   scram-sha-256
host    sameuser  all   ::/0        scram-sha-256
HBA
fi

exec "$bin/postgres" -D "$PGDATA" \
    -c listen_addresses='*' \
    -c unix_socket_directories=/tmp \
    -c password_encryption=scram-sha-256 \
    -c log_destination=stderr \
    -c log_line_prefix='%m [%p] %q%u@%d '
