#!/usr/bin/env bash
# Agents that join a real `tern control serve` (TLS, --dev-self-signed) with one reusable setup
# key: A and B public, C behind an nftables NAT (endpoint-independent mapping). All pairs ping
# over the overlay; D joins while an iperf3 TCP transfer runs A -> B, the others reach D within
# 2 s and the transfer does not stall; D removed by the admin is unreachable within 2 s; with
# the server stopped the tunnels keep working and B, restarted meanwhile, comes back from its
# saved map; the server restarted, the agents reconnect. A `tern relay` in S is the map's relay:
# C learns its public (NAT) address by STUN from its WireGuard socket, and the map the others
# receive carries it.
#
#            +--------------------------------------------+
#            | ns S: router, tern control serve           |
#            |   192.0.2.1:8443 (sa), tern relay :3478    |
#            +--sa---------sb-----------sd---------sr-----+
#               |           |            |           |
#   ns A 192.0.2.2/28  ns B .18/28  ns D .34/28   ns R .50/28 (NAT, masquerade)
#                                                    |  10.0.0.1/24
#                                               ns C 10.0.0.2/24
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_tools curl jq iperf3
need_impl tern

ns_create S
ns_create A
ns_create B
ns_create C
ns_create D
ns_create R
router_enable "$S"
router_enable "$R"
veth "$S" sa 192.0.2.1/28 "$A" a0 192.0.2.2/28
veth "$S" sb 192.0.2.17/28 "$B" b0 192.0.2.18/28
veth "$S" sd 192.0.2.33/28 "$D" d0 192.0.2.34/28
veth "$S" sr 192.0.2.49/28 "$R" r1 192.0.2.50/28
veth "$R" r0 10.0.0.1/24 "$C" c0 10.0.0.2/24
ip -n "$A" route add default via 192.0.2.1
ip -n "$B" route add default via 192.0.2.17
ip -n "$D" route add default via 192.0.2.33
ip -n "$R" route add default via 192.0.2.49
ip -n "$C" route add default via 10.0.0.1
ip netns exec "$R" nft -f - <<NFT
table ip nat {
  chain postrouting {
    type nat hook postrouting priority 100
    oifname "r1" masquerade
  }
}
NFT

data="$TERN_WORK/control"
url=https://192.0.2.1:8443
declare -A NS_OF PID_OF IF_OF ADDR_OF
for n in A B C D; do
  NS_OF[$n]=${!n}
  IF_OF[$n]=$(printf 't%s%s' "${n,,}" "$$")
done

relay_secret=relay-secret-$$
ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" relay --listen 192.0.2.1:3478 \
  --secret "$relay_secret" >"$TERN_WORK/relay.log" 2>&1 &
track_pid $!

start_server() {
  : >"$TERN_WORK/serve.out"
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" control serve \
    --listen 192.0.2.1:8443 --data "$data" --dev-self-signed \
    --relay turn:192.0.2.1:3478 --relay-secret "$relay_secret" \
    >>"$TERN_WORK/serve.out" 2>>"$TERN_WORK/serve.err" &
  server_pid=$!
  track_pid $server_pid
  wait_until 15 "the control server to listen" grep -q 'listening on https' "$TERN_WORK/serve.out"
}

# agent_up NAME [SETUP_KEY]: tern up --control in NAME's namespace.
agent_up() {
  local n=$1 key=${2:-} iface=${IF_OF[$1]}
  ip netns exec "${NS_OF[$n]}" timeout "$TERN_PROCESS_LIFETIME" "$TERN" up --control "$url" \
    ${key:+--setup-key "$key"} --ca "$data/ca.pem" --state "$TERN_WORK/state-$n" \
    -i "$iface" --name "agent-${n,,}" >>"$TERN_WORK/$iface.log" 2>&1 &
  PID_OF[$n]=$!
  track_pid "${PID_OF[$n]}"
  grep -q "^$iface " "$TERN_WORK/ifaces" || printf '%s %s tern\n' "$iface" "${NS_OF[$n]}" >>"$TERN_WORK/ifaces"
}

overlay_v4() {
  ip -n "${NS_OF[$1]}" -4 -o addr show dev "${IF_OF[$1]}" 2>/dev/null | awk '{split($4, a, "/"); print a[1]}' | head -n1
}
has_overlay() { [ -n "$(overlay_v4 "$1")" ]; }
wait_overlay() {
  wait_until 20 "${IF_OF[$1]} in ${NS_OF[$1]} to get its overlay address" has_overlay "$1"
  ADDR_OF[$1]=$(overlay_v4 "$1")
  ok "$1 (${IF_OF[$1]}) has ${ADDR_OF[$1]}"
}
ping_once() { ip netns exec "${NS_OF[$1]}" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }
pubkey_of() { wg pubkey <"$TERN_WORK/state-$1/private.key"; }
lists_peer() { wg_in "${NS_OF[$1]}" show "${IF_OF[$1]}" peers | grep -q "$2"; }
status_json() { ip netns exec "${NS_OF[$1]}" "$TERN" status "${IF_OF[$1]}" --json; }
connected() { [ "$(status_json "$1" | jq -r '.interfaces[0].control.connection')" = connected ]; }

step "tern control serve with a self-signed certificate; one reusable setup key"
start_server
key=$(ip netns exec "$S" "$TERN" control keys create --data "$data" --reusable --name netns | tail -n1)
[[ $key == tsk_* ]] || fail "keys create printed no key: $key"
ok "setup key ${key:0:12}..."

step "A, B (public) and C (behind NAT) join with it"
for n in A B C; do agent_up "$n" "$key"; done
for n in A B C; do wait_overlay "$n"; done
for n in A B C; do
  [ "$(stat -c %a "$TERN_WORK/state-$n")" = 700 ] || fail "state-$n is not mode 0700"
  [ "$(stat -c %a "$TERN_WORK/state-$n/private.key")" = 600 ] || fail "private.key is not 0600"
done
ok "state directories 0700, files 0600"

step "all pairs ping over the overlay"
for from in A B C; do
  for to in A B C; do
    [ "$from" != "$to" ] || continue
    wait_until 20 "$from to reach $to (${ADDR_OF[$to]}) over the overlay" ping_once "$from" "${ADDR_OF[$to]}"
  done
done
ok "A, B, C reach each other (C through its NAT)"

step "C's public address, found by STUN against the relay, is in the map the others receive"
c_pub=$(pubkey_of C)
c_port=$(wg_in "$C" show "${IF_OF[C]}" listen-port)
c_endpoint() { # the first endpoint of C in NAME's saved map
  jq -r --arg k "$c_pub" '.peers[] | select(.public_key == $k) | .endpoints[0] // empty' \
    "$TERN_WORK/state-$1/map.json" 2>/dev/null
}
c_public() { [[ $(c_endpoint "$1") == 192.0.2.50:* ]]; }
for n in A B; do wait_until 10 "$n's map to carry C's NAT address first" c_public "$n"; done
ok "A and B have C at $(c_endpoint A) (C listens on port $c_port behind the NAT at 192.0.2.50)"
status_json A | jq -e '.interfaces[0].control | .connection == "connected" and .revision > 0' >/dev/null ||
  fail "tern status A shows no connected control: $(status_json A)"
ok "tern status: $(status_json A | jq -c '.interfaces[0].control | {connection, revision, peers}')"

step "D joins while iperf3 runs A -> B: the others reach D within 2 s, the transfer does not stall"
ip netns exec "$B" timeout 60 iperf3 -s -1 -B "${ADDR_OF[B]}" >/dev/null 2>&1 &
track_pid $!
wait_until 10 "iperf3 to listen in B" listening "$B" 5201
ip netns exec "$A" timeout 60 iperf3 -c "${ADDR_OF[B]}" -t 8 -i 1 -J >"$TERN_WORK/iperf.json" 2>&1 &
iperf_pid=$!
track_pid $iperf_pid
sleep 2
d_start=$SECONDS
agent_up D "$key"
wait_overlay D
d_pub=$(pubkey_of D)
t0=$(date +%s.%N)
for n in A B C; do
  wait_until 2 "$n to reach D (${ADDR_OF[D]}) within 2 s of D's address" ping_once "$n" "${ADDR_OF[D]}"
done
ok "A, B, C reach D $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') s after it got its address ($((SECONDS - d_start)) s after its start)"
wait "$iperf_pid" || fail "iperf3 failed: $(tail -n 5 "$TERN_WORK/iperf.json")"
rates=$(jq -r '.intervals[].sum.bits_per_second' "$TERN_WORK/iperf.json")
min=$(printf '%s\n' "$rates" | sort -g | head -n1)
median=$(printf '%s\n' "$rates" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
say "per-second Mbit/s: $(printf '%s\n' "$rates" | awk '{ printf "%.0f ", $1 / 1e6 }')"
awk -v m="$min" -v med="$median" 'BEGIN { exit !(m >= med / 4) }' ||
  fail "the transfer stalled while D joined: slowest second $min bit/s, median $median"
ok "no second under a quarter of the median ($(awk -v m="$min" 'BEGIN { printf "%.0f", m / 1e6 }') Mbit/s slowest)"

step "D removed by the admin: unreachable everywhere within 2 s"
d_id=$(ip netns exec "$S" "$TERN" control peers list --data "$data" --json |
  jq -r --arg k "$d_pub" '.peers[] | select(.public_key == $k) | .id')
[ -n "$d_id" ] || fail "D is not in peers list"
ip netns exec "$S" "$TERN" control peers remove "$d_id" --data "$data" >/dev/null
for n in A B C; do
  wait_until 2 "$n to drop D's peer" eval "! lists_peer $n '$d_pub'"
done
ping_once A "${ADDR_OF[D]}" && fail "A still reaches the removed D"
ok "A, B, C dropped D; A's ping to D gets no answer"

step "server stopped: tunnels keep working; B restarted meanwhile comes back from its cache"
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
kill -TERM "${PID_OF[B]}"
wait "${PID_OF[B]}" 2>/dev/null || true
wait_until 5 "B's interface to go" link_gone "$B" "${IF_OF[B]}"
agent_up B
wait_overlay B
for pair in "A B" "B A" "A C" "C A"; do
  read -r from to <<<"$pair"
  wait_until 10 "$from to reach $to with the server down" ping_once "$from" "${ADDR_OF[$to]}"
done
# B's saved map has only the address C reported behind its NAT: C's side finds B again when
# its old session goes unanswered (WireGuard's 15 s keepalive timeout), then B learns C's
# public address from C's handshake, as WireGuard roaming does.
wait_until 30 "C to reach the restarted B with the server down" ping_once C "${ADDR_OF[B]}"
wait_until 5 "B to reach C" ping_once B "${ADDR_OF[C]}"
ok "A, B, C still reach each other; B came up from its saved map without server or setup key"

step "server restarted: the agents reconnect"
start_server
for n in A B C; do
  wait_until 70 "$n to reconnect to the restarted server" connected "$n"
done
ok "A, B, C connected again"
