#!/usr/bin/env bash
# Path MTU on a jumbo link (issue 4 §2): two tern agents over a veth with MTU 9000 at both
# ends (IPv6 underlay) and a TUN MTU of 8920. The agent searches up to its largest underlay
# interface, so the path MTU found is 9000 (8920 + 80, not the 1500 default) and an 8000-byte
# ping with DF crosses the tunnel as one packet (iperf3's TCP too, when installed). Then A's
# link shrinks to 1500 under the tunnel: the first large data packet is refused by A's own
# interface (EMSGSIZE, counted as too_big_for_path, not send_failed), the search confirms
# downward at once, and pings of the new overlay MTU (1420) with DF pass again.
#
#  +------------------------------+                +------------------------------+
#  | ns tern-a-PID                |                | ns tern-b-PID                |
#  |   jaPID 10.81.0.1/24 MTU 8920|                |   jbPID 10.81.0.2/24 MTU 8920|
#  |   a0PID 2001:db8::1 mtu 9000 +----- veth -----+   b0PID 2001:db8::2 mtu 9000 |
#  +------------------------------+                +------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_mtu.sh
. "$(dirname "$0")/lib_mtu.sh"
netns_init
need_impl tern
need_tools jq

step "topology: A <-> B over a 9000-byte veth, tern with TUN MTU 8920"
ns_create A
ns_create B
ip link add "a0$$" netns "$A" mtu 9000 type veth peer name "b0$$" netns "$B" mtu 9000
ip -n "$A" -6 addr add 2001:db8::1/64 dev "a0$$" nodad
ip -n "$B" -6 addr add 2001:db8::2/64 dev "b0$$" nodad
ip -n "$A" link set "a0$$" up
ip -n "$B" link set "b0$$" up
IA=$(iface_name ja)
IB=$(iface_name jb)
read -r ka_priv ka_pub < <(keypair)
read -r kb_priv kb_pub < <(keypair)
conf_interface "$TERN_WORK/$IA.conf" "$ka_priv" 51830 10.81.0.1/24 8920
conf_peer "$TERN_WORK/$IA.conf" "$kb_pub" 10.81.0.2/32 "[2001:db8::2]:51830" 25
conf_interface "$TERN_WORK/$IB.conf" "$kb_priv" 51830 10.81.0.2/24 8920
conf_peer "$TERN_WORK/$IB.conf" "$ka_pub" 10.81.0.1/32
peer_up "$B" "$IB" "$TERN_WORK/$IB.conf" tern
peer_up "$A" "$IA" "$TERN_WORK/$IA.conf" tern
ping_check "$A" 10.81.0.2 3

step "the search reaches the jumbo link's MTU"
mtu_wait_overlay "$A" "$IA" 8920 10
[ "$(tern_peer_json "$A" "$IA" path_mtu)" = 9000 ] ||
  fail "A's path MTU is $(tern_peer_json "$A" "$IA" path_mtu), want 9000"
mtu_wait_overlay "$B" "$IB" 8920 10
out=$(ip netns exec "$A" ping -n -q -c 3 -i 0.2 -W 2 -M "do" -s 8000 10.81.0.2 || true)
grep -q ' 3 received' <<<"$out" || fail "8000-byte pings with DF through the tunnel: $out"
ok "8000-byte pings with DF: 3/3"
[ "$(tern_peer_json "$A" "$IA" 'drops.send_failed // 0')" = 0 ] || fail "A counted send_failed"
if command -v iperf3 >/dev/null; then
  ip netns exec "$B" timeout 20 iperf3 -s -1 -B 10.81.0.2 >/dev/null 2>&1 &
  track_pid $!
  wait_until 10 "iperf3 to listen in B" listening "$B" 5201
  ip netns exec "$A" timeout 20 iperf3 -c 10.81.0.2 -t 3 -J >"$TERN_WORK/iperf.json" 2>&1 ||
    fail "iperf3 through the 8920-byte tunnel: $(tail -n 3 "$TERN_WORK/iperf.json")"
  mbits=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$TERN_WORK/iperf.json")
  ok "TCP through the jumbo tunnel: $mbits Mbit/s," \
    "MSS $(jq -r '.start.tcp_mss_default // "?"' "$TERN_WORK/iperf.json")"
fi

step "A's link shrinks to 1500 under the tunnel: a refused packet is a hint, confirmed by probes"
ip -n "$A" link set "a0$$" mtu 1500
ip -n "$B" link set "b0$$" mtu 1500
start=$SECONDS
# The first large packet leaves A's TUN (its overlay MTU is still 8920) and A's link refuses it;
# the same on B's side (there a confirmation probe of 9000 may be refused first).
ip netns exec "$A" ping -n -q -c 1 -W 1 -M "do" -s 8000 10.81.0.2 >/dev/null 2>&1 || true
ip netns exec "$B" ping -n -q -c 1 -W 1 -M "do" -s 8000 10.81.0.1 >/dev/null 2>&1 || true
mtu_wait_overlay "$A" "$IA" 1420 5
mtu_wait_overlay "$B" "$IB" 1420 5
say "both settled on 1420 within $((SECONDS - start)) s"
too_big=$(tern_peer_json "$A" "$IA" 'drops.too_big_for_path // 0')
[ "$too_big" -ge 1 ] || fail "A counted no too_big_for_path drop"
[ "$(tern_peer_json "$A" "$IA" 'drops.send_failed // 0')" = 0 ] ||
  fail "EMSGSIZE counted as send_failed"
ok "too_big_for_path: $too_big, send_failed: 0"
out=$(ip netns exec "$A" ping -n -q -c 3 -i 0.2 -W 2 -M "do" -s 1392 10.81.0.2 || true)
grep -q ' 3 received' <<<"$out" || fail "1420-byte pings with DF after the shrink: $out"
ok "1420-byte pings with DF: 3/3"
printf '\nPASS: mtu_jumbo\n'
