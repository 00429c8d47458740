#!/usr/bin/env bash
# `tern doctor nat` against NATs built from nftables, each judged by coturn's
# turnutils_natdiscovery on the same NAT: the mapping and filtering verdicts must agree.
# The NATs (all real Linux NAT, nothing emulated in the doctor's favour):
#   port-restricted  masquerade                       EIM, address-and-port-dependent filtering
#   address-restr.   masquerade + DNAT of datagrams from an (address, port) the inside socket
#                    has sent to (a dynamic nft set)  EIM, address-dependent filtering
#   full-cone        masquerade + DNAT of every datagram to the inside host's same port
#                                                     EIM, endpoint-independent filtering
#   symmetric        masquerade random                address-and-port-dependent mapping
#   symmetric-fr     masquerade fully-random          the same
# Plus a silent server: stun_unreachable within seconds. Prints the agreement table.
#
#  +----------------------+      +-------------------------------+      +----------------------+
#  | ns tern-c-PID        |      | ns tern-r-PID (NAT)           |      | ns tern-s-PID        |
#  |  c0 10.0.0.2/24 -----+-veth-+- r0 10.0.0.1/24               |      |  turnserver on       |
#  |  tern doctor nat     |      |  r1 192.0.2.1/24 -------------+-veth-+- s0 192.0.2.2 and    |
#  |  turnutils_natdisc.  |      |  nft: masquerade on r1 (+DNAT)|      |     192.0.2.3 (5780) |
#  +----------------------+      +-------------------------------+      +----------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=lib_nat.sh
. "$(dirname "$0")/lib_nat.sh"
netns_init
need_impl tern
need_tools turnserver turnutils_natdiscovery jq

step "topology: client -> NAT router -> coturn with two addresses"
nat_topology C
coturn_two_addresses

# nat_rules MASQUERADE_FLAGS FORWARD_RULE PREROUTING_RULE: the router's whole ruleset.
# One transaction: a datagram that met no NAT chain between a flush and the new rules would get
# a conntrack entry without translation, which outlives the rules and skews the next verdicts.
nat_rules() {
  ip netns exec "$R" nft -f - <<NFT
flush ruleset
table ip nat {
  set contacted {
    type ipv4_addr . inet_service
    flags timeout
  }
  chain forwarding {
    type filter hook forward priority 0
    $2
  }
  chain prerouting {
    type nat hook prerouting priority -100
    $3
  }
  chain postrouting {
    type nat hook postrouting priority 100
    oifname "r1" masquerade $1
  }
}
NFT
}

# natdiscovery's verdict, in the doctor's words: "endpoint-independent" etc.
verdict() {
  sed -n "s/^NAT with \(.*\) $2!.*/\1/p" "$1" | head -n 1 | tr 'A-Z ' 'a-z-' |
    sed 's/^address-and-port-dependent$/address-and-port-dependent/'
}

TABLE="$TERN_WORK/table"
printf '%-18s %-28s %-28s %-28s %-28s %s\n' NAT "mapping(natdiscovery)" "mapping(tern)" \
  "filtering(natdiscovery)" "filtering(tern)" agree >"$TABLE"

# scenario NAME MASQ FORWARD PREROUTING WANT_MAPPING WANT_FILTERING WANT_CODE
scenario() {
  local name=$1 want_map=$5 want_filter=$6 want_code=$7 out rc=0 nd_map nd_filter t_map t_filter
  step "$name NAT"
  nat_rules "$2" "$3" "$4"
  out="$TERN_WORK/$name"
  # Both probe the same NAT at once, from their own sockets.
  ip netns exec "$C" timeout 40 turnutils_natdiscovery -m -f 192.0.2.2 >"$out.nd" 2>&1 &
  local nd_pid=$!
  track_pid "$nd_pid"
  ip netns exec "$C" timeout 60 "$TERN" doctor nat --stun stun:192.0.2.2 --quick --json \
    >"$out.json" 2>"$out.err" || rc=$?
  wait "$nd_pid" || fail "turnutils_natdiscovery failed on the $name NAT: $(tail -n 3 "$out.nd")"
  nd_map=$(verdict "$out.nd" Mapping)
  nd_filter=$(verdict "$out.nd" Filtering)
  t_map=$(jq -r .mapping "$out.json")
  t_filter=$(jq -r .filtering "$out.json")
  say "natdiscovery: $nd_map mapping, $nd_filter filtering"
  say "tern:         $t_map mapping, $t_filter filtering, hairpinning $(jq -r .hairpinning "$out.json"), port preserved $(jq -r .port_preserved "$out.json"), exit $rc"
  local agree=yes
  [ "$nd_map" = "$t_map" ] && [ "$nd_filter" = "$t_filter" ] || agree=NO
  printf '%-18s %-28s %-28s %-28s %-28s %s\n' "$name" "$nd_map" "$t_map" "$nd_filter" \
    "$t_filter" "$agree" >>"$TABLE"
  [ "$agree" = yes ] || { cat "$out.nd" >&2; fail "tern and natdiscovery disagree on the $name NAT"; }
  [ "$t_map" = "$want_map" ] || fail "$name: mapping $t_map, the NAT is $want_map"
  [ "$t_filter" = "$want_filter" ] || fail "$name: filtering $t_filter, the NAT is $want_filter"
  if [ -n "$want_code" ]; then
    [ "$rc" -eq 1 ] || fail "$name: exit status $rc with a finding expected"
    jq -e --arg c "$want_code" '[.findings[].code] | index($c) != null' "$out.json" >/dev/null ||
      fail "$name: no $want_code finding: $(jq -c .findings "$out.json")"
  else
    [ "$rc" -eq 0 ] || fail "$name: exit status $rc, findings $(jq -c .findings "$out.json")"
  fi
  ok "$name: verdicts agree"
}

scenario port-restricted "" "" "" endpoint-independent address-and-port-dependent ""
scenario address-restricted "" \
  'iifname "r0" update @contacted { ip daddr . udp sport timeout 60s }' \
  'iifname "r1" ip saddr . udp dport @contacted dnat to 10.0.0.2' \
  endpoint-independent address-dependent ""
scenario full-cone "" "" 'iifname "r1" udp dport 1024-65535 dnat to 10.0.0.2' \
  endpoint-independent endpoint-independent ""
scenario symmetric random "" "" address-and-port-dependent address-and-port-dependent \
  nat_symmetric
scenario symmetric-fr fully-random "" "" address-and-port-dependent address-and-port-dependent \
  nat_symmetric

step "a STUN server that never answers"
nat_rules "" 'ip daddr 192.0.2.2 udp dport 3478 drop' ""
rc=0
SECONDS_BEFORE=$SECONDS
ip netns exec "$C" timeout 30 "$TERN" doctor nat --stun stun:192.0.2.2 --quick --json \
  >"$TERN_WORK/silent.json" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "a silent server: exit status $rc, want 1"
jq -e '.findings[0].code == "stun_unreachable"' "$TERN_WORK/silent.json" >/dev/null ||
  fail "a silent server: $(jq -c .findings "$TERN_WORK/silent.json")"
ok "stun_unreachable after $((SECONDS - SECONDS_BEFORE)) s"

step "agreement with turnutils_natdiscovery"
cat "$TABLE"
