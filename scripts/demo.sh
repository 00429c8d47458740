#!/usr/bin/env bash
# tern in two minutes: installs what tern needs, builds it, then runs two tern agents in two
# network namespaces joined through a router, and sends traffic through the tunnel between them.
# The router's link towards bob is smaller (MTU 1400) than the tunnel assumes and it drops the
# ICMP "fragmentation needed" that would say so: the PMTU black hole that makes large packets
# vanish while pings work. tern finds the path MTU with its own probes and fits every packet.
# Nothing outside the three namespaces changes, and everything is removed at the end.
#
#  +-------------------------+    +----------------------------+    +-------------------------+
#  | alice (ns tern-a-PID)   |    | router (ns tern-r-PID)     |    | bob (ns tern-b-PID)     |
#  |  taPID 10.77.0.1 =======|====|=== WireGuard/UDP tunnel ===|====|=== tbPID 10.77.0.2     |
#  |  198.51.100.2 ----------+----+- MTU 1500     MTU 1400 ----+----+- 192.0.2.2             |
#  +-------------------------+    |  drops ICMP frag-needed    |    +-------------------------+
#                                 +----------------------------+
#
# Usage: sudo scripts/demo.sh [--no-build]     (--no-build: use an existing build/default/tern)
# Environment: TERN=/path/to/tern uses that binary; DEMO_MB (default 100) sets the transfer size.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

build=1
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: tern creates network namespaces and TUN devices, which needs root." >&2
  echo "      Run it as: sudo $0" >&2
  exit 1
fi
# Which agent runs the tunnel; wireguard-go only serves to check this script itself.
impl=${TERN_DEMO_IMPL:-tern}
mb=${DEMO_MB:-100}

echo "tern demo: two machines, one encrypted tunnel across a path that hides its MTU"

printf '\n== 1/6 dependencies\n'
scripts/install-deps.sh
echo "   all present"

printf '\n== 2/6 build\n'
if [ "$build" -eq 1 ]; then
  echo "   cmake --preset default && cmake --build --preset default"
  cmake --preset default >/dev/null
  cmake --build --preset default
else
  echo "   skipped (--no-build)"
fi
TERN=${TERN:-$repo/build/default/tern}
export TERN
if [ "$impl" = tern ]; then
  [ -x "$TERN" ] || { echo "demo: $TERN is missing; run without --no-build" >&2; exit 1; }
  echo "   $TERN"
fi

# shellcheck source=../tests/netns/lib.sh
. tests/netns/lib.sh
netns_init

printf '\n== 3/6 network\n'
# shellcheck source=../tests/netns/lib_mtu.sh
. tests/netns/lib_mtu.sh
middle=1400
mtu_topology "$middle"
ALICE=$MTU_NS_A
BOB=$MTU_NS_B
ia=$(iface_name ta)
ib=$(iface_name tb)
# The configured tunnel MTU fits a 1500-byte path, as usual; the path is smaller. wireguard-go
# (used only to check this script) cannot find that out, so it gets an MTU that fits.
mtu=1420
[ "$impl" = tern ] || mtu=$((middle - 60))
echo "   alice $ALICE, router $MTU_NS_R, bob $BOB"
echo "   alice - router: MTU 1500; router - bob: MTU $middle; the router drops ICMP frag-needed"

printf '\n== 4/6 tern up\n'
genkey() { if [ "$impl" = tern ]; then "$TERN" genkey; else wg genkey; fi; }
pubkey() { if [ "$impl" = tern ]; then "$TERN" pubkey; else wg pubkey; fi; }
a_priv=$(genkey)
b_priv=$(genkey)
a_pub=$(pubkey <<<"$a_priv")
b_pub=$(pubkey <<<"$b_priv")
echo "   alice's public key $a_pub"
echo "   bob's public key   $b_pub"
conf_interface "$TERN_WORK/$ia.conf" "$a_priv" 51820 10.77.0.1/24 "$mtu"
conf_peer "$TERN_WORK/$ia.conf" "$b_pub" 10.77.0.2/32 "$MTU_B_V4:51820"
conf_interface "$TERN_WORK/$ib.conf" "$b_priv" 51820 10.77.0.2/24 "$mtu"
conf_peer "$TERN_WORK/$ib.conf" "$a_pub" 10.77.0.1/32 "$MTU_A_V4:51820"
echo "   alice's config (private key hidden):"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/; s/^/     /' "$TERN_WORK/$ia.conf"
peer_up "$ALICE" "$ia" "$TERN_WORK/$ia.conf" "$impl"
peer_up "$BOB" "$ib" "$TERN_WORK/$ib.conf" "$impl"
cat <<EOF

   alice                                                          bob
   $ia 10.77.0.1 ======== tunnel, MTU $mtu ========> $ib 10.77.0.2
   $MTU_A_V4:51820 --- MTU 1500 --- router --- MTU $middle --- $MTU_B_V4:51820

   Each packet in the tunnel travels inside a UDP datagram: WireGuard adds 32 bytes, UDP 8,
   IPv4 20 (IPv6 40). A 1420-byte tunnel packet needs a 1480-byte path; this one carries
   $middle, and the router drops the ICMP that would say so. tern probes the path itself
   (DPLPMTUD, RFC 8899), lowers this peer's MTU to what fits, answers larger packets from the
   local OS with ICMP Packet Too Big, and clamps TCP's MSS.
EOF

printf '\n== 5/6 traffic\n'
ping_check "$ALICE" 10.77.0.2 5
wait_handshake "$ALICE" "$ia"
if command -v tracepath >/dev/null; then
  echo "   path from alice to bob through the tunnel (tracepath):"
  ip netns exec "$ALICE" timeout 20 tracepath -n -m 4 10.77.0.2 2>&1 | sed 's/^/     /' || true
fi
transfer_check "$ALICE" "$BOB" 10.77.0.2 "$mb" 300
transfer_check "$BOB" "$ALICE" 10.77.0.1 "$mb" 300

printf '\n== 6/6 status\n'
for side in "$ALICE $ia alice" "$BOB $ib bob"; do
  read -r ns iface name <<<"$side"
  if [ "$impl" = tern ]; then
    echo "   $name: tern status $iface"
    ip netns exec "$ns" timeout 10 "$TERN" status "$iface" | sed 's/^/     /'
  else
    echo "   $name: wg show $iface"
    wg_in "$ns" show "$iface" | sed 's/^/     /'
  fi
done
if [ "$impl" = tern ]; then
  echo "   the same path as any tool sees it, from alice: tern doctor mtu $MTU_B_V4"
  ip netns exec "$ALICE" timeout 30 "$TERN" doctor mtu "$MTU_B_V4" 2>/dev/null |
    sed 's/^/     /' || true
fi

printf '\n== cleanup\n'
peer_down "$ia"
peer_down "$ib"
printf '\nDone: the tunnel carried %s MiB each way intact (sha256 checked) across a path\n' "$mb"
printf 'smaller than the tunnel assumed, whose ICMP is filtered. The namespaces are deleted as\n'
printf 'this script exits. Next: README.md, and "tern up --config FILE" on real machines.\n'
