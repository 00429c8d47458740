# shellcheck shell=bash disable=SC2153 # TERN_WORK and friends come from lib.sh
# Part of tests/netns/lib.sh (which sources it): what is checked through a tunnel (handshakes,
# pings, checksummed TCP transfers) and the impairments put on its path (nftables loss).

# ---- checks --------------------------------------------------------------------------------

has_handshake() {
  wg_in "$1" show "$2" latest-handshakes | awk '$2 > 0 { found = 1 } END { exit !found }'
}

# wait_handshake NS IFACE [SECONDS]
wait_handshake() {
  check "$2 in $1 completes a handshake"
  wait_until "${3:-30}" "a handshake on $2 in $1 (wg show $2 latest-handshakes stays 0)" \
    has_handshake "$1" "$2"
  ok "handshake on $2"
}

# ping_check NS DST [COUNT] [MIN_REPLIES] [SECONDS]: the first reply may take a handshake.
ping_check() {
  local ns=$1 dst=$2 count=${3:-5} min=${4:-${3:-5}} secs=${5:-30} out got
  check "ping $dst from $ns"
  wait_until "$secs" "a first ping reply from $dst in $ns" \
    ip netns exec "$ns" ping -n -q -c 1 -W 1 "$dst" >/dev/null
  out=$(ip netns exec "$ns" timeout 60 ping -n -q -c "$count" -i 0.2 -W 2 "$dst" || true)
  got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
  [ "${got:-0}" -ge "$min" ] || fail "ping $dst from $ns: ${got:-0} of $count replies (want >= $min)"
  ok "ping $dst: $got/$count replies, $(printf '%s\n' "$out" | sed -n 's/^rtt /rtt /p')"
}

next_port() {
  TERN_PORT=$TERN_PORT_NEXT
  TERN_PORT_NEXT=$((TERN_PORT_NEXT + 1))
}

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }

# transfer_begin FROM_NS TO_NS TO_ADDR MB [SECONDS]: starts a checksummed TCP transfer of MB
# random mebibytes through whatever route leads to TO_ADDR. transfer_finish waits for it.
transfer_begin() {
  local from=$1 to=$2 addr=$3 mb=$4 secs=${5:-120}
  next_port
  XFER_ADDR=$addr XFER_MB=$mb XFER_SECS=$secs
  XFER_DATA="$TERN_WORK/data.$TERN_PORT"
  head -c "${mb}M" /dev/urandom >"$XFER_DATA"
  XFER_SUM=$(sha256sum <"$XFER_DATA" | cut -d' ' -f1)
  check "TCP transfer of $mb MiB $from -> $addr (sha256 ${XFER_SUM:0:16}...)"
  # One process tree under timeout, so killing $XFER_RX_PID ends nc and sha256sum too.
  # shellcheck disable=SC2016 # expanded by sh -c
  ip netns exec "$to" timeout "$secs" sh -c 'nc -l "$1" "$2" | sha256sum' sh "$addr" "$TERN_PORT" \
    >"$XFER_DATA.rx.sha" 2>"$XFER_DATA.rx.err" &
  XFER_RX_PID=$!
  track_pid "$XFER_RX_PID"
  wait_until 10 "nc to listen on $addr:$TERN_PORT in $to" listening "$to" "$TERN_PORT"
  XFER_START=$(date +%s.%N)
  ip netns exec "$from" timeout "$secs" nc -N "$addr" "$TERN_PORT" <"$XFER_DATA" \
    2>"$XFER_DATA.tx.err" &
  XFER_TX_PID=$!
  track_pid "$XFER_TX_PID"
}

transfer_running() { kill -0 "$XFER_RX_PID" 2>/dev/null; }

transfer_finish() {
  local tx_rc=0 rx_sum elapsed
  wait "$XFER_TX_PID" || tx_rc=$?
  wait "$XFER_RX_PID" || true
  elapsed=$(awk -v a="$(date +%s.%N)" -v b="$XFER_START" 'BEGIN { print a - b }')
  rx_sum=$(cut -d' ' -f1 <"$XFER_DATA.rx.sha")
  [ "$tx_rc" -ne 124 ] || fail "TCP transfer to $XFER_ADDR: not finished after ${XFER_SECS}s"
  [ "$tx_rc" -eq 0 ] || fail "TCP transfer to $XFER_ADDR: sender nc exited $tx_rc: $(cat "$XFER_DATA.tx.err")"
  [ "$rx_sum" = "$XFER_SUM" ] ||
    fail "TCP transfer to $XFER_ADDR: received data has sha256 ${rx_sum:0:16}..., sent ${XFER_SUM:0:16}..."
  XFER_RATE=$(awk -v mb="$XFER_MB" -v s="$elapsed" 'BEGIN { printf "%.1f", mb * 8 * 1.048576 / s }')
  XFER_ELAPSED=$(awk -v s="$elapsed" 'BEGIN { printf "%.2f", s }')
  ok "$XFER_MB MiB arrived intact in ${XFER_ELAPSED}s ($XFER_RATE Mbit/s)"
  rm -f "$XFER_DATA"
}

transfer_check() {
  transfer_begin "$@"
  transfer_finish
}

# ---- impairments ---------------------------------------------------------------------------

# loss_forward NS PERCENT: drops PERCENT % of everything NS forwards, each direction.
loss_forward() {
  ip netns exec "$1" nft -f - <<EOF
table inet tern_loss {
  chain forward {
    type filter hook forward priority 0; policy accept;
    numgen random mod 100 < $2 counter drop
  }
}
EOF
}

# loss_iface NS IFACE PERCENT: drops PERCENT % of what enters and what leaves IFACE in NS.
loss_iface() {
  ip netns exec "$1" nft -f - <<EOF
table inet tern_loss_$2 {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "$2" numgen random mod 100 < $3 counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "$2" numgen random mod 100 < $3 counter drop
  }
}
EOF
}

# loss_dropped NS: packets the loss rules of NS dropped so far.
loss_dropped() {
  ip netns exec "$1" nft list ruleset |
    awk '/numgen random/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}
