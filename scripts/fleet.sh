#!/usr/bin/env bash
# A fleet of GRODT bots on Docker Swarm (docs/fleet.md): one single-replica service per bot,
# each with its own config overlay, secrets and PostgreSQL database, one Prometheus for all.
#
# Usage: scripts/fleet.sh [-f FLEET_FILE] COMMAND [ARGS]
#
# Commands:
#   build             build the images the fleet file names, without a registry: the Debian
#                     base image, grodt, grodt plus the PostgreSQL driver (the bots' image),
#                     PostgreSQL and Prometheus
#   render            write the stack file and Prometheus configuration; print the stack's path
#   deploy            PostgreSQL first, then one database and role per bot, then the bots and
#                     Prometheus; waits until every service is healthy. Also adds bots and
#                     rolls out edited overlays: run it after every change of the fleet file
#   status            one table: every bot, its image, tasks, health, update state, database
#   upgrade IMAGE [BOT...]
#                     bot by bot (all by default): stop the old task, start IMAGE, keep it only
#                     if it turns healthy, else roll that bot back and stop the upgrade
#   rollback BOT...   return bots to their previous image and settings
#   backup [DIR]      pg_dump of every bot's database into DIR (default ./data/backups/fleet)
#   rm --yes          remove the stack (services, configs, secrets); volumes stay
#
# Options: -f FILE (default $FLEET_FILE or configs/fleet/fleet.yaml), -h/--help.
# Environment: FLEET_STACK, FLEET_IMAGE, FLEET_POSTGRES_IMAGE, FLEET_PROMETHEUS_IMAGE,
# FLEET_ENVIRONMENT override the fleet file's settings; FLEET_STATE_DIR (default
# .fleet/<stack>: rendered files and the bots' secrets), WAIT_TIMEOUT (seconds, default 240),
# DOCKER (the docker client), STACK_BASE_IMAGE (default grodt-base:trixie).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "fleet: $*" >&2; exit 2; }
say() { echo "fleet: $*" >&2; }

fleet_file=${FLEET_FILE:-$repo/configs/fleet/fleet.yaml}
while [ $# -gt 0 ]; do
    case "$1" in
        -f) [ $# -ge 2 ] || die "-f needs the fleet file"; fleet_file=$2; shift 2 ;;
        -h|--help|help) usage; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
command=$1
shift
[ -f "$fleet_file" ] || die "fleet file $fleet_file not found: pass -f FILE (see configs/fleet/fleet.yaml)"

docker_bin=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}
export DOCKER_BUILDKIT=1

# render.py needs PyYAML: the checkout's venv has it; without one, the grodt image has it.
python_bin=""
for candidate in "$repo/.venv/bin/python" python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
        python_bin=$candidate; break
    fi
done
[ -n "$python_bin" ] || die "no Python with PyYAML here: run scripts/bootstrap.sh, or apt-get install python3-yaml"
render() { "$python_bin" "$repo/docker/fleet/render.py" "$fleet_file" ${FLEET_STATE_DIR:+--state-dir "$FLEET_STATE_DIR"} "$@"; }
field() { render --field "$1"; }

stack=$(field stack)
state_dir=${FLEET_STATE_DIR:-$repo/.fleet/$stack}

in_swarm() {
    [ "$("$docker_bin" info --format '{{.Swarm.LocalNodeState}}')" = active ] \
        || die "this Docker engine is not in a swarm: run 'docker swarm init' (docs/fleet.md)"
}

# One line per bot: name, service, database role (render.py writes it).
bots() { cat "$state_dir/bots.tsv"; }

# The running container of a service on this node (the fleet runs on one node; docs/fleet.md).
container_of() {
    "$docker_bin" ps -q --filter "label=com.docker.swarm.service.name=$1" --filter status=running | head -n 1
}

health_of() {
    local id
    id=$(container_of "$1")
    [ -n "$id" ] || { echo none; return; }
    "$docker_bin" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}running{{end}}' "$id"
}

update_state() {
    "$docker_bin" service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$1" 2>/dev/null || true
}

wait_healthy() {
    local deadline=$(( $(date +%s) + ${WAIT_TIMEOUT:-240} )) service pending
    while :; do
        pending=()
        for service in "$@"; do
            # A service whose rollout is still running is not done, even if its old task is healthy.
            case "$(update_state "$service")" in
                updating|rollback_started) pending+=("$service"); continue ;;
            esac
            [ "$(health_of "$service")" = healthy ] || pending+=("$service")
        done
        [ ${#pending[@]} -eq 0 ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "not healthy after ${WAIT_TIMEOUT:-240} s: ${pending[*]}"
            for service in "${pending[@]}"; do
                "$docker_bin" service ps --no-trunc "$service" >&2 || true
            done
            return 1
        fi
        sleep 2
    done
}

postgres_sql() {
    local id
    id=$(container_of "${stack}_postgres")
    [ -n "$id" ] || die "PostgreSQL of stack $stack is not running: scripts/fleet.sh deploy"
    "$docker_bin" exec -i -u postgres "$id" psql -q -X -v ON_ERROR_STOP=1 -h /tmp "$@"
}

# A role and a database per bot, named alike: pg_hba's `sameuser` lets each role reach its
# own database only. The password is set on every deploy, so the secret file is the truth.
provision() {
    local name service role password
    while IFS=$'\t' read -r name service role; do
        password=$(cat "$state_dir/secrets/$name/db_password")
        postgres_sql -d postgres <<SQL
SELECT 'CREATE ROLE $role' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')\\gexec
ALTER ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$password';
SELECT 'CREATE DATABASE $role OWNER $role' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$role')\\gexec
REVOKE ALL ON DATABASE $role FROM PUBLIC;
SQL
        say "database $role ready for bot $name"
    done < <(bots)
}

stack_deploy() {
    # --resolve-image never: the images are local (no registry); swarm must not look them up.
    "$docker_bin" stack deploy --resolve-image never -c "$1" "$stack" >&2
}

deploy() {
    in_swarm
    stack_deploy "$(render --infra)"
    wait_healthy "${stack}_postgres"
    provision
    stack_deploy "$(render)"
    local services=("${stack}_postgres" "${stack}_prometheus") name service role
    while IFS=$'\t' read -r name service role; do services+=("$service"); done < <(bots)
    wait_healthy "${services[@]}"
    say "stack $stack deployed: ${#services[@]} services healthy"
}

status() {
    in_swarm
    render >/dev/null
    printf '%-12s %-28s %-26s %-7s %-10s %-20s %s\n' BOT SERVICE IMAGE TASKS HEALTH UPDATE DATABASE
    local name service role image replicas update
    while IFS=$'\t' read -r name service role; do
        if ! "$docker_bin" service inspect "$service" >/dev/null 2>&1; then
            printf '%-12s %-28s %-26s %-7s %-10s %-20s %s\n' "$name" "$service" - 0/0 absent - "$role"
            continue
        fi
        image=$("$docker_bin" service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service")
        update=$(update_state "$service")
        replicas=$("$docker_bin" service ls --filter "name=$service" --format '{{.Name}} {{.Replicas}}' | awk -v s="$service" '$1 == s { print $2 }')
        printf '%-12s %-28s %-26s %-7s %-10s %-20s %s\n' "$name" "$service" "$image" "${replicas:-?}" "$(health_of "$service")" "${update:--}" "$role"
    done < <(bots)
}

# One bot at a time, so a broken image stops at the first bot it breaks. Each service's own
# update_config (stop-first, rollback on failure) does the rest.
upgrade() {
    local image=${1:?upgrade needs the image: scripts/fleet.sh upgrade IMAGE [BOT...]}
    shift
    in_swarm
    render >/dev/null
    local wanted=("$@") name service role state
    while IFS=$'\t' read -r name service role; do
        if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
        say "upgrading $name to $image"
        "$docker_bin" service update --detach=false --no-resolve-image --image "$image" "$service" >&2 || true
        state=$(update_state "$service")
        if [ "$state" != completed ]; then
            say "FAILED: $name did not turn healthy on $image (update state: ${state:-none}); it runs its previous image again. Upgrade stopped; see 'docker service ps --no-trunc $service'"
            exit 1
        fi
        wait_healthy "$service"
    done < <(bots)
    say "upgraded to $image; set image: $image in $fleet_file so that the next deploy keeps it"
}

rollback() {
    [ $# -gt 0 ] || die "rollback needs the bots: scripts/fleet.sh rollback BOT..."
    in_swarm
    render >/dev/null
    local name
    for name in "$@"; do
        grep -q "^$name	" "$state_dir/bots.tsv" || die "no bot '$name' in $fleet_file"
        "$docker_bin" service rollback --detach=false "${stack}_$name" >&2
        wait_healthy "${stack}_$name"
    done
}

backup() {
    local dir=${1:-$repo/data/backups/fleet} stamp name service role
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    in_swarm
    render >/dev/null
    umask 077
    mkdir -p "$dir"
    while IFS=$'\t' read -r name service role; do
        # pg_dump takes a consistent snapshot while the bot trades; custom format for pg_restore.
        local id
        id=$(container_of "${stack}_postgres")
        [ -n "$id" ] || die "PostgreSQL of stack $stack is not running"
        "$docker_bin" exec -u postgres "$id" pg_dump -h /tmp -Fc "$role" >"$dir/$name-$stamp.dump.partial" \
            || { rm -f "$dir/$name-$stamp.dump.partial"; die "backup of $name ($role) failed"; }
        mv "$dir/$name-$stamp.dump.partial" "$dir/$name-$stamp.dump"
        say "backup of $name written to $dir/$name-$stamp.dump"
    done < <(bots)
}

build() {
    local base=${STACK_BASE_IMAGE:-grodt-base:trixie} grodt_image=${IMAGE_GRODT_LOCAL:-grodt:local}
    cd "$repo"
    scripts/build-base-image.sh --name "$base"
    DOCKER="$docker_bin" scripts/docker-build.sh --base "$base" --tag "$grodt_image" >/dev/null
    "$docker_bin" build -q -f docker/prometheus/Dockerfile.local --build-arg "BASE_IMAGE=$base" \
        -t "$(field prometheus_image)" docker/prometheus >/dev/null
    "$docker_bin" build -q -f docker/postgres/Dockerfile --build-arg "BASE_IMAGE=$base" \
        -t "$(field postgres_image)" docker/postgres >/dev/null
    # The bots run the one grodt image (it carries the PostgreSQL driver), under the tag the
    # fleet file names, so an upgrade is a new tag and a rollback the previous one.
    "$docker_bin" tag "$grodt_image" "$(field image)"
    say "images built: $(field image) $(field postgres_image) $(field prometheus_image)"
}

case "$command" in
    build) build ;;
    render) render ;;
    deploy) deploy ;;
    status) status ;;
    upgrade) upgrade "$@" ;;
    rollback) rollback "$@" ;;
    backup) backup "$@" ;;
    rm)
        [ "${1:-}" = --yes ] || die "rm removes the stack's services, configs and secrets (volumes stay): run 'rm --yes'"
        in_swarm
        "$docker_bin" stack rm "$stack" >&2
        ;;
    *) usage >&2; die "unknown command '$command'" ;;
esac
