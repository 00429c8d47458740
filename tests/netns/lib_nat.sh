# shellcheck shell=bash disable=SC2034 # variables read by the caller
# Helpers for the NAT scenarios (doctor_nat*, doctor_*_nat), sourced after lib.sh: a client
# behind an nftables NAT router, and coturn's turnserver outside on two addresses, which is
# what RFC 5780 behaviour discovery needs.
#
#  +-------------------+      +-----------------------+      +-------------------------+
#  | client (ns NAME)  |      | ns R (the NAT)        |      | ns S (outside)          |
#  |  c0 10.0.0.2/24 --+------+- r0 10.0.0.1/24       |      |                         |
#  |  default via .1   |      |  r1 192.0.2.1/24 -----+------+- s0 192.0.2.2, .3 /24   |
#  +-------------------+      +-----------------------+      +-------------------------+

# nat_topology CLIENT_VAR: creates the client namespace (in $CLIENT_VAR), R and S.
nat_topology() {
  local var=$1 client
  ns_create "$var"
  ns_create R
  ns_create S
  client=${!var}
  veth "$client" c0 10.0.0.2/24 "$R" r0 10.0.0.1/24
  veth "$R" r1 192.0.2.1/24 "$S" s0 192.0.2.2/24
  ip -n "$S" addr add 192.0.2.3/24 dev s0
  ip -n "$client" route add default via 10.0.0.1
  router_enable "$R"
}

# nat_masquerade: R masquerades what leaves towards S (Linux conntrack: endpoint-independent
# mapping while the port is free, address-and-port-dependent filtering).
nat_masquerade() {
  ip netns exec "$R" nft -f - <<NFT
table ip nat {
  chain postrouting {
    type nat hook postrouting priority 100
    oifname "r1" masquerade
  }
}
NFT
}

# nat_udp_timeout SECONDS: R forgets an idle UDP mapping after SECONDS (an nft ct timeout
# object has no effect on the kernels tested, the per-namespace sysctls do).
nat_udp_timeout() {
  ip netns exec "$R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout="$1" \
    net.netfilter.nf_conntrack_udp_timeout_stream="$1" ||
    skip "this kernel has no per-namespace UDP conntrack timeouts"
}

# udp_listening NS PORT: something in NS listens on udp/PORT.
udp_listening() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :$2")" ]; }

# coturn_two_addresses: coturn's turnserver in S on 192.0.2.2 and 192.0.2.3, ports 3478 and
# 3479 (RFC 5780's other address and port), log in $TERN_WORK/coturn.log.
coturn_two_addresses() {
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -n --log-file stdout \
    --listening-ip 192.0.2.2 --listening-ip 192.0.2.3 --no-tls --no-dtls --no-cli \
    >"$TERN_WORK/coturn.log" 2>&1 &
  track_pid $!
  wait_until 10 "turnserver listening on udp/3478" udp_listening "$S" 3478
  wait_until 10 "turnserver listening on udp/3479" udp_listening "$S" 3479
}

# nat_masquerade_random: R's masquerade takes a random port per flow (address-and-port-dependent
# mapping: a symmetric NAT). One transaction, so no datagram meets an empty ruleset.
nat_masquerade_random() {
  ip netns exec "$R" nft -f - <<NFT
flush ruleset
table ip nat {
  chain postrouting {
    type nat hook postrouting priority 100
    oifname "r1" masquerade random
  }
}
NFT
}

# nat_wireguard_go_pair: the doctor_*_nat scenarios' start. A wireguard-go peer in the client
# namespace behind R (masquerade, UDP mappings forgotten after 15 s), keepalive 25 s, its peer
# in S, coturn on S's two addresses; the tunnel is checked with a ping. Sets IA, IB (the
# interfaces) and ka_priv, ka_pub, kb_priv, kb_pub (their keys).
nat_wireguard_go_pair() {
  step "topology: wireguard-go behind a NAT with 15 s UDP mappings, its peer and coturn outside"
  nat_topology A
  nat_masquerade
  nat_udp_timeout 15
  coturn_two_addresses

  IA=$(iface_name na)
  IB=$(iface_name nb)
  read -r ka_priv ka_pub < <(keypair)
  read -r kb_priv kb_pub < <(keypair)
  conf_interface "$TERN_WORK/$IA.conf" "$ka_priv" 51820 10.77.0.1/24 1420
  conf_peer "$TERN_WORK/$IA.conf" "$kb_pub" 10.77.0.2/32 192.0.2.2:51820 25
  conf_interface "$TERN_WORK/$IB.conf" "$kb_priv" 51820 10.77.0.2/24 1420
  conf_peer "$TERN_WORK/$IB.conf" "$ka_pub" 10.77.0.1/32
  peer_up "$A" "$IA" "$TERN_WORK/$IA.conf" wireguard-go
  peer_up "$S" "$IB" "$TERN_WORK/$IB.conf" wireguard-go
  ping_check "$A" 10.77.0.2 3
}
