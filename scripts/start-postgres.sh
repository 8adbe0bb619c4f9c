#!/usr/bin/env bash
# Idempotent: installs PostgreSQL (Debian/Ubuntu apt) if missing, starts the cluster, and creates role and
# database "inctrl" (password "inctrl") for the registry test suite. Prints the JDBC URL to use as
# INCTRL_TEST_PG_URL. Needs root (CI containers run as root); uses sudo when available otherwise.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql
fi

# The newest installed cluster (e.g. "15 main").
read -r VER NAME PORT STATUS _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -n 1)
if [ -z "${VER:-}" ]; then
  VER=$(ls /usr/lib/postgresql | sort -n | tail -n 1); NAME=main
  $SUDO pg_createcluster "$VER" "$NAME"
  read -r VER NAME PORT STATUS _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -n 1)
fi
if [ "$STATUS" != "online" ]; then
  $SUDO pg_ctlcluster "$VER" "$NAME" start
fi

AS_PG="runuser -u postgres --"
if [ -n "$SUDO" ]; then AS_PG="sudo -u postgres"; fi
psql_admin() { $AS_PG psql -p "$PORT" -v ON_ERROR_STOP=1 -qtA "$@"; }
for _ in $(seq 1 30); do psql_admin -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'inctrl'")" != "1" ]; then
  psql_admin -c "CREATE ROLE inctrl LOGIN PASSWORD 'inctrl'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'inctrl'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE inctrl OWNER inctrl"
fi

echo "jdbc:postgresql://localhost:${PORT}/inctrl"
