#!/usr/bin/env bash
# mtu_blackhole.test.sh with a 1400-byte middle link instead of 1280: wireguard-go with MTU
# 1420 (1480 bytes outside) stalls there too; tern settles on overlay MTU 1340 (IPv4
# underlay) and 1320 (IPv6), so IPv6 inside needs no fragments.
exec env MIDDLE_MTU=1400 "$(dirname "$0")/mtu_blackhole.test.sh" "$@"
