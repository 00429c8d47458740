#!/usr/bin/env bash
# tern in two minutes: installs what tern needs, builds it, then runs two tern agents in two
# network namespaces joined by a virtual cable, and sends traffic through the tunnel between them.
# Nothing outside the two namespaces changes, and everything is removed at the end.
#
#   +-------------------------------+                    +-------------------------------+
#   | "alice" (ns tern-alice-PID)   |                    | "bob" (ns tern-bob-PID)       |
#   |   taPID 10.77.0.1  tunnel ====|=== WireGuard/UDP ==|==== tunnel  tbPID 10.77.0.2   |
#   |   veth 192.0.2.1/24 ----------+------- veth -------+---------- veth 192.0.2.2/24   |
#   +-------------------------------+                    +-------------------------------+
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

echo "tern demo: two machines, one encrypted tunnel, all inside this one"

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
ns_create ALICE
ns_create BOB
veth "$ALICE" veth0 192.0.2.1/24 "$BOB" veth0 192.0.2.2/24
ia=$(iface_name ta)
ib=$(iface_name tb)
mtu=1420
underlay_mtu=$(ip -n "$ALICE" -o link show veth0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
echo "   namespaces $ALICE and $BOB, joined by a veth pair (MTU $underlay_mtu)"

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
conf_peer "$TERN_WORK/$ia.conf" "$b_pub" 10.77.0.2/32 192.0.2.2:51820
conf_interface "$TERN_WORK/$ib.conf" "$b_priv" 51820 10.77.0.2/24 "$mtu"
conf_peer "$TERN_WORK/$ib.conf" "$a_pub" 10.77.0.1/32 192.0.2.1:51820
echo "   alice's config (private key hidden):"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/; s/^/     /' "$TERN_WORK/$ia.conf"
peer_up "$ALICE" "$ia" "$TERN_WORK/$ia.conf" "$impl"
peer_up "$BOB" "$ib" "$TERN_WORK/$ib.conf" "$impl"
cat <<EOF

   alice                                                      bob
   $ia 10.77.0.1 ====== tunnel, MTU $mtu ======> $ib 10.77.0.2
   veth0 192.0.2.1:51820 ---- UDP, veth MTU $underlay_mtu ---- veth0 192.0.2.2:51820

   Each packet in the tunnel travels inside a UDP datagram: WireGuard adds 32 bytes, UDP 8,
   IPv4 20 (IPv6 40). MTU $mtu leaves room for the IPv6 case on a $underlay_mtu-byte link.
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

printf '\n== cleanup\n'
peer_down "$ia"
peer_down "$ib"
printf '\nDone: the tunnel carried %s MiB each way intact (sha256 checked). The namespaces are\n' "$mb"
printf 'deleted as this script exits. Next: README.md, and "tern up --config FILE" on real machines.\n'
