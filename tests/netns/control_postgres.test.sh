#!/usr/bin/env bash
# Two `tern control serve` instances on one PostgreSQL database, which this test starts itself
# (Debian's postgresql 15: initdb and postgres in a temporary directory, unix socket only, as
# the postgres user). They share the admin token, keys and peers: a key made through one
# registers a machine through the other, 50 registrations racing across both get 50 distinct
# addresses, and a peer removed through instance 2 is told to its agent's stream on instance 1
# within 2 s (NOTIFY, else the 500 ms revision poll). `tern control keys|peers --database URL`
# work on the database itself, without a server.
#
#  +--------------------------------------------------------------+
#  | ns tern-s-PID (lo only)                                      |
#  |   tern control serve 127.0.0.1:8443 --data d1 --database URL |
#  |   tern control serve 127.0.0.1:8444 --data d2 --database URL |
#  |     <- curl, tern control keys/peers, control_stream_client  |
#  +--------------------------------------------------------------+
#  postgres (host, no network: socket in the work directory)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_tools curl jq setpriv
need_impl tern

pg_bin=/usr/lib/postgresql/15/bin
[ -x "$pg_bin/postgres" ] || skip "no PostgreSQL 15 server in $pg_bin (postgresql, scripts/install-deps.sh)"
getent passwd postgres >/dev/null || skip "no postgres user to run the test server as"

ns_create S
in_s() { ip netns exec "$S" "$@"; }
as_pg() { (cd / && setpriv --reuid=postgres --regid=postgres --clear-groups "$@"); }

step "a PostgreSQL server of our own"
chmod 711 "$TERN_WORK" # postgres reaches its directory below; nothing else here is readable
pg="$TERN_WORK/pg"
mkdir -m 700 "$pg"
chown postgres: "$pg"
as_pg "$pg_bin/initdb" -D "$pg/data" -U tern --auth=trust --no-sync -E UTF8 \
  >"$TERN_WORK/initdb.log" 2>&1 || fail "initdb: $(tail -n 5 "$TERN_WORK/initdb.log")"
port=$((20000 + RANDOM % 20000))
# The cleanup's SIGTERM would be a smart shutdown, which waits for every session to end:
# the wrapper turns it into a fast one (SIGINT). Its PID is the one tracked.
# shellcheck disable=SC2016 # expanded by the wrapper
setpriv --reuid=postgres --regid=postgres --clear-groups bash -c \
  'trap "kill -INT \$pid; wait \$pid; exit 0" TERM; "$@" & pid=$!; wait $pid' pg \
  timeout "$TERN_PROCESS_LIFETIME" "$pg_bin/postgres" -D "$pg/data" -k "$pg" -p "$port" \
  -c listen_addresses= -c fsync=off >"$TERN_WORK/postgres.log" 2>&1 &
track_pid $!
wait_until 30 "PostgreSQL to accept connections" as_pg "$pg_bin/pg_isready" -q -h "$pg" -p "$port"
as_pg "$pg_bin/createdb" -h "$pg" -p "$port" -U tern tern
db="postgresql:///tern?host=$pg&port=$port&user=tern"
ok "postgres on $pg/.s.PGSQL.$port, database tern"

step "a database that cannot be reached is an error at start"
if in_s timeout 20 "$TERN" control serve --listen 127.0.0.1:8449 --data "$TERN_WORK/bad" \
  --dev-self-signed --database "postgresql:///tern?host=$TERN_WORK/none&port=1" \
  >"$TERN_WORK/bad.out" 2>&1; then
  fail "serve started without its database"
fi
grep -q PostgreSQL "$TERN_WORK/bad.out" || fail "the error does not say why: $(cat "$TERN_WORK/bad.out")"
ok "refused: $(grep PostgreSQL "$TERN_WORK/bad.out" | head -n1)"

start_instance() { # start_instance N PORT
  : >"$TERN_WORK/serve$1.out"
  # Not through in_s: a function in the background is a subshell, whose PID (tracked for the
  # cleanup) would not be the server's.
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" control serve --listen "127.0.0.1:$2" \
    --data "$TERN_WORK/d$1" --dev-self-signed --database "$db" \
    >"$TERN_WORK/serve$1.out" 2>"$TERN_WORK/serve$1.err" &
  track_pid $!
  wait_until 20 "instance $1 to listen" listening "$1" $!
}
listening() { # listening N PID: true once instance N listens; fails if it died
  grep -q 'listening on https' "$TERN_WORK/serve$1.out" && return 0
  kill -0 "$2" 2>/dev/null || fail "instance $1 exited: $(tail -n 5 "$TERN_WORK/serve$1.err")"
  return 1
}
url1=https://127.0.0.1:8443
url2=https://127.0.0.1:8444
ca1=$TERN_WORK/d1/ca.pem
ca2=$TERN_WORK/d2/ca.pem
api() { # api N METHOD PATH [BODY]: prints "STATUS BODY"
  local url=$url1 ca=$ca1 out
  [ "$1" = 2 ] && url=$url2 ca=$ca2
  out=$(in_s curl -sS --max-time 10 --cacert "$ca" -X "$2" -o - -w ' %{http_code}' \
    -H "Authorization: Bearer $token" \
    ${4:+-H 'Content-Type: application/json' --data-binary "$4"} "$url$3")
  printf '%s\n' "${out##* } ${out% *}"
}
register() { # register N SETUP_KEY PUBLIC_KEY
  api "$1" POST /api/v1/register "{\"setup_key\":\"$2\",\"public_key\":\"$3\",\"name\":\"h$$\"}"
}
new_pub() { wg genkey | wg pubkey; }
ctl() { in_s "$TERN" control "$@"; }

step "two instances on the database share the admin token"
start_instance 1 8443
token=$(grep '^tat_' "$TERN_WORK/serve1.out") || fail "instance 1 printed no admin token"
start_instance 2 8444
grep -q '^tat_' "$TERN_WORK/serve2.out" && fail "instance 2 made a second admin token"
admin1=(--url "$url1" --token "$token" --ca "$ca1")
admin2=(--url "$url2" --token "$token" --ca "$ca2")
[ "$(ctl peers list "${admin2[@]}" --json | jq '.peers | length')" = 0 ] ||
  fail "instance 2 does not accept instance 1's token"
ok "one token, accepted by both"

step "a key made through instance 1 registers a machine through instance 2"
key=$(ctl keys create "${admin1[@]}" --reusable --usage-limit 60 | tail -n1)
[[ $key == tsk_* ]] || fail "keys create printed no key: $key"
pub1=$(new_pub)
r=$(register 2 "$key" "$pub1")
[ "${r%% *}" = 201 ] || fail "registration through instance 2: $r"
stream_token=$(jq -r .stream_token <<<"${r#* }")
[ "$(ctl peers list "${admin1[@]}" --json | jq -r '.peers[0].public_key')" = "$pub1" ] ||
  fail "instance 1 does not list the peer registered through instance 2"
ok "peer $(jq -r .peer.ipv4 <<<"${r#* }") registered through 2, listed by 1"

step "50 registrations racing across both instances get 50 distinct addresses"
mkdir "$TERN_WORK/many"
for i in $(seq 1 50); do new_pub; done >"$TERN_WORK/pubs"
started=$SECONDS
i=0
while read -r pub; do
  i=$((i + 1))
  register $((i % 2 + 1)) "$key" "$pub" >"$TERN_WORK/many/$i" &
done <"$TERN_WORK/pubs"
wait_until 60 "50 registrations" bash -c "[ \$(cat $TERN_WORK/many/* 2>/dev/null | grep -c '^201 ') -eq 50 ]"
n=$(cat "$TERN_WORK"/many/* | sed 's/^201 //' | jq -r .peer.ipv4 | sort -u | wc -l)
[ "$n" = 50 ] || fail "50 registrations got $n distinct addresses"
[ "$(ctl keys list "${admin2[@]}" --json | jq '.keys[0].used')" = 51 ] || fail "key use count"
ok "50 distinct addresses in $((SECONDS - started)) s; the key counts 51 uses on both"

step "a peer removed through instance 2 reaches its stream on instance 1 within 2 s"
id=$(ctl peers list "${admin1[@]}" --json | jq ".peers[] | select(.public_key == \"$pub1\") | .id")
client=${TERN_TOOLS:-}/control_stream_client
if [ -x "$client" ]; then
  : >"$TERN_WORK/stream.out"
  ip netns exec "$S" timeout 60 "$client" --url "$url1" --ca "$ca1" --token "$stream_token" \
    --seconds 50 \
    >"$TERN_WORK/stream.out" 2>"$TERN_WORK/stream.err" &
  track_pid $!
  wait_until 10 "the stream's first map" grep -q '"type": *"map"' "$TERN_WORK/stream.out"
  removed_at=$(date +%s%N)
  ctl peers remove "${admin2[@]}" "$id" >/dev/null
  wait_until 2 "the removal on instance 1's stream" grep -q '"type": *"removed"' "$TERN_WORK/stream.out"
  ok "removed reached the stream in $((($(date +%s%N) - removed_at) / 1000000)) ms"
else
  say "no control_stream_client in TERN_TOOLS: checking the removal through the API only"
  ctl peers remove "${admin2[@]}" "$id" >/dev/null
  [ "$(ctl peers list "${admin1[@]}" --json | jq '.peers | length')" = 50 ] ||
    fail "instance 1 still lists the removed peer"
  ok "instance 1 lists 50 peers"
fi
step "the admin commands work on the database itself (--database, no server)"
dkey=$(ctl keys create --database "$db" --name direct$$ | tail -n1)
[[ $dkey == tsk_* ]] || fail "keys create --database printed no key: $dkey"
ctl keys list "${admin2[@]}" --json | jq -e ".keys[] | select(.name == \"direct$$\")" >/dev/null ||
  fail "instance 2 does not list the key made on the database"
n=$(ctl peers list --database "$db" --json | jq '.peers | length')
[ "$n" = 50 ] || fail "peers list --database shows $n peers, not 50"
ok "a key made on the database is listed by instance 2; peers list --database shows 50"

api 1 GET '/api/v1/audit?limit=200' | cut -d' ' -f2- |
  jq -e '[.audit[].action] | index("peer.remove") != null' >/dev/null ||
  fail "instance 1's audit log lacks the removal made through instance 2"
ok "the audit log is shared"

echo
echo "PASS: control on PostgreSQL"
