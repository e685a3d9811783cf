#!/usr/bin/env bash
# A PostgreSQL server for the store's PostgreSQL tests, for CI (.ci/run) on a fresh machine, as
# root: install Debian's postgresql when missing, start its cluster, wait until it answers on
# 127.0.0.1, give the test role `grodt_test` (created when missing; it may create databases and
# nothing more, and no other role is touched) a fresh random password, and print the
# SQLAlchemy URL on stdout (everything else goes to stderr):
#     export GRODT_TEST_POSTGRES_URL=$(scripts/ci-postgres.sh)
# Fails loudly when the server does not come up: the PostgreSQL tests must fail, never skip, in CI.
set -euo pipefail

say() { echo "ci-postgres: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "FAIL: must run as root (installs and starts the server)"; exit 1; }

if ! command -v pg_lsclusters >/dev/null; then
    say "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# The first cluster Debian's package created (pg_createcluster when it created none).
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    say "creating cluster $version/$cluster"
    pg_createcluster "$version" "$cluster" >&2
    read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$status" != online ]; then
    say "starting cluster $version/$cluster on port $port"
    pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$port" || {
    say "FAIL: PostgreSQL $version/$cluster does not answer on 127.0.0.1:$port"
    tail -n 20 "/var/log/postgresql/postgresql-$version-$cluster.log" >&2 || true
    exit 1
}

role=grodt_test
password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$port" >&2 <<SQL
SELECT 'CREATE ROLE $role' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')\\gexec
ALTER ROLE $role LOGIN CREATEDB NOSUPERUSER PASSWORD '$password';
SQL
say "PostgreSQL $version answers on 127.0.0.1:$port (role $role)"
echo "postgresql+psycopg://$role:$password@127.0.0.1:$port/postgres"
