#!/usr/bin/env bash
# Runs the four driver suites (psycopg, asyncpg, node-postgres, pgjdbc)
# against one set of connection settings: directly against Postgres, or
# through shardline. The same suites must pass both ways.
#
# usage: tests/drivers/run_all.sh [options]
#   --host H  --port P  --user U  --password W  --dbname D
#                       connection settings (default: PGHOST, PGPORT, PGUSER,
#                       PGPASSWORD, PGDATABASE from the environment)
#   --label L           printed by every suite (SUITE_LABEL; default "direct")
#   --session-mode      the target keeps one backend per client (Postgres
#                       itself, or shardline in session pooling): also run
#                       LISTEN/NOTIFY (SUITE_SESSION_MODE=1)
#   --only a,b          run only these suites: psycopg, asyncpg, node, jdbc
#
# Each suite prints "ok <name>" / "FAIL <name>: <why>" / "skip <name>: <why>"
# lines and ends with "N passed, M failed". This script prints every suite's
# output, then one summary line per suite and a total, and exits non-zero if
# any check failed or any suite did not finish.
#
# Needs: /usr/bin/python3 with python3-psycopg and python3-asyncpg (Debian),
# node + npm (the node suite installs `pg` into tests/drivers/node on first
# use), java 17 and /usr/share/java/postgresql.jar (libpostgresql-jdbc-java;
# override with PGJDBC_JAR).
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
only="psycopg,asyncpg,node,jdbc"
export SUITE_LABEL="${SUITE_LABEL:-direct}"
export SUITE_SESSION_MODE="${SUITE_SESSION_MODE:-0}"

while [ $# -gt 0 ]; do
  case "$1" in
    --host) export PGHOST="$2"; shift 2 ;;
    --port) export PGPORT="$2"; shift 2 ;;
    --user) export PGUSER="$2"; shift 2 ;;
    --password) export PGPASSWORD="$2"; shift 2 ;;
    --dbname) export PGDATABASE="$2"; shift 2 ;;
    --label) export SUITE_LABEL="$2"; shift 2 ;;
    --session-mode) export SUITE_SESSION_MODE=1; shift ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"
: "${PGUSER:?set PGUSER or pass --user}" "${PGDATABASE:?set PGDATABASE or pass --dbname}"
export PGUSER PGDATABASE
[ -n "${PGPASSWORD:-}" ] && export PGPASSWORD

jar="${PGJDBC_JAR:-/usr/share/java/postgresql.jar}"
python=/usr/bin/python3   # the Debian interpreter that has psycopg and asyncpg

declare -a summary=()
status=0

run_suite() {
  local name="$1"; shift
  local log rc last
  log="$(mktemp)"
  echo "=== $name [$SUITE_LABEL] $PGHOST:$PGPORT"
  # each suite bounds itself to 60 s; this is the backstop
  timeout -k 5 90 "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  last="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
  rm -f "$log"
  if [ -z "$last" ]; then
    summary+=("$name: did not finish (exit $rc)")
    status=1
  else
    summary+=("$name: $last")
    [ "$rc" -eq 0 ] || status=1
  fi
  echo
}

want() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

if want psycopg; then
  run_suite psycopg "$python" "$here/psycopg_suite.py"
fi
if want asyncpg; then
  run_suite asyncpg "$python" "$here/asyncpg_suite.py"
fi
if want node; then
  if [ ! -d "$here/node/node_modules/pg" ]; then
    echo "=== installing node-postgres into $here/node"
    if [ -f "$here/node/package-lock.json" ]; then
      (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error) || status=1
    else
      (cd "$here/node" && npm install --no-audit --no-fund --loglevel=error) || status=1
    fi
  fi
  run_suite node node "$here/node/pg_suite.js"
fi
if want jdbc; then
  run_suite jdbc java -cp "$jar" "$here/jdbc/JdbcSuite.java"
fi

echo "=== summary [$SUITE_LABEL] $PGHOST:$PGPORT"
total_p=0
total_f=0
for line in "${summary[@]}"; do
  echo "$line"
  if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    total_p=$((total_p + BASH_REMATCH[1]))
    total_f=$((total_f + BASH_REMATCH[2]))
  fi
done
echo "total: $total_p passed, $total_f failed"
[ "$total_f" -eq 0 ] || status=1
exit "$status"
