#!/usr/bin/env bash
# The command line when things are wrong: `tern up` with a broken config names FILE:LINE and the
# key to fix; as an unprivileged user it names root / CAP_NET_ADMIN; without /dev/net/tun it names
# /dev/net/tun. Every failing `tern up` exits non-zero and leaves no interface behind. And
# `tern genkey` / `tern pubkey` agree with wg's.
#
#  +------------------------------------+
#  | ns tern-x-PID (scratch, lo only)   |   every `tern up` runs here, so even a tern that
#  |   tern up --config bad.conf   -> x |   wrongly succeeded could not touch the host's network
#  |   setpriv nobody: tern up     -> x |
#  |   unshare -m, tmpfs on /dev/net    |
#  |     tern up                   -> x |
#  +------------------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_tools setpriv unshare mount
need_impl tern

ns_create X
# A directory the unprivileged user can read, holding a copy of tern it can execute.
pub="$TERN_WORK/public"
mkdir -m 755 "$pub"
chmod 755 "$TERN_WORK"
cp "$TERN" "$pub/tern"
chmod 755 "$pub/tern"
read -r k_priv _ < <(keypair)
read -r _ peer_pub < <(keypair)

good="$pub/good.conf"
conf_interface "$good" "$k_priv" 51820 10.77.0.1/24 1420
conf_peer "$good" "$peer_pub" 10.77.0.2/32 192.0.2.2:51820
chmod 644 "$good"

no_links() { [ "$(ip -n "$X" -o link show | grep -vc ': lo:')" -eq 0 ]; }

# expect_failure WHAT PATTERN CMD...: CMD exits non-zero within 15 s, its output matches
# the extended regex PATTERN, and no interface appeared in the scratch namespace.
expect_failure() {
  local what=$1 pattern=$2 rc=0 out
  shift 2
  check "$what"
  out=$(timeout 15 "$@" 2>&1) || rc=$?
  [ "$rc" -ne 124 ] || fail "$what: still running after 15 s (output: $out)"
  [ "$rc" -ne 0 ] || fail "$what: exited 0 (output: $out)"
  grep -Eq -- "$pattern" <<<"$out" || fail "$what: output does not match /$pattern/: $out"
  no_links || fail "$what: left an interface behind: $(ip -n "$X" -o link show)"
  ok "exit $rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"
}

step "tern up with a broken config"
# bad_config_key NAME LINE KEY CONTENT: CONTENT has its error on LINE, in KEY. The location
# and the key together are what tell the user what to fix.
bad_config_key() {
  local name=$1 line=$2 key=$3 file="$pub/$1.conf" out rc=0
  printf '%s\n' "$4" >"$file"
  check "$name: names $file:$line and $key"
  out=$(timeout 15 ip netns exec "$X" "$TERN" up --config "$file" --interface "$(iface_name x)" 2>&1) ||
    rc=$?
  [ "$rc" -ne 124 ] || fail "$name: tern up still running after 15 s (output: $out)"
  [ "$rc" -ne 0 ] || fail "$name: tern up exited 0 (output: $out)"
  grep -qF -- "$file:$line" <<<"$out" || fail "$name: output does not name $file:$line: $out"
  grep -qi -- "$key" <<<"$out" || fail "$name: output does not name $key: $out"
  no_links || fail "$name: left an interface behind: $(ip -n "$X" -o link show)"
  ok "exit $rc: $(head -n 2 <<<"$out" | tr '\n' ' ')"
}

bad_config_key listen_port 3 ListenPort "[Interface]
PrivateKey = $k_priv
ListenPort = not-a-port
Address = 10.77.0.1/24"

bad_config_key private_key 2 PrivateKey "[Interface]
PrivateKey = c2hvcnQ=
ListenPort = 51820"

bad_config_key allowed_ips 7 AllowedIPs "[Interface]
PrivateKey = $k_priv
ListenPort = 51820

[Peer]
PublicKey = $peer_pub
AllowedIPs = 10.77.0.300/32"

bad_config_key endpoint 6 Endpoint "[Interface]
PrivateKey = $k_priv

[Peer]
PublicKey = $peer_pub
Endpoint = 192.0.2.2
AllowedIPs = 10.77.0.2/32"

bad_config_key unknown_key 4 Colour "[Interface]
PrivateKey = $k_priv
ListenPort = 51820
Colour = blue"

bad_config_key unknown_section 4 Peers "[Interface]
PrivateKey = $k_priv

[Peers]
PublicKey = $peer_pub"

expect_failure "a missing config file is named" "$pub/absent\\.conf" \
  ip netns exec "$X" "$TERN" up --config "$pub/absent.conf" --interface "$(iface_name x)"

step "tern up without the privileges it needs"
expect_failure "as user nobody: names root or CAP_NET_ADMIN" 'root|CAP_NET_ADMIN' \
  ip netns exec "$X" setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$pub/tern" up --config "$good" --interface "$(iface_name x)"

step "tern up without /dev/net/tun"
# shellcheck disable=SC2016 # expanded by the inner sh
expect_failure "a private tmpfs over /dev/net: names /dev/net/tun" '/dev/net/tun' \
  ip netns exec "$X" unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$0" "$@"' \
  "$TERN" up --config "$good" --interface "$(iface_name x)"

step "tern genkey and tern pubkey"
check "tern genkey prints a base64 X25519 private key"
key=$(timeout 10 "$TERN" genkey) || fail "tern genkey failed"
[[ $key =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "tern genkey printed '$key', not 44 characters of base64"
key2=$(timeout 10 "$TERN" genkey)
[ "$key" != "$key2" ] || fail "tern genkey printed the same key twice"
ok "$(printf '%s' "$key" | cut -c1-8)... (and a different one the second time)"
check "tern genkey | tern pubkey equals wg pubkey of the same key"
mine=$(printf '%s\n' "$key" | timeout 10 "$TERN" pubkey) || fail "tern pubkey failed"
theirs=$(printf '%s\n' "$key" | wg pubkey) || fail "wg pubkey rejects tern genkey's key '$key'"
[ "$mine" = "$theirs" ] || fail "tern pubkey says $mine, wg pubkey says $theirs"
ok "$mine"
check "wg genkey | tern pubkey equals wg pubkey"
wkey=$(wg genkey)
mine=$(printf '%s\n' "$wkey" | timeout 10 "$TERN" pubkey) || fail "tern pubkey failed on wg's key"
[ "$mine" = "$(printf '%s\n' "$wkey" | wg pubkey)" ] || fail "tern pubkey disagrees with wg on wg's key"
ok "$mine"
check "tern pubkey rejects what is not a key"
if printf 'not a key\n' | timeout 10 "$TERN" pubkey >/dev/null 2>&1; then
  fail "tern pubkey accepted 'not a key'"
fi
ok "rejected"
printf '\nPASS: cli_errors\n'
