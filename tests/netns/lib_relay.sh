# shellcheck shell=bash disable=SC2153,SC2034 # lib.sh variables; results read by the caller
# Helpers for the scenarios through the agent's TURN relay (mtu_relay*, relay_tcp, relay_tls),
# sourced after lib.sh and lib_mtu.sh: the far peer's namespace behind the relay's, coturn (UDP,
# TCP or TLS), and a tern pair in which A reaches B only through its allocation (Relay = on)
# while B learns A's relayed address; iperf3 both ways, coturn restarted.
#
#   ns S (the relay) c0 203.0.113.1/24 2001:db8:3::1/64 --- d0 203.0.113.2/24 2001:db8:3::2/64 ns P
# P's default routes point at S; nobody routes 203.0.113.0/24 or 2001:db8:3::/64 towards A.

RELAY_PEER_V4=203.0.113.2
RELAY_PEER_V6=2001:db8:3::2

# relay_peer_ns S: creates namespace P (RELAY_NS_PEER) behind S, S forwarding both families.
relay_peer_ns() {
  local s=$1
  ns_create P
  RELAY_NS_PEER=$P
  veth "$s" "c0$$" 203.0.113.1/24 "$P" "d0$$" "$RELAY_PEER_V4/24"
  ip -n "$s" -6 addr add 2001:db8:3::1/64 dev "c0$$" nodad
  ip -n "$P" -6 addr add "$RELAY_PEER_V6/64" dev "d0$$" nodad
  ip -n "$P" route add default via 203.0.113.1
  ip -n "$P" -6 route add default via 2001:db8:3::1
  router_enable "$s"
  ip netns exec "$s" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# relay_coturn NS LISTEN_IP RELAY_IP [turnserver options...]: coturn on LISTEN_IP:3478 with the
# user alice:s3cret, allocating on RELAY_IP; RELAY_COTURN is its pid, coturn.log its log.
relay_coturn() {
  local ns=$1 listen=$2 relayed=$3
  shift 3
  relay_turnserver "$ns" "$listen" "$relayed" --no-tls "$@"
}

# relay_coturn_tls NS LISTEN_IP RELAY_IP CERT KEY [turnserver options...]: the same on TLS only
# (LISTEN_IP:5349 with CERT and its KEY; no UDP, no plain TCP).
relay_coturn_tls() {
  local ns=$1 listen=$2 relayed=$3 cert=$4 key=$5
  shift 5
  relay_turnserver "$ns" "$listen" "$relayed" --tls-listening-port 5349 --cert "$cert" \
    --pkey "$key" --no-udp --no-tcp "$@"
}

# relay_turnserver NS LISTEN_IP RELAY_IP [options...]: what both start; RELAY_COTURN_NS is NS.
relay_turnserver() {
  local ns=$1 listen=$2 relayed=$3
  shift 3
  ip netns exec "$ns" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip "$listen" --relay-ip "$relayed" --listening-port 3478 \
    --min-port 49152 --max-port 49352 --no-dtls --no-cli --fingerprint \
    --realm tern.test --lt-cred-mech --user alice:s3cret "$@" >>"$TERN_WORK/coturn.log" 2>&1 &
  RELAY_COTURN=$!
  RELAY_COTURN_NS=$ns
  track_pid "$RELAY_COTURN"
}

# relay_no_direct NS: NS reaches B (RELAY_PEER_V4, RELAY_PEER_V6) by no route of its own, so a
# tunnel that works proves the relayed path.
relay_no_direct() {
  local to
  for to in "$RELAY_PEER_V4" "$RELAY_PEER_V6"; do
    if ip netns exec "$1" ping -n -q -c 1 -W 1 "$to" >/dev/null 2>&1; then
      fail "A reaches B ($to) directly: the test would not prove the relayed path"
    fi
  done
}

# relay_listening NS PROTO(u|t) [PORT]: coturn listens on PROTO port PORT (3478) in NS.
relay_listening() { [ -n "$(ip netns exec "$1" ss "-Hl${2}n" "sport = :${3:-3478}")" ]; }

# relay_section URL [LINE...]: the [Relay] section of a peer with Relay = on, as alice, with
# further lines (CA = ...) after the credentials.
relay_section() {
  printf 'Relay = on\n\n[Relay]\nUrl = %s\nUsername = alice\nPassword = s3cret\n' "$1"
  shift
  [ $# -eq 0 ] || printf '%s\n' "$@"
}

# relay_pair NS_A IFACE_A NS_B IFACE_B O4 O6 PORT MTU ENDPOINT URL [RELAY_LINE [IFACE_LINE]]:
# tern on A (Relay = on for its peer B at ENDPOINT; [Relay] Url = URL as alice, and RELAY_LINE
# there) and on B (listening on PORT, no endpoint: it learns A's relayed address). Overlay
# O4.1 / O6::1 on A, O4.2 / O6::2 on B; A on PORT + 1, IFACE_LINE in A's [Interface] (FwMark).
# RELAY_PUB_B is B's public key.
relay_pair() {
  local na=$1 ia=$2 nb=$3 ib=$4 o4=$5 o6=$6 port=$7 mtu=$8 endpoint=$9 url=${10}
  local relay_line=${11:-} iface_line=${12:-}
  local ka_priv ka_pub kb_priv
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv RELAY_PUB_B < <(keypair)
  conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" $((port + 1)) "$o4.1/24, $o6::1/64" "$mtu"
  [ -z "$iface_line" ] || printf '%s\n' "$iface_line" >>"$TERN_WORK/$ia.conf"
  conf_peer "$TERN_WORK/$ia.conf" "$RELAY_PUB_B" "$o4.2/32, $o6::2/128" "$endpoint" 25
  relay_section "$url" ${relay_line:+"$relay_line"} >>"$TERN_WORK/$ia.conf"
  conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" "$port" "$o4.2/24, $o6::2/64" "$mtu"
  conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "$o4.1/32, $o6::1/128"
  peer_up "$nb" "$ib" "$TERN_WORK/$ib.conf" tern
  peer_up "$na" "$ia" "$TERN_WORK/$ia.conf" tern
}

# relay_json NS IFACE: the relay object of `tern status --json` on IFACE.
relay_json() {
  ip netns exec "$1" timeout 5 "$TERN" status "$2" --json 2>/dev/null | jq -c '.interfaces[0].relay'
}
relay_relayed() { relay_json "$1" "$2" | jq -r '.relayed_address // "null"'; }
relay_allocated() { [ "$(relay_relayed "$1" "$2")" != null ]; }
relay_channel() { relay_json "$1" "$2" | jq -r '.peers[0].channel // 0'; }
relay_bound() { [ "$(relay_channel "$1" "$2")" -gt 0 ]; }

# relay_wait_allocated NS IFACE SECONDS: waits for IFACE's allocation; RELAYED is its address.
relay_wait_allocated() {
  wait_until "$3" "$2's allocation (relay: $(relay_json "$1" "$2"))" relay_allocated "$1" "$2"
  RELAYED=$(relay_relayed "$1" "$2")
}

# relay_connected NS IFACE PORT: A holds an established TCP connection to the relay's PORT.
relay_connected() { [ -n "$(ip netns exec "$1" ss -Htn state established "dport = :$3")" ]; }
relay_lost() { ! relay_allocated "$1" "$2" || ! relay_connected "$@"; }

# relay_restart NS IFACE PORT START...: coturn (RELAY_COTURN) stops; once A noticed, START
# starts it again, listening on TCP PORT; A must connect again and allocate anew.
relay_restart() {
  local ns=$1 iface=$2 port=$3
  shift 3
  kill "$RELAY_COTURN"
  wait "$RELAY_COTURN" 2>/dev/null || true
  wait_until 10 "A to notice the lost connection" relay_lost "$ns" "$iface" "$port"
  "$@"
  wait_until 10 "turnserver listening again" relay_listening "$RELAY_COTURN_NS" t "$port"
  wait_until 20 "a new allocation" relay_allocated "$ns" "$iface"
}

# relay_iperf NS_A NS_B ADDR_B [iperf3 options]: 3 s of iperf3 from A to ADDR_B in B; prints
# what B received, bit/s.
relay_iperf() {
  local na=$1 nb=$2 addr=$3
  shift 3
  ip netns exec "$nb" timeout 20 iperf3 -s -1 -B "$addr" >/dev/null 2>&1 &
  track_pid "$!"
  wait_until 10 "iperf3 to listen in $nb" listening "$nb" 5201
  ip netns exec "$na" timeout 15 iperf3 -c "$addr" -t 3 -J "$@" |
    jq '.end.sum_received.bits_per_second'
}

# relay_iperf_both NS_A NS_B ADDR_B LEG: iperf3 both ways through the relay, each above 1 Mbit/s;
# UP (A -> B) and DOWN (B -> A) in Mbit/s.
relay_iperf_both() {
  local up down
  up=$(relay_iperf "$1" "$2" "$3")
  down=$(relay_iperf "$1" "$2" "$3" -R)
  awk -v u="$up" -v d="$down" 'BEGIN { exit !(u > 1e6 && d > 1e6) }' ||
    fail "iperf3 through the relay over $4: A -> B $up bit/s, B -> A $down bit/s"
  UP=$(awk -v v="$up" 'BEGIN { printf "%.0f", v / 1e6 }')
  DOWN=$(awk -v v="$down" 'BEGIN { printf "%.0f", v / 1e6 }')
  ok "A -> B $UP Mbit/s, B -> A $DOWN Mbit/s over $4"
}

# relay_keeps_mtu NS IFACE MTU LEG: over a stream leg the overlay MTU stays the configured MTU
# (a path MTU found over TCP says nothing; docs/path-probes.md).
relay_keeps_mtu() {
  local got
  got=$(tern_peer_json "$1" "$2" overlay_mtu)
  [ "$got" = "$3" ] || fail "overlay MTU $got over a $4 leg (configured $3)"
  ok "overlay MTU stays the configured $3 over the $4 leg"
}

# relay_black_hole NS_A IFACE_A DEV_A NS_S DEV_S PROTO TARGET: the path from A towards the
# relay shrinks to 1280 without a word (S drops, at ingress on DEV_S, every packet from A above
# 1280 bytes; no ICMP is sent). A's relay connection (PROTO names it in messages) stalls; the
# agent must see it, count it and connect again with segments that fit, so that 1400-byte
# pings through the relay to TARGET (B's overlay IPv4) pass again within 10 s. RELAY_RESUMED is
# that time in seconds. DEV_A sends one segment per packet: S's filter would see a GSO burst as
# one long packet.
relay_black_hole() {
  local na=$1 ia=$2 dev_a=$3 ns=$4 dev_s=$5 proto=$6 target=$7 t0 mss
  relay_stalls() { relay_json "$na" "$ia" | jq -r '.stream_stalls // 0'; }
  [ "$(relay_stalls)" = 0 ] ||
    fail "stalls counted before the path shrank: $(relay_json "$na" "$ia")"
  ip -n "$na" link set "$dev_a" gso_max_segs 1
  ip netns exec "$na" sysctl -qw net.ipv4.tcp_mtu_probing=0  # the kernel's default, said
  ip netns exec "$ns" nft -f - <<NFT
table netdev tern_black_hole {
  chain ingress {
    type filter hook ingress device "$dev_s" priority 0; policy accept;
    meta length > 1280 counter drop
  }
}
NFT
  relay_big_ping() {
    ip netns exec "$na" ping -n -q -c 1 -W 1 -s 1372 -M "do" "$target" >/dev/null 2>&1
  }
  t0=$(date +%s%N)
  ! relay_big_ping || fail "a 1400-byte ping passed the 1280 black hole: the filter does not hold"
  wait_until 20 "1400-byte pings through the relay after the path shrank" relay_big_ping
  RELAY_RESUMED=$(awk -v t="$(($(date +%s%N) - t0))" 'BEGIN { printf "%.1f", t / 1e9 }')
  [ "$(relay_stalls)" -ge 1 ] ||
    fail "pings pass again but no stall was counted: $(relay_json "$na" "$ia")"
  mss=$(relay_json "$na" "$ia" | jq -r '.stream_mss')
  [ "$mss" = 1220 ] || fail "the $proto stream's segment size after the stall: $mss (want 1220)"
  [ "$(ip netns exec "$ns" nft list table netdev tern_black_hole | grep -o 'packets [0-9]*' |
    cut -d' ' -f2)" -gt 0 ] || fail "S's filter dropped nothing: no black hole was crossed"
  awk -v r="$RELAY_RESUMED" 'BEGIN { exit !(r <= 10) }' ||
    fail "1400-byte pings resumed ${RELAY_RESUMED}s after the path shrank (limit 10 s)"
  ok "stall seen ($(relay_stalls)), $proto segments clamped to $mss;" \
    "1400-byte pings again after ${RELAY_RESUMED}s"
}
