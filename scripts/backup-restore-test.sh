#!/usr/bin/env bash
# Registry backup/restore round trip (docs/backup-restore.md), against the packaged server and the tiny test bundle:
#   PostgreSQL: register a tenant + prompt set, score 3 images, pg_dump -Fc, pg_restore into a new database,
#               start a server on it: the tenant key still works, the prompt set and its scores are identical.
#   embedded H2: the same with the server stopped, org.h2.tools.Script -> a new data dir -> org.h2.tools.RunScript.
# Needs: a built server (./mvnw -B -q -o install -DskipTests), build/assets/tiny, a local PostgreSQL reachable as
# user inctrl/inctrl on localhost:5432 (scripts/start-postgres.sh), and root or sudo to create databases as postgres.
# Cleans up its databases, data dirs and servers; prints one line: "backup-restore: PASS ..." or "... FAIL ...".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
app=server/target/quarkus-app
bundle="$root/build/assets/tiny"
data="${INCTRL_DATA_DIR:-$root/../shared/data}"
pg_host="${PGHOST:-localhost}" pg_port="${PGPORT:-5432}"
export PGPASSWORD="${PGPASSWORD:-inctrl}" DJL_OFFLINE=true DJL_CACHE_DIR="${DJL_CACHE_DIR:-$root/.djl-cache}"

work="$(mktemp -d)"
suffix="$$_$RANDOM"
db_src="inctrl_backup_src_$suffix" db_dst="inctrl_backup_dst_$suffix"
pid=""
admin_key="backup-admin-$RANDOM$RANDOM"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -qAt -c "$1" >/dev/null; }
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
cleanup() {
  stop_server
  psql_admin "DROP DATABASE IF EXISTS $db_src" 2>/dev/null || true
  psql_admin "DROP DATABASE IF EXISTS $db_dst" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "backup-restore: FAIL: $*"; exit 1; }

[ -f "$app/quarkus-run.jar" ] || fail "no packaged server: run ./mvnw -B -q -o install -DskipTests"
[ -f "$bundle/manifest.json" ] || fail "no tiny bundle at $bundle: run scripts/prepare-test-assets.sh"
h2_jar="$(ls "$app"/lib/main/com.h2database.h2-*.jar | head -1)"
# one normal and two anomalous test images
mapfile -t images < <(cd "$data/mvtec_ad/transistor/test" && { ls good/* | sort | head -1; ls */* | grep -v '^good/' | sort | head -2; })

# shellcheck source=lib/wait-ready.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/wait-ready.sh"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# start_server LOG -D... : the packaged runner, security on; sets $http. Health may sit on the HTTP port or on a
# separate management port, so readiness is polled on both.
start_server() {
  local log="$1"; shift
  http="$(free_port)"; local grpc mgmt; grpc="$(free_port)"; mgmt="$(free_port)"
  java -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$http" -Dquarkus.grpc.server.port="$grpc" \
       -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$mgmt" -Dinctrl.model.bundle="$bundle" \
       -Dinctrl.security.enabled=true -Dinctrl.security.admin-key="$admin_key" "$@" \
       -jar "$app/quarkus-run.jar" > "$log" 2>&1 &
  pid=$!
  wait_ready "$pid" "$log" "http://127.0.0.1:$mgmt/q/health/ready" "http://127.0.0.1:$http/q/health/ready" && return 0
  tail -30 "$log"; fail "server not ready (log: $log)"
}

pg_server() { # LOG DB
  start_server "$1" -Dquarkus.datasource.active=false -Dquarkus.datasource.pg.active=true \
    -Dquarkus.datasource.pg.jdbc.url="jdbc:postgresql://$pg_host:$pg_port/$2" \
    -Dquarkus.datasource.pg.username=inctrl -Dquarkus.datasource.pg.password="$PGPASSWORD"
}
h2_server() { start_server "$1" -Dinctrl.registry.data-dir="$2"; }

# register: creates a tenant and a 4-shot prompt set; sets $key and $set
register() {
  local out
  out="$(curl -fsS -H "X-API-Key: $admin_key" -H 'Content-Type: application/json' \
          -d "{\"name\":\"backup-$RANDOM$RANDOM\"}" "http://127.0.0.1:$http/v1/admin/tenants")" || fail "create tenant"
  key="$(python3 -c 'import json,sys;print(json.load(sys.stdin)["apiKey"]["key"])' <<<"$out")"
  local shots=() f
  for f in $(ls "$data/mvtec_ad/transistor/shots" | sort | head -4); do
    shots+=(-F "shots=@$data/mvtec_ad/transistor/shots/$f;type=image/png")
  done
  out="$(curl -fsS -H "X-API-Key: $key" -F name=line-7 -F category=transistor "${shots[@]}" \
          "http://127.0.0.1:$http/v1/prompt-sets")" || fail "register prompt set"
  set="$(python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])' <<<"$out")"
}

# snapshot FILE: the prompt set as stored (with its calibration) and the scores of 3 test images, as the tenant
snapshot() {
  local f
  curl -fsS -H "X-API-Key: $key" "http://127.0.0.1:$http/v1/prompt-sets/$set" > "$1" || fail "get prompt set"
  echo >> "$1"
  for f in "${images[@]}"; do
    curl -fsS -H "X-API-Key: $key" -F "image=@$data/mvtec_ad/transistor/test/$f" \
         "http://127.0.0.1:$http/v1/prompt-sets/$set/score" >> "$1" || fail "score $f"
    echo >> "$1"
  done
}

# same A B: identical scores (exact float equality: the JSON holds float32 values printed round-trip exact)
same() {
  python3 - "$1" "$2" <<'EOF' || fail "restored registry differs: $1 vs $2"
import json, sys
a, b = ([json.loads(l) for l in open(p) if l.strip()] for p in sys.argv[1:3])
for r in a + b:
    r.pop("queryId", None)  # a fresh id per scored request (to confirm it as a shot), not registry state
assert len(a) == 4 and a == b, (a, b)
EOF
}

t0=$(date +%s)
# ---- PostgreSQL: pg_dump -Fc / pg_restore ----
psql_admin "CREATE DATABASE $db_src OWNER inctrl"
pg_server "$work/pg-src.log" "$db_src"
register
snapshot "$work/pg-before.jsonl"
stop_server
pg_dump -h "$pg_host" -p "$pg_port" -U inctrl -Fc -f "$work/registry.dump" "$db_src"
psql_admin "CREATE DATABASE $db_dst OWNER inctrl"
pg_restore -h "$pg_host" -p "$pg_port" -U inctrl --no-owner --no-privileges -d "$db_dst" "$work/registry.dump"
pg_server "$work/pg-dst.log" "$db_dst"
snapshot "$work/pg-after.jsonl"
stop_server
same "$work/pg-before.jsonl" "$work/pg-after.jsonl"
pg_set="$set"

# ---- embedded H2: Script / RunScript, server stopped ----
h2_server "$work/h2-src.log" "$work/h2-src"
register
snapshot "$work/h2-before.jsonl"
stop_server
java -cp "$h2_jar" org.h2.tools.Script -url "jdbc:h2:file:$work/h2-src/registry" -user inctrl -password inctrl \
     -script "$work/registry-h2.zip" -options compression zip
java -cp "$h2_jar" org.h2.tools.RunScript -url "jdbc:h2:file:$work/h2-dst/registry" -user inctrl -password inctrl \
     -script "$work/registry-h2.zip" -options compression zip
h2_server "$work/h2-dst.log" "$work/h2-dst"
snapshot "$work/h2-after.jsonl"
stop_server
same "$work/h2-before.jsonl" "$work/h2-after.jsonl"

echo "backup-restore: PASS (postgresql pg_dump/pg_restore: prompt set $pg_set; h2 Script/RunScript: prompt set $set;" \
     "3 scores identical, tenant key valid; $(( $(date +%s) - t0 )) s)"
