#!/usr/bin/env bash
# `chaperone store check` and `chaperone store migrate` as an operator runs
# them on SQLite (the store suite covers InspectSchema on PostgreSQL and
# MariaDB): check changes nothing and says what is pending, migrate brings an
# older store (a genuine version-2 file, made by dropping what versions 3, 4 and 5 added)
# to this binary's version, a store newer than the binary is refused, bad
# URLs and config are exit 2, passwords are never printed.
set -euo pipefail
BIN=${CHAPERONE_BIN:?CHAPERONE_BIN must point at the chaperone binary}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# run WANT_RC ARGS...: runs `chaperone store ARGS`, output in $dir/out and $dir/err.
run() {
  local want=$1; shift
  local rc=0
  "$BIN" store "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [[ $rc -eq $want ]] || fail "store $* exited $rc, want $want (out: $(cat "$dir/out"); err: $(cat "$dir/err"))"
}
has() { grep -q -- "$1" "$dir/$2" || fail "'$1' not in $2: $(cat "$dir/$2")"; }

db="$dir/data/chaperone.db"
run 1 check --store "sqlite:$db"
has "$db does not exist" err
[[ ! -e "$dir/data" ]] || fail "store check created $dir/data"

run 0 migrate --store "sqlite:$db"
latest=$(sed -n 's/^schema: version \([0-9]*\), this binary.s \([0-9]*\)$/\2/p' "$dir/out")
[[ -n $latest && $latest -ge 3 ]] || fail "no schema line: $(cat "$dir/out")"
has "migrated from version 0 to $latest" out
run 0 migrate --store "sqlite:$db"
has "nothing to migrate: up to date" out
run 0 check --store "sqlite:$db"
has "schema: version $latest, this binary's $latest" out
has "^ok$" out

# A version-2 store, as an older binary left it (python3's sqlite3 module,
# not our code, edits the file).
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM schema_migrations WHERE version >= 3")
c.execute("ALTER TABLE emitters DROP COLUMN dropped_observations")
c.execute("ALTER TABLE emitters DROP COLUMN skipped_offsets")
c.execute("DROP TABLE topic_summary")
c.execute("DROP TABLE window_totals")
c.execute("DROP TABLE alerts")
c.execute("DROP TABLE alert_outbox")
c.execute("ALTER TABLE emitters DROP COLUMN incomplete")
c.commit()
PY
run 1 check --store "sqlite:$db"
has "schema: version 2, this binary's $latest" out
has "v3 .*pending" out
has "run \`chaperone store migrate\`" out
sum=$(md5sum <"$db")
run 1 check --store "sqlite:$db"
[[ $(md5sum <"$db") == "$sum" ]] || fail "store check changed the file"
# From the config file's store.url.
printf 'store:\n  url: sqlite:%s\n' "$db" >"$dir/chaperone.yaml"
run 0 migrate --config "$dir/chaperone.yaml"
has "migrated from version 2 to $latest" out
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in c.execute("PRAGMA table_info(emitters)")]
assert "skipped_offsets" in cols and "dropped_observations" in cols, cols
assert c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'topic_summary'").fetchone()[0] == 1
PY
run 0 check --config "$dir/chaperone.yaml"

# A store newer than this binary.
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO schema_migrations (version, applied_ms, description) VALUES (999, 1, 'from the future')")
c.commit()
PY
run 2 check --store "sqlite:$db"
has "newer than this binary's: upgrade chaperone" out
run 2 migrate --store "sqlite:$db"
has "newer than this binary's" err

# Bad input: exit 2, one clear line; passwords never printed.
run 2 check --store "bogus://x"
has "unsupported store URL scheme 'bogus'" err
printf 'store:\n  ulr: sqlite:x.db\n' >"$dir/bad.yaml"
run 2 check --config "$dir/bad.yaml"
has "bad.yaml:2: store.ulr: unknown setting (did you mean store.url?)" err
run 2 check --config "$dir/missing.yaml"
has "cannot read" err
run 2 check --no-such-flag
rc=0
"$BIN" store check --store "postgresql://chaperone:hunter2@127.0.0.1:1/chaperone" >"$dir/out" 2>"$dir/err" || rc=$?
[[ $rc -eq 1 ]] || fail "check of an unreachable store exited $rc, want 1"
! grep -q hunter2 "$dir/out" "$dir/err" || fail "the store password was printed: $(cat "$dir/err")"
has 'chaperone:\*\*\*@127.0.0.1:1' err
echo "store_cli: ok"
