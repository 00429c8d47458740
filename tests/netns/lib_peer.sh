# shellcheck shell=bash
# Part of tests/netns/lib.sh (which sources it): keys, wg-quick config files, and the agents
# that serve a tunnel (tern, or wireguard-go configured the way wg-quick would).

declare -gA TERN_IFACE_NS=()    # iface -> namespace
declare -gA TERN_IFACE_PID=()   # iface -> pid of its agent
declare -gA TERN_IFACE_IMPL=()  # iface -> implementation

# wg_in NS ARGS...: wg inside NS, bounded: a hung agent must not hang the script.
wg_in() {
  local ns=$1
  shift
  ip netns exec "$ns" timeout 10 wg "$@"
}

# ---- keys and configuration ----------------------------------------------------------------

# keypair: prints "PRIVATE PUBLIC" (wg's own tools, so the harness does not depend on tern).
#   read -r a_priv a_pub < <(keypair)
keypair() {
  local priv
  priv=$(wg genkey)
  printf '%s %s\n' "$priv" "$(printf '%s' "$priv" | wg pubkey)"
}

iface_name() { printf '%s%s' "$1" "$$"; }

# conf_interface FILE PRIVATE_KEY LISTEN_PORT ADDRESSES MTU
conf_interface() {
  cat >"$1" <<EOF
[Interface]
PrivateKey = $2
ListenPort = $3
Address = $4
MTU = $5
EOF
}

# conf_peer FILE PUBLIC_KEY ALLOWED_IPS [ENDPOINT] [PERSISTENT_KEEPALIVE] [PRESHARED_KEY]
conf_peer() {
  {
    printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n' "$2" "$3"
    [ -z "${4:-}" ] || printf 'Endpoint = %s\n' "$4"
    [ -z "${5:-}" ] || printf 'PersistentKeepalive = %s\n' "$5"
    [ -z "${6:-}" ] || printf 'PresharedKey = %s\n' "$6"
  } >>"$1"
}

# conf_values FILE KEY: every value of KEY (case-insensitive), one list item per line.
conf_values() {
  awk -v key="${2,,}" '
    { sub(/#.*/, "") }
    /=/ {
      k = $0; sub(/=.*/, "", k); gsub(/[ \t]/, "", k)
      v = $0; sub(/^[^=]*=/, "", v); gsub(/[ \t]/, "", v)
      if (tolower(k) == key) { n = split(v, items, ","); for (i = 1; i <= n; i++) if (items[i] != "") print items[i] }
    }' "$1"
}

# conf_strip FILE: the config without wg-quick's own keys, as `wg setconf` wants it.
conf_strip() {
  awk '
    { line = $0; sub(/#.*/, "", line) }
    line ~ /=/ {
      k = line; sub(/=.*/, "", k); gsub(/[ \t]/, "", k); k = tolower(k)
      if (k ~ /^(address|mtu|dns|table|preup|postup|predown|postdown|saveconfig)$/) next
    }
    { print }' "$1"
}

ip_family() { case $1 in *:*) echo -6 ;; *) echo -4 ;; esac; }

# wgquick_apply NS IFACE FILE: what wg-quick up does once the userspace daemon runs.
wgquick_apply() {
  local ns=$1 iface=$2 file=$3 a mtu p
  conf_strip "$file" >"$TERN_WORK/$iface.setconf"
  wg_in "$ns" setconf "$iface" "$TERN_WORK/$iface.setconf"
  while read -r a; do
    ip -n "$ns" "$(ip_family "$a")" addr add "$a" dev "$iface"
  done < <(conf_values "$file" Address)
  mtu=$(conf_values "$file" MTU | tail -n 1)
  ip -n "$ns" link set "$iface" mtu "${mtu:-1420}" up
  while read -r p; do
    ip -n "$ns" "$(ip_family "$p")" route replace "$p" dev "$iface"
  done < <(conf_values "$file" AllowedIPs)
}

# ---- agents --------------------------------------------------------------------------------

peer_ready() {
  local ns=$1 iface=$2 pid=$3
  kill -0 "$pid" 2>/dev/null ||
    fail "the agent for $iface exited during startup; its last words: $(tail -n 5 "$TERN_WORK/$iface.log")"
  [ -S "$TERN_RUN_DIR/$iface.sock" ] && ip netns exec "$ns" timeout 5 wg show "$iface" >/dev/null 2>&1
}

# peer_verify NS IFACE FILE: the interface looks as wg-quick would have left it.
peer_verify() {
  local ns=$1 iface=$2 file=$3 a p mtu want_mtu
  # grep reads here-strings, not pipes: with pipefail, grep -q quitting early fails the pipe.
  grep -q ',UP' <<<"$(ip -n "$ns" link show "$iface")" || fail "$iface in $ns is not up"
  mtu=$(ip -n "$ns" -o link show "$iface" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
  want_mtu=$(conf_values "$file" MTU | tail -n 1)
  [ "$mtu" = "${want_mtu:-1420}" ] || fail "$iface has MTU $mtu, config says ${want_mtu:-1420}"
  while read -r a; do
    grep -qF " $a " <<<"$(ip -n "$ns" -o addr show dev "$iface")" || fail "$iface lacks address $a"
  done < <(conf_values "$file" Address)
  while read -r p; do
    [ -n "$(ip -n "$ns" "$(ip_family "$p")" route show dev "$iface" match "$p")" ] ||
      fail "$iface has no route covering AllowedIPs $p"
  done < <(conf_values "$file" AllowedIPs)
}

# peer_up NS IFACE FILE IMPL: starts the agent, waits until `wg show` answers, checks the interface.
peer_up() {
  local ns=$1 iface=$2 file=$3 impl=$4 pid bin
  need_impl "$impl"
  case $impl in
    tern)
      ip netns exec "$ns" timeout "$TERN_PROCESS_LIFETIME" \
        "$TERN" up --config "$file" --interface "$iface" >"$TERN_WORK/$iface.log" 2>&1 &
      ;;
    wireguard-go*)
      bin=${WIREGUARD_GO:-wireguard-go}
      [ "$impl" = wireguard-go ] || bin=${impl#wireguard-go:}
      ip netns exec "$ns" timeout "$TERN_PROCESS_LIFETIME" \
        env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose "$bin" "$iface" >"$TERN_WORK/$iface.log" 2>&1 &
      ;;
  esac
  pid=$!
  track_pid "$pid"
  printf '%s %s %s\n' "$iface" "$ns" "$impl" >>"$TERN_WORK/ifaces"
  TERN_IFACE_NS[$iface]=$ns
  TERN_IFACE_PID[$iface]=$pid
  TERN_IFACE_IMPL[$iface]=$impl
  wait_until 30 "$impl to serve $TERN_RUN_DIR/$iface.sock in $ns" peer_ready "$ns" "$iface" "$pid"
  [ "$impl" = tern ] || wgquick_apply "$ns" "$iface" "$file"
  peer_verify "$ns" "$iface" "$file"
  ok "$impl runs $iface in $ns (pid $pid): $(conf_values "$file" Address | paste -sd, -)," \
    "mtu $(ip -n "$ns" -o link show "$iface" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')," \
    "port $(wg_in "$ns" show "$iface" listen-port)"
}

peer_alive() { kill -0 "${TERN_IFACE_PID[$1]}" 2>/dev/null; }

link_gone() { ! ip -n "$1" link show "$2" >/dev/null 2>&1; }

# peer_down IFACE: SIGTERM to the agent; it must exit and take its interface with it.
peer_down() {
  local iface=$1 ns=${TERN_IFACE_NS[$1]} pid=${TERN_IFACE_PID[$1]}
  check "${TERN_IFACE_IMPL[$iface]} on $iface exits on SIGTERM and removes $iface"
  kill -TERM "$pid" 2>/dev/null || fail "the agent for $iface had already exited"
  wait_until 15 "the agent for $iface to exit after SIGTERM" eval "! kill -0 $pid 2>/dev/null"
  wait "$pid" 2>/dev/null || true
  wait_until 5 "$iface to disappear from $ns after its agent exited" link_gone "$ns" "$iface"
  ok "$iface is gone"
}
