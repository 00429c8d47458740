#!/usr/bin/env bash
# A full tunnel: client C routes everything (AllowedIPs = 0.0.0.0/0, ::/0) through server S,
# which forwards it to an "internet" host I that C cannot reach any other way. C reaches S
# itself through its own default route via router R, so the tunnel's UDP packets only get
# out because they carry the fwmark that the policy rules let bypass table 51820, as with
# wg-quick. Checked: pings (IPv4, IPv6) and a checksummed transfer C -> I; the two rules per
# family in `ip rule` while tern runs, gone after SIGTERM; a start that fails after adding the
# rules removes them; `wg set fwmark` re-marks the socket; and, when wg-quick and
# wireguard-go are installed, wg-quick itself run on the same file leaves the same rules and
# routes as tern.
#
#  +-----------------------------+     +-----------------------------+
#  | ns tern-c-PID  (client)     |     | ns tern-r-PID  (router)     |
#  |  tcPID 10.66.0.2/32         |     |  no route to 203.0.113.0/24 |
#  |        fd66::2/128          |     |                             |
#  |  c0 192.0.2.1/24            +-----+ r0 192.0.2.254/24           |
#  |  default via 192.0.2.254    |     | r1 198.51.100.254/24        |
#  +-----------------------------+     +--------------+--------------+
#                                                     |
#  +-----------------------------+     +--------------+--------------+
#  | ns tern-i-PID  ("internet") |     | ns tern-s-PID  (server)     |
#  |  i0 203.0.113.80/24         +-----+ s1 203.0.113.1/24           |
#  |     2001:db8:113::80/64     |     |    2001:db8:113::1/64       |
#  |  default via S              |     | s0 198.51.100.2/24 udp/51820|
#  +-----------------------------+     |  default via 198.51.100.254 |
#                                      |  tsPID 10.66.0.1/24 fd66::1/64, forwarding on
#                                      +-----------------------------+
#
# IMPL_S (default: tern) chooses the server's implementation; the client is tern.
# TRANSFER_MB sets the transfer size.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
IMPL_S=${IMPL_S:-tern}
MB=${TRANSFER_MB:-16}
netns_init
need_impl tern
need_impl "$IMPL_S"

TABLE=51820
MARK=0xca6c
HOST4=203.0.113.80
HOST6=2001:db8:113::80

step "topology: C -> R -> S ($IMPL_S) -> I"
ns_create C
ns_create R
ns_create S
ns_create I
veth "$C" c0 192.0.2.1/24 "$R" r0 192.0.2.254/24
veth "$R" r1 198.51.100.254/24 "$S" s0 198.51.100.2/24
veth "$S" s1 203.0.113.1/24 "$I" i0 $HOST4/24
ip -n "$S" -6 addr add 2001:db8:113::1/64 dev s1 nodad
ip -n "$I" -6 addr add $HOST6/64 dev i0 nodad
ip -n "$C" route add default via 192.0.2.254
ip -n "$S" route add default via 198.51.100.254
ip -n "$I" route add default via 203.0.113.1
ip -n "$I" -6 route add default via 2001:db8:113::1
router_enable "$R"
router_enable "$S"
ip netns exec "$S" sysctl -qw net.ipv6.conf.all.forwarding=1
# Loose reverse-path filtering, as Debian and most distributions set it.
ip netns exec "$C" sysctl -qw net.ipv4.conf.all.rp_filter=2

read -r kc_priv kc_pub < <(keypair)
read -r ks_priv ks_pub < <(keypair)
ic=$(iface_name tc)
is=$(iface_name ts)
conf_interface "$TERN_WORK/$is.conf" "$ks_priv" 51820 "10.66.0.1/24, fd66::1/64" 1420
conf_peer "$TERN_WORK/$is.conf" "$kc_pub" "10.66.0.2/32, fd66::2/128"
# No ListenPort on the client: a random port, as on a laptop.
cat >"$TERN_WORK/$ic.conf" <<EOF
[Interface]
PrivateKey = $kc_priv
Address = 10.66.0.2/32, fd66::2/128
MTU = 1420
EOF
conf_peer "$TERN_WORK/$ic.conf" "$ks_pub" "0.0.0.0/0, ::/0" 198.51.100.2:51820 25
chmod 600 "$TERN_WORK"/*.conf

check "without a tunnel, C cannot reach $HOST4 (R has no route there)"
! ip netns exec "$C" ping -n -q -c 1 -W 1 $HOST4 >/dev/null 2>&1 ||
  fail "C reaches $HOST4 without the tunnel: the test network leaks"
ip netns exec "$C" ping -n -q -c 1 -W 2 198.51.100.2 >/dev/null || fail "C cannot reach S over R"
ok "only S is reachable"

peer_up "$S" "$is" "$TERN_WORK/$is.conf" "$IMPL_S"

# ---- helpers -----------------------------------------------------------------------------

# rules NS: both families' rules, priorities included, as `ip rule` prints them.
rules() { { ip -n "$1" -4 rule show; ip -n "$1" -6 rule show; }; }
# policy_rules NS: only the full tunnel's rules.
policy_rules() { rules "$1" | grep -E "lookup $TABLE|suppress_prefixlength" || true; }
table_routes() { { ip -n "$1" -4 route show table $TABLE; ip -n "$1" -6 route show table $TABLE; }; }
count_lines() { awk -v want="$1" 'index($0, want) { n++ } END { print n + 0 }' <<<"$2"; }
udp_mark() {
  ip netns exec "$1" ss -Hunae "sport = :$2" 2>/dev/null | sed -n 's/.*fwmark:\(0x[0-9a-f]*\).*/\1/p'
}

# client_up IFACE: tern on C with the full-tunnel config (peer_up's checks expect main-table
# routes for every AllowedIPs, which a full tunnel deliberately does not have).
client_up() {
  local iface=$1 pid
  ip netns exec "$C" timeout "$TERN_PROCESS_LIFETIME" \
    "$TERN" up --config "$TERN_WORK/$iface.conf" >"$TERN_WORK/$iface.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  printf '%s %s tern\n' "$iface" "$C" >>"$TERN_WORK/ifaces"
  TERN_IFACE_NS[$iface]=$C
  TERN_IFACE_PID[$iface]=$pid
  TERN_IFACE_IMPL[$iface]=tern
  wait_until 30 "tern to serve $TERN_RUN_DIR/$iface.sock in $C" peer_ready "$C" "$iface" "$pid"
}

# expect_policy NS IFACE: wg-quick's rules for both families, the default routes in the table.
expect_policy() {
  local ns=$1 iface=$2 r
  r=$(rules "$ns")
  for want in "not from all fwmark $MARK lookup $TABLE" "from all lookup main suppress_prefixlength 0"; do
    [ "$(count_lines "$want" "$(ip -n "$ns" -4 rule show)")" -eq 1 ] ||
      fail "want one IPv4 rule '$want'; ip rule shows:"$'\n'"$r"
    [ "$(count_lines "$want" "$(ip -n "$ns" -6 rule show)")" -eq 1 ] ||
      fail "want one IPv6 rule '$want'; ip -6 rule shows:"$'\n'"$r"
  done
  grep -q "^default dev $iface scope link" <<<"$(ip -n "$ns" -4 route show table $TABLE)" ||
    fail "table $TABLE lacks the IPv4 default route: $(table_routes "$ns")"
  grep -q "^default dev $iface " <<<"$(ip -n "$ns" -6 route show table $TABLE)" ||
    fail "table $TABLE lacks the IPv6 default route: $(table_routes "$ns")"
  [ -z "$(ip -n "$ns" -4 route show table main default dev "$iface")" ] ||
    fail "the main table has a default route through $iface"
  [ "$(ip netns exec "$ns" cat /proc/sys/net/ipv4/conf/all/src_valid_mark)" = 1 ] ||
    fail "net.ipv4.conf.all.src_valid_mark is not 1"
}

expect_no_policy() {
  local ns=$1 what=$2
  [ -z "$(policy_rules "$ns")" ] || fail "$what: rules are left behind:"$'\n'"$(rules "$ns")"
  [ -z "$(table_routes "$ns")" ] || fail "$what: table $TABLE still has routes: $(table_routes "$ns")"
}

# through_tunnel NS IFACE: pings to I on both families and a transfer, all through IFACE.
through_tunnel() {
  local ns=$1 iface=$2 before after
  before=$(wg_in "$ns" show "$iface" transfer | awk '{ print $3 }')
  ping_check "$ns" $HOST4
  ping_check "$ns" $HOST6
  transfer_check "$ns" "$I" $HOST4 "$MB"
  after=$(wg_in "$ns" show "$iface" transfer | awk '{ print $3 }')
  [ $((after - before)) -gt $((MB * 1048576)) ] ||
    fail "$iface sent $((after - before)) bytes; the $MB MiB did not go through the tunnel"
  ok "$iface carried $((after - before)) bytes"
}

# ---- tern as the client ------------------------------------------------------------------

step "tern on C with AllowedIPs = 0.0.0.0/0, ::/0"
client_up "$ic"
expect_policy "$C" "$ic"
ok "rules and routes as wg-quick adds them:"$'\n'"$(policy_rules "$C" | sed 's/^/      /')"
port=$(wg_in "$C" show "$ic" listen-port)
[ "$(wg_in "$C" show "$ic" fwmark)" = "$MARK" ] || fail "wg show fwmark: $(wg_in "$C" show "$ic" fwmark)"
[ "$(udp_mark "$C" "$port")" = "$MARK" ] || fail "the UDP socket on port $port is not marked $MARK"
ok "the UDP socket (port $port) carries fwmark $MARK, and wg show fwmark says so"

check "unmarked packets to S go into the tunnel, marked ones over the underlay"
grep -q "dev $ic table $TABLE" <<<"$(ip -n "$C" route get 198.51.100.2)" ||
  fail "ip route get 198.51.100.2: $(ip -n "$C" route get 198.51.100.2)"
grep -q "via 192.0.2.254 dev c0" <<<"$(ip -n "$C" route get 198.51.100.2 mark $MARK)" ||
  fail "ip route get 198.51.100.2 mark $MARK: $(ip -n "$C" route get 198.51.100.2 mark $MARK)"
ok "policy routing splits them by the mark"

step "everything from C goes through the tunnel"
through_tunnel "$C" "$ic"
wait_handshake "$S" "$is"
[ "$(wg_in "$S" show "$is" endpoints | awk -v k="$kc_pub" '$1 == k { print $2 }')" = "192.0.2.1:$port" ] ||
  fail "S sees C at $(wg_in "$S" show "$is" endpoints), not at its underlay address 192.0.2.1:$port"
ok "S sees the tunnel's packets coming from C's underlay address 192.0.2.1:$port"
tern_rules=$(rules "$C")
tern_routes=$(table_routes "$C")

step "wg set fwmark re-marks the socket"
wg_in "$C" set "$ic" fwmark 0x1234
[ "$(udp_mark "$C" "$port")" = 0x1234 ] || fail "after wg set fwmark 0x1234 the socket has $(udp_mark "$C" "$port")"
wg_in "$C" set "$ic" fwmark $MARK
[ "$(udp_mark "$C" "$port")" = "$MARK" ] || fail "after wg set fwmark $MARK the socket has $(udp_mark "$C" "$port")"
ping_check "$C" $HOST4 3
ok "the socket follows wg set fwmark"

step "SIGTERM removes the rules with the interface"
peer_down "$ic"
expect_no_policy "$C" "after tern exited"
! ip netns exec "$C" ping -n -q -c 1 -W 1 $HOST4 >/dev/null 2>&1 || fail "C still reaches $HOST4"
ip netns exec "$C" ping -n -q -c 1 -W 2 198.51.100.2 >/dev/null || fail "C lost the underlay"
ok "no rule left; routing is as before"

# ---- a start that fails after the rules were added -----------------------------------------

step "a failed start removes the rules it added"
ifail=$(iface_name tf)
cp "$TERN_WORK/$ic.conf" "$TERN_WORK/$ifail.conf"
# The UAPI socket comes after the routes: a plain file in its place fails the start there.
mkdir -p "$TERN_RUN_DIR"
: >"$TERN_RUN_DIR/$ifail.sock"
printf '%s %s tern\n' "$ifail" "$C" >>"$TERN_WORK/ifaces"
rc=0
ip netns exec "$C" timeout 30 "$TERN" up --config "$TERN_WORK/$ifail.conf" \
  >"$TERN_WORK/$ifail.log" 2>&1 || rc=$?
rm -f "$TERN_RUN_DIR/$ifail.sock"
case $rc in
  0 | 124) fail "tern up exited $rc; want a failed start: $(cat "$TERN_WORK/$ifail.log")" ;;
esac
grep -q "table $TABLE" "$TERN_WORK/$ifail.log" ||
  fail "tern failed before installing the policy: $(cat "$TERN_WORK/$ifail.log")"
grep -q "is not a socket" "$TERN_WORK/$ifail.log" || fail "unexpected failure: $(cat "$TERN_WORK/$ifail.log")"
link_gone "$C" "$ifail" || fail "$ifail is left behind"
expect_no_policy "$C" "after the failed start"
ok "tern exited $rc ($(tail -n 1 "$TERN_WORK/$ifail.log")) and left nothing"

# ---- wg-quick on the same file, for reference --------------------------------------------

step "wg-quick with wireguard-go on the same file"
if ! command -v wg-quick >/dev/null 2>&1 || ! command -v wireguard-go >/dev/null 2>&1; then
  say "skipped: wg-quick or wireguard-go is missing"
else
  ip netns exec "$C" sysctl -qw net.ipv4.conf.all.src_valid_mark=0
  ip netns exec "$C" env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
    timeout 60 wg-quick up "$TERN_WORK/$ic.conf" >"$TERN_WORK/wg-quick.log" 2>&1 ||
    fail "wg-quick up failed: $(cat "$TERN_WORK/wg-quick.log")"
  # wireguard-go runs as a daemon; it is the only process left in C.
  for pid in $(ip netns pids "$C"); do track_pid "$pid"; done
  expect_policy "$C" "$ic"
  [ "$(rules "$C")" = "$tern_rules" ] ||
    fail "wg-quick's rules differ from tern's:"$'\n'"wg-quick:"$'\n'"$(rules "$C")"$'\n'"tern:"$'\n'"$tern_rules"
  [ "$(table_routes "$C")" = "$tern_routes" ] ||
    fail "wg-quick's table $TABLE differs from tern's: $(table_routes "$C") vs $tern_routes"
  ok "wg-quick's rules and table $TABLE match tern's exactly"
  through_tunnel "$C" "$ic"
  ip netns exec "$C" timeout 60 wg-quick down "$TERN_WORK/$ic.conf" >>"$TERN_WORK/wg-quick.log" 2>&1 ||
    fail "wg-quick down failed: $(cat "$TERN_WORK/wg-quick.log")"
  expect_no_policy "$C" "after wg-quick down"
  ok "wg-quick down removed them too"
fi

step "agents"
peer_alive "$is" || fail "the agent of S ($IMPL_S) exited"
ok "S still running"
printf '\nPASS: full_tunnel (tern client, %s server)\n' "$IMPL_S"
