# shellcheck shell=bash disable=SC2153,SC2034 # lib.sh variables; results read by the caller
# Helpers for the path-MTU scenarios (mtu_*.test.sh) and bench/mtu.sh, sourced after lib.sh:
# a PMTU black hole (a router whose link towards B is smaller than the tunnel assumes and that
# filters the ICMP which would say so), tunnels over it, and measurements through them.
#
#  +----------------------+     +-------------------------------+     +----------------------+
#  | ns A                 |     | ns R (router)                 |     | ns B                 |
#  |  a0 198.51.100.2/24 -+-----+- r0 198.51.100.1/24 mtu 1500  |     |                      |
#  |     2001:db8:1::2/64 |     |     2001:db8:1::1/64          |     |                      |
#  |                      |     |  r1 192.0.2.1/24   mtu MIDDLE +-----+- b0 192.0.2.2/24     |
#  |                      |     |     2001:db8:2::1/64          |     |     2001:db8:2::2/64 |
#  +----------------------+     |  nft: drop ICMP type 3 code 4 |     |     mtu MIDDLE       |
#                               |       and ICMPv6 type 2       |     +----------------------+
#                               +-------------------------------+
# Traffic from A to B meets the small link at R with nothing coming back: a black hole. B's
# own side of the small link has the small MTU too, so B's kernel knows its first hop.

MTU_A_V4=198.51.100.2
MTU_A_V6=2001:db8:1::2
MTU_B_V4=192.0.2.2
MTU_B_V6=2001:db8:2::2

# mtu_topology MIDDLE_MTU: creates namespaces A, R and B (variables MTU_NS_A/R/B).
mtu_topology() {
  local middle=$1
  ns_create A
  ns_create R
  ns_create B
  MTU_NS_A=$A MTU_NS_R=$R MTU_NS_B=$B
  MTU_R1=r1$$ MTU_B0=b0$$
  veth "$A" "a0$$" "$MTU_A_V4/24" "$R" "r0$$" 198.51.100.1/24
  veth "$R" "$MTU_R1" 192.0.2.1/24 "$B" "$MTU_B0" "$MTU_B_V4/24"
  ip -n "$A" -6 addr add "$MTU_A_V6/64" dev "a0$$" nodad
  ip -n "$R" -6 addr add 2001:db8:1::1/64 dev "r0$$" nodad
  ip -n "$R" -6 addr add 2001:db8:2::1/64 dev "$MTU_R1" nodad
  ip -n "$B" -6 addr add "$MTU_B_V6/64" dev "$MTU_B0" nodad
  router_enable "$R"
  ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
  ip -n "$A" route add 192.0.2.0/24 via 198.51.100.1
  ip -n "$B" route add 198.51.100.0/24 via 192.0.2.1
  ip -n "$A" -6 route add 2001:db8:2::/64 via 2001:db8:1::1
  ip -n "$B" -6 route add 2001:db8:1::/64 via 2001:db8:2::1
  ip netns exec "$R" nft -f - <<'EOF'
table inet tern_mtu {
  chain filter_ptb {
    icmp type destination-unreachable icmp code frag-needed counter drop
    icmpv6 type packet-too-big counter drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump filter_ptb
  }
  chain output {
    type filter hook output priority 0; policy accept;
    jump filter_ptb
  }
}
EOF
  mtu_set_middle "$middle"
  wait_until 10 "IPv6 between A and B" \
    ip netns exec "$A" ping -6 -n -q -c 1 -W 1 "$MTU_B_V6" >/dev/null
  ok "A - R - B, middle link MTU $middle, ICMP frag-needed and ICMPv6 Packet Too Big dropped at R"
}

# mtu_set_middle MTU: the R-B link's MTU, both ends.
mtu_set_middle() {
  ip -n "$MTU_NS_R" link set "$MTU_R1" mtu "$1"
  ip -n "$MTU_NS_B" link set "$MTU_B0" mtu "$1"
}

# mtu_ptb_filtered: ICMP errors R's filter dropped so far.
mtu_ptb_filtered() {
  ip netns exec "$MTU_NS_R" nft list chain inet tern_mtu filter_ptb |
    awk '{ for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

# mtu_flush_pmtu NS: forgets the path MTUs NS's kernel cached (so runs do not inherit them).
mtu_flush_pmtu() {
  ip -n "$1" route flush cache 2>/dev/null || true
  ip -n "$1" -6 route flush cache 2>/dev/null || true
}

# mtu_pair IMPL IFACE_A IFACE_B PORT OVERLAY4 OVERLAY6 UNDERLAY(4|6) [TUN_MTU]: a tunnel
# between A and B, A initiating, over the IPv4 or IPv6 underlay. Overlay addresses are
# OVERLAY4.1 / OVERLAY4.2 and OVERLAY6::1 / OVERLAY6::2 (A / B).
mtu_pair() {
  local impl=$1 ia=$2 ib=$3 port=$4 o4=$5 o6=$6 under=$7 mtu=${8:-1420} endpoint
  local ka_priv ka_pub kb_priv kb_pub
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv kb_pub < <(keypair)
  endpoint="$MTU_B_V4:$port"
  [ "$under" = 4 ] || endpoint="[$MTU_B_V6]:$port"
  conf_interface "$TERN_WORK/$ia.conf" "$ka_priv" "$port" "$o4.1/24, $o6::1/64" "$mtu"
  conf_peer "$TERN_WORK/$ia.conf" "$kb_pub" "$o4.2/32, $o6::2/128" "$endpoint" 25
  conf_interface "$TERN_WORK/$ib.conf" "$kb_priv" "$port" "$o4.2/24, $o6::2/64" "$mtu"
  conf_peer "$TERN_WORK/$ib.conf" "$ka_pub" "$o4.1/32, $o6::1/128"
  peer_up "$MTU_NS_B" "$ib" "$TERN_WORK/$ib.conf" "$impl"
  peer_up "$MTU_NS_A" "$ia" "$TERN_WORK/$ia.conf" "$impl"
}

# mtu_stream_prepare NAME MB: MB MiB of random data for stream NAME (made before any stream
# starts, so that writing it does not hold up another stream's start).
# mtu_stream_begin NAME FROM_NS TO_NS TO_ADDR SECONDS: sends it over TCP; the receiver counts
# the bytes and hashes them. Several may run at once, told apart by NAME. mtu_stream_end NAME
# waits for it and sets STREAM_BYTES, STREAM_OK (1: every byte arrived, same sha256) and
# STREAM_SECS.
declare -gA STREAM_FILE=() STREAM_SUM=() STREAM_RX=() STREAM_TX=() STREAM_START=()
mtu_stream_prepare() {
  local name=$1 mb=$2 file="$TERN_WORK/stream.$1"
  STREAM_FILE[$name]=$file
  head -c "${mb}M" /dev/urandom >"$file"
  STREAM_SUM[$name]=$(sha256sum <"$file" | cut -d' ' -f1)
}

mtu_stream_begin() {
  local name=$1 from=$2 to=$3 addr=$4 secs=$5 file=${STREAM_FILE[$1]}
  next_port
  mkfifo "$file.fifo"
  # Only nc is under the timeout: when it ends, the rest of the pipeline still writes the count
  # and the hash of what arrived.
  # shellcheck disable=SC2016 # expanded by sh -c
  ip netns exec "$to" sh -c 'wc -c <"$3.fifo" >"$3.rx.count" &
    timeout "$4" nc -l "$1" "$2" | tee "$3.fifo" | sha256sum >"$3.rx.sha"; wait' \
    sh "$addr" "$TERN_PORT" "$file" "$((secs + 2))" 2>/dev/null &
  STREAM_RX[$name]=$!
  track_pid "${STREAM_RX[$name]}"
  wait_until 10 "nc to listen on $addr:$TERN_PORT in $to" listening "$to" "$TERN_PORT"
  STREAM_START[$name]=$(date +%s.%N)
  ip netns exec "$from" timeout "$secs" nc -N "$addr" "$TERN_PORT" <"$file" 2>"$file.tx.err" &
  STREAM_TX[$name]=$!
  track_pid "${STREAM_TX[$name]}"
}

mtu_stream_end() {
  local name=$1 file=${STREAM_FILE[$1]}
  wait "${STREAM_TX[$name]}" 2>/dev/null || true
  wait "${STREAM_RX[$name]}" 2>/dev/null || true
  STREAM_SECS=$(awk -v a="$(date +%s.%N)" -v b="${STREAM_START[$name]}" \
    'BEGIN { printf "%.2f", a - b }')
  STREAM_BYTES=$(cat "$file.rx.count" 2>/dev/null || echo 0)
  STREAM_OK=0
  if [ "$(cut -d' ' -f1 <"$file.rx.sha" 2>/dev/null)" = "${STREAM_SUM[$name]}" ]; then
    STREAM_OK=1
  fi
  rm -f "$file" "$file.fifo" "$file.rx.count" "$file.rx.sha" "$file.tx.err"
}

# rx_bytes NS IFACE: bytes received on IFACE so far.
rx_bytes() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_bytes"; }

# tern_peer_json NS IFACE FIELD: FIELD of the first peer in `tern status --json` (null if none).
tern_peer_json() {
  ip netns exec "$1" timeout 5 "$TERN" status "$2" --json 2>/dev/null |
    jq -r ".interfaces[0].peers[0].$3 // \"null\""
}

# tern_overlay_is NS IFACE MTU: probes found a path MTU and the overlay MTU that follows is MTU.
tern_overlay_is() {
  [ "$(tern_peer_json "$1" "$2" path_mtu)" != null ] &&
    [ "$(tern_peer_json "$1" "$2" overlay_mtu)" = "$3" ]
}

# mtu_wait_overlay NS IFACE MTU SECONDS: waits until tern's probes settled the overlay MTU to
# its peer at MTU. (The search stops once the TUN's MTU fits: it needs no larger path.)
mtu_wait_overlay() {
  check "tern on $2 settles on overlay MTU $3"
  wait_until "$4" "overlay MTU $3 on $2 (status: path $(tern_peer_json "$1" "$2" path_mtu), overlay $(tern_peer_json "$1" "$2" overlay_mtu))" \
    tern_overlay_is "$1" "$2" "$3"
  ok "$2: path MTU $(tern_peer_json "$1" "$2" path_mtu), overlay MTU $3"
}

# mtu_udp_seq_check FROM_NS TO_NS TO_ADDR PORT COUNT IP_SIZE: sequenced datagrams with DF; the
# sender must see every one acknowledged and no silent loss, and, when IP_SIZE exceeds what the
# tunnel carries, at least one EMSGSIZE or Packet Too Big.
mtu_udp_seq_check() {
  local from=$1 to=$2 addr=$3 port=$4 count=$5 size=$6 rx_pid rx_rc=0 tx_rc=0 out
  check "$count sequenced $size-byte UDP datagrams with DF to $addr: none lost silently"
  ip netns exec "$to" "$UDP_SEQ" recv "$addr" "$port" "$count" 30 >"$TERN_WORK/udp.$port.rx" 2>&1 &
  rx_pid=$!
  track_pid "$rx_pid"
  wait_until 10 "mtu_udp_seq to listen on $addr:$port" grep -q listening "$TERN_WORK/udp.$port.rx"
  out=$(ip netns exec "$from" "$UDP_SEQ" send "$addr" "$port" "$count" "$size" 30 2>&1) || tx_rc=$?
  wait "$rx_pid" || rx_rc=$?
  say "sender: $out"
  say "receiver: $(tail -n 1 "$TERN_WORK/udp.$port.rx")"
  [ "$tx_rc" -eq 0 ] || fail "UDP to $addr: the sender saw a datagram lost without EMSGSIZE or PTB"
  [ "$rx_rc" -eq 0 ] || fail "UDP to $addr: the receiver did not get every sequence number intact"
  UDP_SIGNALS=$(printf '%s\n' "$out" | sed -n 's/.*EMSGSIZE \([0-9]*\), Packet Too Big \([0-9]*\).*/\1 \2/p' |
    awk '{ print $1 + $2 }')
  ok "all $count arrived; EMSGSIZE + PTB signals: ${UDP_SIGNALS:-0}"
}

# mtu_wait_flowing NS IFACE BYTES SECONDS: waits until IFACE received BYTES more.
mtu_wait_flowing() {
  local start
  start=$(rx_bytes "$1" "$2")
  wait_until "$4" "$3 bytes to arrive on $2" rx_grew "$1" "$2" "$start" "$3"
}

rx_grew() { [ $(($(rx_bytes "$1" "$2") - $3)) -ge "$4" ]; }

# mtu_recovery NS IFACE BYTES LIMIT: after an MTU change, the seconds (0.1 s resolution) until
# IFACE received BYTES more; prints LIMIT+ if that does not happen within LIMIT * 2 seconds.
mtu_recovery() {
  local ns=$1 iface=$2 bytes=$3 limit=$4 start t0 now
  start=$(rx_bytes "$ns" "$iface")
  t0=$(date +%s%N)
  while :; do
    now=$(date +%s%N)
    if [ $(($(rx_bytes "$ns" "$iface") - start)) -ge "$bytes" ]; then
      awk -v d=$((now - t0)) 'BEGIN { printf "%.1f\n", d / 1e9 }'
      return
    fi
    [ $((now - t0)) -lt $((limit * 2 * 1000000000)) ] || { echo "$limit+"; return; }
    sleep 0.05
  done
}

# mtu_detect NS IFACE FROM LIMIT: seconds (0.1 s resolution) until tern's overlay MTU on IFACE
# leaves FROM; "LIMIT+" if it has not after LIMIT seconds.
mtu_detect() {
  local t0 now
  t0=$(date +%s%N)
  while :; do
    now=$(date +%s%N)
    if [ "$(tern_peer_json "$1" "$2" overlay_mtu)" != "$3" ]; then
      awk -v d=$((now - t0)) 'BEGIN { printf "%.1f\n", d / 1e9 }'
      return
    fi
    [ $((now - t0)) -lt $(($4 * 1000000000)) ] || { echo "$4+"; return; }
    sleep 0.05
  done
}
