#!/usr/bin/env bash
# A real `tern control serve` (TLS with a --dev-self-signed certificate) driven by its own
# admin commands and by curl: setup keys, registration and the network map (the stream's first
# message, read with tests/tools/control_stream_client), every error
# code the API promises (401 token, 403 naming the key's problem, 400 bad public key, 413
# oversized body, 429 guessing), 50 concurrent registrations with 50 distinct addresses,
# an online backup, and a restart that keeps every key, peer and the admin token.
#
#  +--------------------------------------------------+
#  | ns tern-s-PID (lo only)                          |
#  |   tern control serve --listen 127.0.0.1:8443     |
#  |     <- tern control keys/peers --url ... --ca    |
#  |     <- curl --cacert DATA/ca.pem (agents' calls) |
#  +--------------------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_tools curl jq
need_impl tern

ns_create S
data="$TERN_WORK/control"
url=https://127.0.0.1:8443
in_s() { ip netns exec "$S" "$@"; }

start_server() {
  : >"$TERN_WORK/serve.out"
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" control serve --listen 127.0.0.1:8443 \
    --data "$data" --dev-self-signed --relay turn:192.0.2.1:3478 --relay-secret relay-secret \
    >"$TERN_WORK/serve.out" 2>"$TERN_WORK/serve.err" &
  server_pid=$!
  track_pid $server_pid
  wait_until 15 "the control server to listen" grep -q 'listening on https' "$TERN_WORK/serve.out"
}

# api METHOD PATH [BODY]: curl as an agent would; prints "STATUS BODY".
api() {
  local out
  out=$(in_s curl -sS --max-time 10 --cacert "$data/ca.pem" -X "$1" -o - -w ' %{http_code}' \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$url$2")
  printf '%s\n' "${out##* } ${out% *}"
}
register() {  # register SETUP_KEY PUBLIC_KEY
  api POST /api/v1/register "{\"setup_key\":\"$1\",\"public_key\":\"$2\",\"name\":\"h$$\"}"
}
new_pub() { wg genkey | wg pubkey; }
expect_status() {  # expect_status WHAT STATUS REASON "STATUS BODY"
  local got=${4%% *} body=${4#* }
  [ "$got" = "$2" ] || fail "$1: status $got, expected $2: $body"
  if [ -n "$3" ]; then
    [ "$(jq -r .reason <<<"$body")" = "$3" ] || fail "$1: reason is not '$3': $body"
  fi
  ok "$1: $2${3:+ ($3)}"
}
ctl() { in_s "$TERN" control "$@"; }

step "a server with a self-signed certificate; the admin token is printed once"
start_server
token=$(grep '^tat_' "$TERN_WORK/serve.out") || fail "no admin token printed"
grep -q 'WARNING: self-signed' "$TERN_WORK/serve.err" || fail "the dev certificate is not announced"
[ "$(stat -c %a "$data/server.key")" = 600 ] || fail "server.key is not mode 0600"
ok "token printed, certificate in $data/ca.pem"
admin=(--url "$url" --token "$token" --ca "$data/ca.pem")

step "plain HTTP only on loopback and only when asked"
if in_s "$TERN" control serve --listen 0.0.0.0:8444 --data "$TERN_WORK/other" --dev-plain-http \
  >"$TERN_WORK/plain.out" 2>&1; then
  fail "--dev-plain-http served on a non-loopback address"
fi
grep -q 'loopback' "$TERN_WORK/plain.out" || fail "the refusal does not say why: $(cat "$TERN_WORK/plain.out")"
ok "refused: $(head -n1 "$TERN_WORK/plain.out")"

step "setup keys through the API"
one_off=$(ctl keys create "${admin[@]}" --name laptop | tail -n1)
reusable=$(ctl keys create "${admin[@]}" --reusable --tags ci,web | tail -n1)
short=$(ctl keys create "${admin[@]}" --reusable --expires-in 1s | tail -n1)
revoked=$(ctl keys create "${admin[@]}" --reusable | tail -n1)
for k in "$one_off" "$reusable" "$short" "$revoked"; do
  [[ $k == tsk_* ]] || fail "keys create did not print the key alone on its last line: $k"
done
ctl keys revoke "${admin[@]}" 4 >/dev/null
[ "$(ctl keys list "${admin[@]}" --json | jq '.keys | length')" = 4 ] || fail "keys list"
ctl keys list "${admin[@]}" --json | jq -e '.keys[] | select(.id == 4) | .state == "revoked"' \
  >/dev/null || fail "key 4 is not listed as revoked"
if ctl keys list "${admin[@]}" --json | grep -q "${reusable#tsk_}"; then
  fail "keys list shows a key's secret"
fi
ok "4 keys, listed without their secrets"

step "registration: addresses and the network map"
pub1=$(new_pub)
r=$(register "$one_off" "$pub1")
expect_status "one-off key, first machine" 201 "" "$r"
[ "$(jq -r .peer.ipv4 <<<"${r#* }")" = 100.64.0.1 ] || fail "first peer's address: ${r#* }"
jq -e '.peer.ipv6 | startswith("fd")' <<<"${r#* }" >/dev/null || fail "no ULA IPv6: ${r#* }"
pub2=$(new_pub)
r=$(register "$reusable" "$pub2")
expect_status "reusable key" 201 "" "$r"
body=${r#* }
[ "$(jq -r '.peer.tags | join(",")' <<<"$body")" = ci,web ] || fail "tags not inherited: $body"
jq -e 'has("map") | not' <<<"$body" >/dev/null || fail "the answer carries the map: $body"
# The map is the stream's first message (the answer's size does not grow with the network).
client=${TERN_TOOLS:-}/control_stream_client
[ -x "$client" ] || skip "TERN_TOOLS/control_stream_client is missing (build the tests/tools programs)"
in_s timeout 20 "$client" --url "$url" --ca "$data/ca.pem" --token "$(jq -r .stream_token <<<"$body")" \
  --seconds 2 >"$TERN_WORK/map.out" 2>"$TERN_WORK/map.err" || fail "stream: $(tail -n 2 "$TERN_WORK/map.err")"
map=$(grep -m1 '"type":"map"' "$TERN_WORK/map.out") || fail "no map on the stream: $(cat "$TERN_WORK/map.err")"
[ "$(jq -r '.peers[0].public_key' <<<"$map")" = "$pub1" ] || fail "map lacks the first peer: $map"
user=$(jq -r '.relays[0].username' <<<"$map")
pass=$(jq -r '.relays[0].password' <<<"$map")
[ "$user" = "${user%%:*}:$pub2" ] || fail "relay username is not expiry:peer: $user"
want=$(printf '%s' "$user" | openssl dgst -sha1 -hmac relay-secret -binary | base64)
[ "$pass" = "$want" ] || fail "relay password is not base64(HMAC-SHA1(secret, username))"
ok "map has the other peer and TURN REST credentials coturn would accept"
expect_status "the same machine again" 200 "" "$(register "$reusable" "$pub2")"

step "errors"
expect_status "one-off key, second machine" 403 "used up" "$(register "$one_off" "$(new_pub)")"
expect_status "revoked key" 403 revoked "$(register "$revoked" "$(new_pub)")"
sleep 1.1
expect_status "expired key" 403 expired "$(register "$short" "$(new_pub)")"
expect_status "wrong key" 403 wrong "$(register "tsk_${reusable:4:8}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$(new_pub)")"
expect_status "public key of the wrong length" 400 "" "$(register "$reusable" "c2hvcnQ=")"
expect_status "low-order public key" 400 "" \
  "$(register "$reusable" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")"
head -c 70000 /dev/zero | tr '\0' 'a' >"$TERN_WORK/big"
r=$(in_s curl -sS --max-time 10 --cacert "$data/ca.pem" -o /dev/null -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary @"$TERN_WORK/big" "$url/api/v1/register")
[ "$r" = 413 ] || fail "oversized body: $r"
ok "oversized body: 413"
expect_status "admin call without a token" 401 "no token" "$(api GET /api/v1/peers)"
r=$(in_s curl -sS --max-time 10 --cacert "$data/ca.pem" -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer tat_${token:4:8}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$url/api/v1/peers")
[ "$r" = 401 ] || fail "wrong token: $r"
ok "wrong token: 401"
if ctl peers list --url "$url" --token "$token" >/dev/null 2>&1; then
  fail "the admin command trusted an unknown certificate"
fi
ok "admin commands refuse the server's certificate without --ca"

step "50 concurrent registrations get 50 distinct addresses"
many=$(ctl keys create "${admin[@]}" --reusable --usage-limit 50 | tail -n1)
mkdir "$TERN_WORK/many"
for i in $(seq 1 50); do new_pub; done >"$TERN_WORK/pubs"
started=$SECONDS
i=0
while read -r pub; do
  i=$((i + 1))
  register "$many" "$pub" >"$TERN_WORK/many/$i" &
done <"$TERN_WORK/pubs"
wait_until 60 "50 registrations" bash -c "[ \$(cat $TERN_WORK/many/* 2>/dev/null | grep -c '^201 ') -eq 50 ]"
n=$(cat "$TERN_WORK"/many/* | sed 's/^201 //' | jq -r .peer.ipv4 | sort -u | wc -l)
[ "$n" = 50 ] || fail "50 registrations got $n distinct addresses"
expect_status "51st registration on a 50-use key" 403 "used up" "$(register "$many" "$(new_pub)")"
[ "$(ctl peers list --data "$data" --json | jq '.peers | length')" = 52 ] || fail "peers list"
ok "50 distinct addresses in $((SECONDS - started)) s; 52 peers listed from the data directory while the server runs"

step "online backup and peer removal"
mkdir "$TERN_WORK/copy"
ctl backup "$TERN_WORK/copy/control.db" --data "$data" >/dev/null
[ "$(ctl peers list --data "$TERN_WORK/copy" --json | jq '.peers | length')" = 52 ] ||
  fail "the backup does not hold the 52 peers"
ok "backup holds the 52 peers"
id=$(ctl peers list "${admin[@]}" --json | jq ".peers[] | select(.public_key == \"$pub1\") | .id")
ctl peers remove "${admin[@]}" "$id" >/dev/null
[ "$(ctl peers list "${admin[@]}" --json | jq '.peers | length')" = 51 ] || fail "peers remove"
r=$(api GET "/api/v1/audit" | cut -d' ' -f2-)
ok "peer $id removed"

step "restart keeps keys, peers and the token"
kill -TERM "$server_pid"
wait "$server_pid" || true
start_server
grep -q '^tat_' "$TERN_WORK/serve.out" && fail "a restart printed a new admin token"
[ "$(ctl peers list "${admin[@]}" --json | jq '.peers | length')" = 51 ] || fail "peers lost"
r=$(register "$reusable" "$pub2")
expect_status "a registered machine after the restart" 200 "" "$r"
[ "$(jq -r .peer.ipv4 <<<"${r#* }")" = 100.64.0.2 ] || fail "address changed: ${r#* }"
ok "same token, 51 peers, same address"
in_s curl -sS --max-time 10 --cacert "$data/ca.pem" -H "Authorization: Bearer $token" \
  "$url/api/v1/audit?limit=200" | jq -e '[.audit[].action] | index("peer.remove") != null' \
  >/dev/null || fail "the audit log lacks the removal"
ok "audit log survived"

step "setup-key guessing is rate limited"
last=""
for i in $(seq 1 14); do
  last=$(register "tsk_guess${i}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$(new_pub)")
done
expect_status "the 14th wrong key in a row" 429 "rate limited" "$last"

echo
echo "PASS: control server"
