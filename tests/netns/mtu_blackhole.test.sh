#!/usr/bin/env bash
# A PMTU black hole (issue 4 §6): the link from router R to B is smaller than the tunnel
# assumes and R drops the ICMP "fragmentation needed" / ICMPv6 "Packet Too Big" that would
# say so. wireguard-go with MTU 1420 stalls on that path (the reference failure, asserted);
# tern on both sides, over an IPv4 and an IPv6 underlay at once, finds the path MTU itself:
# a large TCP transfer arrives intact, sequenced 1400-byte UDP datagrams with DF are never
# lost silently (the sender gets EMSGSIZE or a Packet Too Big and its retry arrives), and
# when the middle MTU drops from 1500 to 1280 mid-transfer the transfer recovers within 5 s.
#
#  A (a0 198.51.100.2, 2001:db8:1::2) -- R (MTU 1500 | MTU MIDDLE, ICMP PTB dropped) -- B
#  (b0 192.0.2.2, 2001:db8:2::2, MTU MIDDLE); drawn in full in lib_mtu.sh.
#  tunnels A -> B:  wireguard-go  10.80.1.0/24 fd80:1::/64 over IPv4 (stopped after its check)
#                   tern          10.80.4.0/24 fd80:4::/64 over IPv4, port 51824
#                   tern          10.80.6.0/24 fd80:6::/64 over IPv6, port 51826
#
# MIDDLE_MTU (default 1280; 1400 is the other case) and TRANSFER_MB (default 200) tune it.
# Needs TERN_TOOLS (mtu_udp_seq) besides TERN.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
MIDDLE=${MIDDLE_MTU:-1280}
MB=${TRANSFER_MB:-200}
netns_init
need_impl wireguard-go
need_impl tern
need_tools mkfifo
UDP_SEQ=${TERN_TOOLS:-}/mtu_udp_seq
[ -x "$UDP_SEQ" ] || skip "TERN_TOOLS/mtu_udp_seq is missing (build the tests/tools programs)"

step "topology"
mtu_topology "$MIDDLE"

step "reference failure: wireguard-go with MTU 1420 stalls on the black hole"
wa=$(iface_name wa)
wb=$(iface_name wb)
mtu_pair wireguard-go "$wa" "$wb" 51821 10.80.1 fd80:1 4 1420
ping_check "$MTU_NS_A" 10.80.1.2 3 3 20
check "a 20 MiB TCP transfer A -> B does not complete within 15 s"
filtered_before=$(mtu_ptb_filtered)
mtu_stream_prepare wg 20
mtu_stream_begin wg "$MTU_NS_A" "$MTU_NS_B" 10.80.1.2 15
mtu_stream_end wg
[ "$STREAM_OK" = 0 ] ||
  fail "wireguard-go moved 20 MiB through the black hole in ${STREAM_SECS}s: the black hole is not one"
[ "$(mtu_ptb_filtered)" -gt "$filtered_before" ] ||
  fail "R dropped no ICMP Packet Too Big: the large packets did not meet the small link"
ok "stalled: $STREAM_BYTES of $((20 * 1048576)) bytes in ${STREAM_SECS}s; R dropped" \
  "$(($(mtu_ptb_filtered) - filtered_before)) ICMP errors"
check "a 1400-byte UDP datagram with DF through wireguard-go is lost without a signal"
ip netns exec "$MTU_NS_B" "$UDP_SEQ" recv 10.80.1.2 47100 1 8 >/dev/null 2>&1 &
udp_rx=$!
track_pid "$udp_rx"
out=$(ip netns exec "$MTU_NS_A" "$UDP_SEQ" send 10.80.1.2 47100 1 1400 8 2>&1) &&
  fail "wireguard-go delivered a 1400-byte datagram over the $MIDDLE path: $out"
wait "$udp_rx" || true
grep -q 'silent losses [1-9]' <<<"$out" || fail "mtu_udp_seq through wireguard-go: $out"
ok "$(tail -n 1 <<<"$out")"
peer_down "$wa"
peer_down "$wb"
mtu_flush_pmtu "$MTU_NS_A"
mtu_flush_pmtu "$MTU_NS_B"

step "tern, over the IPv4 and the IPv6 underlay at once; the middle link at 1500 for now"
mtu_set_middle 1500
t4a=$(iface_name t4a)
t4b=$(iface_name t4b)
t6a=$(iface_name t6a)
t6b=$(iface_name t6b)
mtu_pair tern "$t4a" "$t4b" 51824 10.80.4 fd80:4 4 1420
mtu_pair tern "$t6a" "$t6b" 51826 10.80.6 fd80:6 6 1420
ping_check "$MTU_NS_A" 10.80.4.2 3 3 20
ping_check "$MTU_NS_A" fd80:6::2 3 3 20
mtu_wait_overlay "$MTU_NS_A" "$t4a" 1420 30
mtu_wait_overlay "$MTU_NS_A" "$t6a" 1420 30

step "TCP A -> B through both tunnels; the middle MTU drops 1500 -> $MIDDLE mid-transfer"
filtered_before=$(mtu_ptb_filtered)
mtu_stream_prepare t4 "$MB"
mtu_stream_prepare t6 "$MB"
t4_start=$(rx_bytes "$MTU_NS_B" "$t4b")
t6_start=$(rx_bytes "$MTU_NS_B" "$t6b")
mtu_stream_begin t4 "$MTU_NS_A" "$MTU_NS_B" 10.80.4.2 100
mtu_stream_begin t6 "$MTU_NS_A" "$MTU_NS_B" fd80:6::2 100
# Both flowing, well before either can finish.
both_flowing() {
  rx_grew "$MTU_NS_B" "$t4b" "$t4_start" 4194304 && rx_grew "$MTU_NS_B" "$t6b" "$t6_start" 4194304
}
wait_until 20 "both transfers to move 4 MiB" both_flowing
mtu_set_middle "$MIDDLE"
say "middle MTU now $MIDDLE"
# Recovered: 2 MiB more arrived (before, only what had passed R could). Detected: the overlay
# MTU left 1420 (tern noticed the black hole).
mtu_recovery "$MTU_NS_B" "$t4b" $((2 * 1048576)) 5 >"$TERN_WORK/recovery.t4" &
rec4=$!
mtu_recovery "$MTU_NS_B" "$t6b" $((2 * 1048576)) 5 >"$TERN_WORK/recovery.t6" &
rec6=$!
mtu_detect "$MTU_NS_A" "$t4a" 1420 10 >"$TERN_WORK/detect.t4" &
det4=$!
mtu_detect "$MTU_NS_A" "$t6a" 1420 10 >"$TERN_WORK/detect.t6" &
det6=$!
wait "$rec4" "$rec6" "$det4" "$det6"
recovery4=$(cat "$TERN_WORK/recovery.t4")
recovery6=$(cat "$TERN_WORK/recovery.t6")
say "IPv4 underlay: black hole noticed after $(cat "$TERN_WORK/detect.t4")s, transfer recovered after ${recovery4}s"
say "IPv6 underlay: black hole noticed after $(cat "$TERN_WORK/detect.t6")s, transfer recovered after ${recovery6}s"
mtu_stream_end t4
[ "$STREAM_OK" = 1 ] || fail "tern over IPv4: $STREAM_BYTES of $((MB * 1048576)) bytes in ${STREAM_SECS}s"
ok "IPv4 underlay: $MB MiB intact in ${STREAM_SECS}s"
mtu_stream_end t6
[ "$STREAM_OK" = 1 ] ||
  fail "tern over IPv6: $STREAM_BYTES of $((MB * 1048576)) bytes in ${STREAM_SECS}s"
ok "IPv6 underlay: $MB MiB intact in ${STREAM_SECS}s"
[ "$(mtu_ptb_filtered)" -gt "$filtered_before" ] ||
  fail "R dropped no ICMP error during the transfers: they never met the small link"
for r in "$recovery4" "$recovery6"; do
  awk -v r="$r" 'BEGIN { exit !(r + 0 == r && r <= 5) }' ||
    fail "a transfer took ${r}s to recover from the MTU drop (limit 5 s)"
done
ok "both recovered within 5 s"
# IPv4 + UDP + WireGuard take 60 bytes of the path MTU, IPv6 80.
mtu_wait_overlay "$MTU_NS_A" "$t4a" $((MIDDLE - 60 < 1420 ? MIDDLE - 60 : 1420)) 10
mtu_wait_overlay "$MTU_NS_A" "$t6a" $((MIDDLE - 80 < 1420 ? MIDDLE - 80 : 1420)) 10

step "sequenced 1400-byte UDP datagrams with DF, A -> B, every tunnel and family"
port=47000
for dst in 10.80.4.2 fd80:4::2 10.80.6.2 fd80:6::2; do
  # Forget what TCP taught A's kernel, so the first datagram meets tern's Packet Too Big.
  mtu_flush_pmtu "$MTU_NS_A"
  mtu_udp_seq_check "$MTU_NS_A" "$MTU_NS_B" "$dst" "$port" 100 1400
  [ "${UDP_SIGNALS:-0}" -gt 0 ] || fail "1400 bytes fit a $MIDDLE path: no EMSGSIZE or PTB seen"
  port=$((port + 1))
done
for t in "$t4a" "$t6a"; do
  say "$t: ptb_sent $(tern_peer_json "$MTU_NS_A" "$t" ptb_sent)," \
    "mss_clamped $(tern_peer_json "$MTU_NS_A" "$t" mss_clamped)," \
    "fragments_made $(tern_peer_json "$MTU_NS_A" "$t" fragments_made)"
  [ "$(tern_peer_json "$MTU_NS_A" "$t" ptb_sent)" -gt 0 ] ||
    fail "$t counted no Packet Too Big written to the TUN"
done
for t in "$t4a" "$t4b" "$t6a" "$t6b"; do peer_alive "$t" || fail "the agent of $t exited"; done

printf '\nPASS: mtu_blackhole (middle MTU %s: wireguard-go stalls; tern recovers in %ss / %ss)\n' \
  "$MIDDLE" "$recovery4" "$recovery6"
