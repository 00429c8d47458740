#!/usr/bin/env bash
# mtu_relay.test.sh over an IPv6 underlay: coturn reached at [2001:db8:2::2]:3478, B at
# 2001:db8:3::2 behind it, and A asking for an IPv6 relayed address (REQUESTED-ADDRESS-FAMILY;
# coturn could relay IPv4 too). The leg's overhead counts IPv6's 40-byte header: a 1280 leg
# gives overlay MTU 1196 (1200 direct).
exec env UNDERLAY=6 "$(dirname "$0")/mtu_relay.test.sh" "$@"
