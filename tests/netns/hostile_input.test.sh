#!/usr/bin/env bash
# Hostile input: while a tunnel runs, an attacker sends the server's UDP port a bounded amount of
# garbage: random datagrams of 0-1500 bytes, WireGuard type bytes 1-4 with wrong lengths, well
# sized handshake messages with random contents, forged transport messages with an unknown
# receiver index, and replays of a handshake initiation and a data message captured on the wire.
# Afterwards the agent must still run, the tunnel must still carry traffic, the replays must not
# have moved the peer's endpoint, and `tern status --json` must show the drops by reason.
#
#  +---------------------------+            +-----------------------------+            +-------------------+
#  | ns tern-p-PID (peer)      |            | ns tern-s-PID (tern server) |            | ns tern-m-PID     |
#  |  tpPID 10.77.0.2/24       |            |  tsPID 10.77.0.1/24         |            |  (attacker)       |
#  |  p0 192.0.2.2/24 ---------+--- veth ---+- s0 192.0.2.1/24 udp/51820  |            |                   |
#  |                           |            |  s1 203.0.113.1/24 ---------+--- veth ---+- m0 203.0.113.2/24|
#  +---------------------------+            +-----------------------------+            +-------------------+
#                                            tcpdump on s0 captures the peer's datagrams for the replays
#
# The server is tern (needs $TERN). IMPL_SERVER=wireguard-go runs everything except the drop
# counter checks, to test this script itself; IMPL_PEER (default tern) picks the peer.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_SERVER=${IMPL_SERVER:-tern}
IMPL_PEER=${IMPL_PEER:-tern}
RANDOM_DATAGRAMS=${RANDOM_DATAGRAMS:-1000}
netns_init
need_tools perl tcpdump jq
need_impl "$IMPL_SERVER"
need_impl "$IMPL_PEER"

step "topology: $IMPL_PEER peer <-> $IMPL_SERVER server <- attacker"
ns_create P
ns_create S
ns_create M
veth "$P" p0 192.0.2.2/24 "$S" s0 192.0.2.1/24
veth "$S" s1 203.0.113.1/24 "$M" m0 203.0.113.2/24

pcap="$TERN_WORK/peer.pcap"
ip netns exec "$S" timeout 120 tcpdump -n -i s0 -U -w "$pcap" -c 400 'udp dst port 51820' \
  2>"$TERN_WORK/tcpdump.err" &
tcpdump_pid=$!
track_pid "$tcpdump_pid"
wait_until 15 "tcpdump to start on s0" grep -q 'listening on' "$TERN_WORK/tcpdump.err"

read -r kp_priv kp_pub < <(keypair)
read -r ks_priv ks_pub < <(keypair)
ip_=$(iface_name tp)
is=$(iface_name ts)
conf_interface "$TERN_WORK/$is.conf" "$ks_priv" 51820 10.77.0.1/24 1420
conf_peer "$TERN_WORK/$is.conf" "$kp_pub" 10.77.0.2/32 192.0.2.2:51820
conf_interface "$TERN_WORK/$ip_.conf" "$kp_priv" 51820 10.77.0.2/24 1420
conf_peer "$TERN_WORK/$ip_.conf" "$ks_pub" 10.77.0.1/32 192.0.2.1:51820
peer_up "$S" "$is" "$TERN_WORK/$is.conf" "$IMPL_SERVER"
peer_up "$P" "$ip_" "$TERN_WORK/$ip_.conf" "$IMPL_PEER"

step "tunnel up, capture the peer's datagrams"
ping_check "$P" 10.77.0.1 10
wait_handshake "$S" "$is"
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" || true

# First handshake initiation (type 1, 148 bytes) and first data message (type 4, > 32 bytes)
# the peer sent, as hex UDP payloads; the capture is Ethernet on s0.
read -r replay_init replay_data < <(perl -e '
  local $/; my $f = <STDIN>; my ($init, $data) = ("-", "-");
  for (my $o = 24; $o + 16 <= length $f;) {
    my ($incl) = unpack "x8 V", substr($f, $o, 16);
    my $pkt = substr($f, $o + 16, $incl); $o += 16 + $incl;
    next if length $pkt < 14 + 20 + 8 || unpack("n", substr($pkt, 12, 2)) != 0x0800;
    my $ihl = (unpack("C", substr($pkt, 14, 1)) & 15) * 4;
    my $p = substr($pkt, 14 + $ihl + 8);
    my $t = unpack "V", $p;
    $init = unpack "H*", $p if $t == 1 && length $p == 148 && $init eq "-";
    $data = unpack "H*", $p if $t == 4 && length $p > 32 && $data eq "-";
  }
  print "$init $data\n";' <"$pcap")
check "captured a handshake initiation and a data message to replay"
[ "$replay_init" != - ] || fail "no handshake initiation from the peer in the capture"
[ "$replay_data" != - ] || fail "no data message from the peer in the capture"
ok "initiation (148 bytes) and data message ($((${#replay_data} / 2)) bytes) captured"

tern_status() { ip netns exec "$S" timeout 10 "$TERN" status "$is" --json; }
# drop_count JSON REASON: the interface total for REASON (0 when absent).
drop_count() {
  jq -r --arg i "$is" --arg r "$2" \
    '.interfaces[] | select(.name == $i) | (.totals.drops[$r] // 0)' <<<"$1"
}
drops_total() {
  jq -r --arg i "$is" '.interfaces[] | select(.name == $i) | (.totals.drops_total // 0)' <<<"$1"
}
udp_rcvbuf_errors() {
  # shellcheck disable=SC2016 # awk program
  ip netns exec "$S" awk '/^Udp:/ { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 }
    else print $col["RcvbufErrors"] }' /proc/net/snmp
}

counted=0
if [ "$IMPL_SERVER" = tern ]; then
  check "tern status --json answers"
  before=$(tern_status) || fail "tern status $is --json failed"
  jq -e . >/dev/null <<<"$before" || fail "tern status --json is not JSON: $before"
  ok "drops before: $(jq -c --arg i "$is" '.interfaces[] | select(.name == $i) | .totals.drops' <<<"$before")"
  counted=1
else
  say "$IMPL_SERVER has no drop counters: checking survival and the tunnel only"
fi
rcvbuf_before=$(udp_rcvbuf_errors)

step "attack from 203.0.113.2"
# One UDP socket, bounded: RANDOM_DATAGRAMS random ones plus about 400 shaped ones. A short
# pause every 50 datagrams keeps most of them out of the kernel's socket-buffer drops.
# shellcheck disable=SC2016 # perl program
blast=$(ip netns exec "$M" timeout 120 perl -MIO::Socket::INET -e '
  my ($host, $n_random, $init, $data) = @ARGV;
  my $s = IO::Socket::INET->new(PeerAddr => $host, Proto => "udp") or die "socket: $!";
  my %sent; my $count = 0;
  my $rnd = sub { my $n = shift; join "", map { chr int rand 256 } 1 .. $n };
  my $send = sub {
    my ($kind, $bytes) = @_;
    defined $s->send($bytes) or die "send: $!";
    $sent{$kind}++;
    select(undef, undef, undef, 0.005) if ++$count % 50 == 0;
  };
  $send->("random", $rnd->(int rand 1501)) for 1 .. $n_random;
  $send->("random", "") for 1 .. 5;
  my %size = (1 => 148, 2 => 92, 3 => 64);
  for my $type (1 .. 4) {
    for my $len (1, 2, 3, 4, 5, 8, 16, 31, 63, 65, 91, 93, 147, 149, 1400) {
      next if $type == 4 ? $len >= 32 : $len == $size{$type};
      for (1 .. 4) {
        my $msg = pack("V", $type) . $rnd->($len > 4 ? $len - 4 : 0);
        $send->("wrong_length", substr($msg, 0, $len));
      }
    }
    # Right length, reserved bytes not zero.
    $send->("bad_reserved", pack("C", $type) . "\x01\x00\x00" . $rnd->(($size{$type} // 64) - 4))
      for 1 .. 10;
  }
  $send->("initiation_bad_mac1", pack("V", 1) . $rnd->(144)) for 1 .. 50;
  $send->("response_bad_mac1", pack("V", 2) . $rnd->(88)) for 1 .. 50;
  $send->("cookie_unknown_index", pack("V", 3) . $rnd->(60)) for 1 .. 30;
  $send->("transport_unknown_index", pack("V V Q<", 4, int rand 2**32, $_) . $rnd->(16 + 16 * int rand 60))
    for 1 .. 100;
  $send->("replayed_initiation", pack("H*", $init)) for 1 .. 3;
  $send->("replayed_data", pack("H*", $data)) for 1 .. 10;
  my $total = 0; $total += $_ for values %sent;
  print join(" ", map { "$_=$sent{$_}" } sort keys %sent), " total=$total\n";
' "203.0.113.1:51820" "$RANDOM_DATAGRAMS" "$replay_init" "$replay_data") || fail "the attack script failed"
ok "sent $blast"
sent_total=${blast##*total=}

step "after the attack"
check "the server agent still runs"
peer_alive "$is" || fail "the $IMPL_SERVER server exited during the attack"
ok "still running"
check "the replays did not move the peer's endpoint"
endpoint=$(wg_in "$S" show "$is" endpoints | cut -f2)
[[ $endpoint == 192.0.2.2:* ]] || fail "the peer's endpoint moved to $endpoint (replay from the attacker)"
ok "endpoint still $endpoint"
ping_check "$P" 10.77.0.1 10
transfer_check "$P" "$S" 10.77.0.1 4
transfer_check "$S" "$P" 10.77.0.2 4

if [ "$counted" -eq 1 ]; then
  step "drop counters"
  after=$(tern_status) || fail "tern status $is --json failed after the attack"
  for reason in malformed invalid_mac1 unknown_index replay handshake_replay; do
    check "drops.$reason increased"
    b=$(drop_count "$before" "$reason")
    a=$(drop_count "$after" "$reason")
    [ "$a" -gt "$b" ] || fail "tern status: drops.$reason stayed at $a after the attack"
    ok "drops.$reason $b -> $a"
  done
  kernel_dropped=$(($(udp_rcvbuf_errors) - rcvbuf_before))
  check "drops_total grew by every datagram the socket delivered"
  b=$(drops_total "$before")
  a=$(drops_total "$after")
  [ $((a - b)) -ge $((sent_total - kernel_dropped)) ] ||
    fail "drops_total grew by $((a - b)); sent $sent_total, the kernel dropped $kernel_dropped"
  ok "drops_total $b -> $a (sent $sent_total, socket buffer overflowed $kernel_dropped)"
  say "tern status $is:"
  ip netns exec "$S" timeout 10 "$TERN" status "$is" | sed 's/^/     /'
fi
printf '\nPASS: hostile_input (%s server, %s peer)\n' "$IMPL_SERVER" "$IMPL_PEER"
