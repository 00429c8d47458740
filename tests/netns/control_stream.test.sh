#!/usr/bin/env bash
# The agent stream of a real `tern control serve` (TLS, --dev-self-signed): test agents
# (tests/tools/control_stream_client) register, open GET /api/v1/stream as a WebSocket and
# get their full map; a third registration and its endpoints report reach both as deltas
# within 2 s; `tern control peers remove` sends the removed one {"type":"removed"} and the
# others a delta within 2 s, also when made by another process on the data directory (the
# server polls the store's revision); a wrong token gets 401; after a server restart the agents
# reconnect and get a full map again.
#
#  +------------------------------------------------------+
#  | ns tern-s-PID (lo only)                              |
#  |   tern control serve --listen 127.0.0.1:8443         |
#  |     <== stream: agent a, agent b, agent c (WSS)      |
#  |     <-- tern control keys/peers --url ... --ca       |
#  +------------------------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_tools curl jq
need_impl tern
client=${TERN_TOOLS:-}/control_stream_client
[ -x "$client" ] || skip "TERN_TOOLS/control_stream_client is missing (build the tests/tools programs)"

ns_create S
data="$TERN_WORK/control"
url=https://127.0.0.1:8443
in_s() { ip netns exec "$S" "$@"; }
ctl() { in_s "$TERN" control "$@"; }

start_server() {
  : >"$TERN_WORK/serve.out"
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" control serve --listen 127.0.0.1:8443 \
    --data "$data" --dev-self-signed >"$TERN_WORK/serve.out" 2>>"$TERN_WORK/serve.err" &
  server_pid=$!
  track_pid $server_pid
  wait_until 15 "the control server to listen" grep -q 'listening on https' "$TERN_WORK/serve.out"
}

# agent NAME [ARGS...]: a test agent registering with the reusable key, in the background.
agent() {
  local name=$1
  shift
  ip netns exec "$S" "$client" --url "$url" --ca "$data/ca.pem" --setup-key "$key" --name "$name$$" \
    --token-out "$TERN_WORK/$name.token" --seconds 80 "$@" \
    >"$TERN_WORK/$name.out" 2>"$TERN_WORK/$name.err" &
  track_pid $!
  printf -v "pid_$name" '%s' $!
}
lines() { grep -c "$2" "$TERN_WORK/$1.out" 2>/dev/null || true; }
has() { grep -q "$2" "$TERN_WORK/$1.out" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

step "server and a reusable key"
start_server
token=$(grep '^tat_' "$TERN_WORK/serve.out") || fail "no admin token printed"
admin=(--url "$url" --token "$token" --ca "$data/ca.pem")
key=$(ctl keys create "${admin[@]}" --reusable | tail -n1)
ok "key ${key:0:12}..."

step "two agents open their streams and get their full maps"
agent a --reconnect
wait_until 10 "agent a's full map" has a '"type":"map"'
agent b --reconnect
wait_until 10 "agent b's full map" has b '"type":"map"'
map_b=$(grep -m1 '"type":"map"' "$TERN_WORK/b.out")
[ "$(jq '.peers | length' <<<"$map_b")" = 1 ] || fail "b's map lacks a: $map_b"
[ "$(jq -r '.self.name' <<<"$map_b")" = "b$$" ] || fail "b's map is not b's: $map_b"
wait_until 2 "a's delta naming b" has a "\"name\":\"b$$\""
ok "a: map then b as a delta; b: a map holding a"

step "a third registration reaches both as a delta within 2 s, and so do its endpoints"
start=$(now_ms)
agent c --endpoints 198.51.100.7:51820
wait_until 2 "the delta naming c on a and b" \
  bash -c "grep -q '\"name\":\"c$$\"' $TERN_WORK/a.out && grep -q '\"name\":\"c$$\"' $TERN_WORK/b.out"
ok "c reached a and b in $(($(now_ms) - start)) ms"
start=$(now_ms)
wait_until 2 "c's endpoints on a and b" \
  bash -c "grep -q '198.51.100.7:51820' $TERN_WORK/a.out && grep -q '198.51.100.7:51820' $TERN_WORK/b.out"
ok "c's endpoints report reached a and b ($(($(now_ms) - start)) ms after c's delta)"
ctl peers list "${admin[@]}" --json |
  jq -e ".peers[] | select(.name == \"c$$\") | .endpoints == [\"198.51.100.7:51820\"]" >/dev/null ||
  fail "the store does not hold c's endpoints"
ok "the store holds c's endpoints"

step "removing c: c is told and closed, a and b get a delta within 2 s"
c_key=$(ctl peers list "${admin[@]}" --json | jq -r ".peers[] | select(.name == \"c$$\") | .public_key")
c_id=$(ctl peers list "${admin[@]}" --json | jq ".peers[] | select(.name == \"c$$\") | .id")
before_a=$(lines a '"type":"delta"')
start=$(now_ms)
ctl peers remove "${admin[@]}" "$c_id" >/dev/null
wait_until 2 "c's removed message" has c '"type":"removed"'
wait_until 2 "a and b's delta removing c" \
  bash -c "grep '\"type\":\"delta\"' $TERN_WORK/a.out | grep -qF '\"removed\":[\"$c_key\"]' &&
           grep '\"type\":\"delta\"' $TERN_WORK/b.out | grep -qF '\"removed\":[\"$c_key\"]'"
ok "removal reached c, a and b in $(($(now_ms) - start)) ms"
wait_until 5 "c to exit" bash -c "! kill -0 $pid_c 2>/dev/null"
grep -q 'closed by the server (1000 removed)' "$TERN_WORK/c.err" || fail "c's close: $(cat "$TERN_WORK/c.err")"
[ "$(lines a '"type":"delta"')" -gt "$before_a" ] || fail "a got no delta"
ok "c's stream closed with 1000 after {\"type\":\"removed\"}"

step "a change made by another process on the database reaches the streams (revision poll)"
agent d
wait_until 10 "agent d's full map" has d '"type":"map"'
d_id=$(ctl peers list "${admin[@]}" --json | jq ".peers[] | select(.name == \"d$$\") | .id")
start=$(now_ms)
ctl peers remove --data "$data" "$d_id" >/dev/null
wait_until 2 "d's removed message" has d '"type":"removed"'
ok "a removal made on the data directory reached d in $(($(now_ms) - start)) ms"

step "a wrong token gets 401"
rc=0
in_s "$client" --url "$url" --ca "$data/ca.pem" --token "tpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
  --seconds 5 >/dev/null 2>"$TERN_WORK/wrong.err" || rc=$?
[ "$rc" = 3 ] && grep -q 'HTTP 401' "$TERN_WORK/wrong.err" || fail "wrong token: rc $rc, $(cat "$TERN_WORK/wrong.err")"
code=$(in_s curl -sS --max-time 5 --cacert "$data/ca.pem" -o /dev/null -w '%{http_code}' \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$url/api/v1/stream")
[ "$code" = 401 ] || fail "no token: $code"
code=$(in_s curl -sS --max-time 5 --cacert "$data/ca.pem" -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $(cat "$TERN_WORK/a.token")" "$url/api/v1/stream")
[ "$code" = 400 ] || fail "a good token without an upgrade: $code"
ok "wrong token 401, no token 401, no upgrade 400"

step "server restart: the agents reconnect and get a full map"
maps_a=$(lines a '"type":"map"')
maps_b=$(lines b '"type":"map"')
kill -TERM "$server_pid"
wait "$server_pid" || true
wait_until 3 "a and b to see the server go" \
  bash -c "grep -q 'closed by the server (1001' $TERN_WORK/a.err && grep -q 'closed by the server (1001' $TERN_WORK/b.err"
start=$(now_ms)
start_server
wait_until 5 "a and b's new full maps" \
  bash -c "[ \$(grep -c '\"type\":\"map\"' $TERN_WORK/a.out) -gt $maps_a ] && [ \$(grep -c '\"type\":\"map\"' $TERN_WORK/b.out) -gt $maps_b ]"
map_a=$(grep '"type":"map"' "$TERN_WORK/a.out" | tail -n1)
[ "$(jq -r '.peers[].name' <<<"$map_a")" = "b$$" ] || fail "a's new map: $map_a"
ok "both back with a full map $(($(now_ms) - start)) ms after the restart began"

echo
echo "PASS: control stream"
