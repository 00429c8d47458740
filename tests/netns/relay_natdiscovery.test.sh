#!/usr/bin/env bash
# RFC 5780 behaviour discovery served by `tern relay --other-address`: coturn's
# turnutils_natdiscovery judges three nftables NATs once against coturn's turnserver and once
# against tern relay, both with two addresses on the same host; the verdicts must be the NAT's
# and agree. `tern doctor nat` against tern relay must agree as well.
#   port-restricted  masquerade                 endpoint-independent mapping, a.-and-p.-dep. filtering
#   full-cone        masquerade + DNAT inbound  endpoint-independent mapping and filtering
#   symmetric        masquerade random          address-and-port-dependent mapping
#
#  +----------------------+      +-------------------------------+      +------------------------------+
#  | ns tern-c-PID        |      | ns tern-r-PID (NAT)           |      | ns tern-s-PID                |
#  |  c0 10.0.0.2/24 -----+-veth-+- r0 10.0.0.1/24               |      |  turnserver 192.0.2.2, .3    |
#  |  turnutils_natdisc.  |      |  r1 192.0.2.1/24 -------------+-veth-+- s0                          |
#  |  tern doctor nat     |      |  nft: masquerade on r1 (+DNAT)|      |  tern relay 192.0.2.4, .5    |
#  +----------------------+      +-------------------------------+      +------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnserver turnutils_natdiscovery jq

step "topology: client -> NAT router -> coturn and tern relay, two addresses each"
ns_create C
ns_create R
ns_create S
veth "$C" c0 10.0.0.2/24 "$R" r0 10.0.0.1/24
veth "$R" r1 192.0.2.1/24 "$S" s0 192.0.2.2/24
for a in 192.0.2.3 192.0.2.4 192.0.2.5; do ip -n "$S" addr add "$a/24" dev s0; done
ip -n "$C" route add default via 10.0.0.1
router_enable "$R"

udp_listening() { [ -n "$(ip netns exec "$1" ss -Hlun "src $2")" ]; }
ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
  --listening-ip 192.0.2.2 --listening-ip 192.0.2.3 --no-tls --no-dtls --no-cli \
  >"$TERN_WORK/coturn.log" 2>&1 &
track_pid $!
ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" "$TERN" relay --listen 192.0.2.4 \
  --alt-address 192.0.2.5 --user alice:s3cret --no-tcp >"$TERN_WORK/relay.log" 2>&1 &
track_pid $!
wait_until 10 "turnserver on 192.0.2.3:3479" udp_listening "$S" 192.0.2.3:3479
wait_until 10 "tern relay on 192.0.2.5:3479" udp_listening "$S" 192.0.2.5:3479
grep -q 'RFC 5780 behaviour discovery on' "$TERN_WORK/relay.log" ||
  fail "tern relay did not say that behaviour discovery is on"
ok "both servers listen on two addresses x ports 3478, 3479"

nat_rules() { # MASQUERADE_FLAGS PREROUTING_RULE: the router's whole ruleset
  ip netns exec "$R" nft flush ruleset
  ip netns exec "$R" nft -f - <<NFT
table ip nat {
  chain prerouting {
    type nat hook prerouting priority -100
    $2
  }
  chain postrouting {
    type nat hook postrouting priority 100
    oifname "r1" masquerade $1
  }
}
NFT
}
# natdiscovery's verdict in tern doctor's words: "endpoint-independent" etc.
verdict() { sed -n "s/^NAT with \(.*\) $2!.*/\1/p" "$1" | head -n 1 | tr 'A-Z ' 'a-z-'; }

TABLE="$TERN_WORK/table"
printf '%-16s %-28s %-28s %-28s %s\n' NAT server mapping filtering "tern doctor nat" >"$TABLE"

scenario() { # NAME MASQUERADE_FLAGS PREROUTING_RULE WANT_MAPPING WANT_FILTERING
  local name=$1 want_map=$4 want_filter=$5 server map filter doc
  step "$name NAT"
  nat_rules "$2" "$3"
  for server in 192.0.2.2 192.0.2.4; do
    out="$TERN_WORK/$name-$server.nd"
    ip netns exec "$C" timeout 40 turnutils_natdiscovery -m -f "$server" >"$out" 2>&1 ||
      fail "turnutils_natdiscovery against $server failed: $(tail -n 3 "$out")"
    map=$(verdict "$out" Mapping)
    filter=$(verdict "$out" Filtering)
    doc=-
    if [ "$server" = 192.0.2.4 ]; then
      ip netns exec "$C" timeout 60 "$TERN" doctor nat --stun stun:192.0.2.4 --quick --json \
        >"$TERN_WORK/$name.json" 2>"$TERN_WORK/$name.err" || true
      doc="$(jq -r .mapping "$TERN_WORK/$name.json" 2>/dev/null)/$(jq -r .filtering "$TERN_WORK/$name.json" 2>/dev/null)"
    fi
    say "$server: $map mapping, $filter filtering; tern doctor nat: $doc"
    printf '%-16s %-28s %-28s %-28s %s\n' "$name" "$server" "$map" "$filter" "$doc" >>"$TABLE"
    [ "$map" = "$want_map" ] && [ "$filter" = "$want_filter" ] ||
      { sed 's/^/   | /' "$out"; fail "$name NAT via $server: $map/$filter, the NAT is $want_map/$want_filter"; }
    if [ "$doc" != - ] && [ "$doc" != "$want_map/$want_filter" ]; then
      fail "$name NAT: tern doctor nat against tern relay says $doc, the NAT is $want_map/$want_filter"
    fi
  done
  ok "$name: natdiscovery gets the same verdicts from tern relay as from coturn"
}

scenario port-restricted "" "" endpoint-independent address-and-port-dependent
scenario full-cone "" 'iifname "r1" udp dport 1024-65535 dnat to 10.0.0.2' \
  endpoint-independent endpoint-independent
scenario symmetric random "" address-and-port-dependent address-and-port-dependent

step "verdicts"
cat "$TABLE"
printf '\nPASS: relay_natdiscovery\n'
