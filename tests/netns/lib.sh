# shellcheck shell=bash
# Shared helpers for tern's network-namespace scenarios, scripts/demo.sh and bench/throughput.sh.
# A script sources this file and calls netns_init. Everything created here carries the script's
# PID in its name (namespaces tern-<name>-$$, interfaces <x>$$) and the EXIT trap removes it:
# processes by PID, namespaces, UAPI sockets, the work directory. Nothing touches the host's
# own network namespace.
#
# A side of a tunnel is an "implementation":
#   tern                  $TERN up --config FILE --interface IFACE
#   wireguard-go          Debian's wireguard-go ($WIREGUARD_GO, default: wireguard-go in PATH),
#                         configured with wg and ip the way wg-quick would
#   wireguard-go:/path    another wireguard-go build, run and configured the same way

TERN_RUN_DIR=/var/run/wireguard
# Upper bound on the life of anything started here, even if this script is killed with SIGKILL.
TERN_PROCESS_LIFETIME=${TERN_PROCESS_LIFETIME:-900}

# What this script created is listed in files under $TERN_WORK, one item a line, so that
# subshells can create things too and the EXIT trap still finds them all:
#   pids        processes this script started, in start order
#   namespaces  namespaces this script created
#   ifaces      "IFACE NAMESPACE IMPLEMENTATION" per agent (their UAPI sockets are ours)
declare -A TERN_IFACE_NS=()    # iface -> namespace
declare -A TERN_IFACE_PID=()   # iface -> pid of its agent
declare -A TERN_IFACE_IMPL=()  # iface -> implementation
TERN_WORK=""
TERN_PORT_NEXT=40001

# ---- output --------------------------------------------------------------------------------

step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
check() { printf '   check: %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
  printf '\nFAIL: %s\n' "$*" >&2
  [ -z "$TERN_WORK" ] || printf '%s\n' "$*" >"$TERN_WORK/last_failure"
  exit 1
}
skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}

# ---- preconditions -------------------------------------------------------------------------

need_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, TUN devices)"
}

need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || skip "required tool '$t' is missing (scripts/install-deps.sh)"
  done
}

# Fails with 77 unless the implementation can run here.
need_impl() {
  local impl=$1
  case $impl in
    tern)
      [ -n "${TERN:-}" ] || skip "TERN is not set (ctest sets it; or TERN=/path/to/tern $0)"
      [ -x "$TERN" ] || skip "TERN=$TERN is not an executable file (build tern first)"
      ;;
    wireguard-go)
      command -v "${WIREGUARD_GO:-wireguard-go}" >/dev/null 2>&1 ||
        skip "wireguard-go is missing (scripts/install-deps.sh)"
      ;;
    wireguard-go:*)
      [ -x "${impl#wireguard-go:}" ] || skip "${impl#wireguard-go:} is not an executable file"
      ;;
    *) fail "unknown implementation '$impl' (tern, wireguard-go or wireguard-go:/path)" ;;
  esac
  [ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
}

# ---- lifecycle -----------------------------------------------------------------------------

netns_init() {
  set -E
  need_root
  need_tools ip wg nft nc ping ss timeout sha256sum head
  TERN_WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-netns.$$.XXXXXX")
  : >"$TERN_WORK/pids"
  : >"$TERN_WORK/namespaces"
  : >"$TERN_WORK/ifaces"
  trap netns_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'netns_on_error $LINENO "$BASH_COMMAND"' ERR
}

netns_on_error() {
  printf '\nFAIL: command failed at line %s: %s\n' "$1" "$2" >&2
}

# run_isolated CMD...: runs CMD in a subshell under set -e, so that its failure (a fail, or
# any failing command) ends only CMD. Its exit status lands in TERN_ISOLATED_RC. Call it as a
# plain statement: inside `if` or `||`, bash would ignore set -e within CMD.
run_isolated() {
  trap - ERR
  set +e
  (
    set -e
    trap 'netns_on_error $LINENO "$BASH_COMMAND"' ERR
    "$@"
  )
  # shellcheck disable=SC2034 # read by the caller
  TERN_ISOLATED_RC=$?
  set -e
  trap 'netns_on_error $LINENO "$BASH_COMMAND"' ERR
}

netns_dump_diagnostics() {
  local iface ns impl
  while read -r iface ns impl; do
    printf '\n--- %s in %s (%s) ---\n' "$iface" "$ns" "$impl" >&2
    ip netns exec "$ns" timeout 5 wg show "$iface" >&2 2>/dev/null || true
    if [ -f "$TERN_WORK/$iface.log" ]; then
      printf -- '--- last lines of its log ---\n' >&2
      tail -n 25 "$TERN_WORK/$iface.log" >&2 || true
    fi
  done <"$TERN_WORK/ifaces"
}

netns_cleanup() {
  local rc=$? pid ns iface deadline alive pids=() i
  trap - ERR INT TERM
  set +e
  [ -n "$TERN_WORK" ] || exit "$rc"
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    netns_dump_diagnostics
  fi
  mapfile -t pids <"$TERN_WORK/pids"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null
  done
  deadline=$((SECONDS + 10))
  while :; do
    alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [ ${#alive[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      printf 'cleanup: killing %s, still running after SIGTERM\n' "${alive[*]}" >&2
      kill -KILL "${alive[@]}" 2>/dev/null
      break
    fi
    sleep 0.1
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  while read -r ns; do ip netns del "$ns" 2>/dev/null; done <"$TERN_WORK/namespaces"
  while read -r iface _; do rm -f "$TERN_RUN_DIR/$iface.sock"; done <"$TERN_WORK/ifaces"
  rm -rf "$TERN_WORK"
  exit "$rc"
}

track_pid() { printf '%s\n' "$1" >>"$TERN_WORK/pids"; }

# wait_until SECONDS WHAT CMD...: polls CMD until it succeeds; fails naming WHAT at the deadline.
wait_until() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

# ---- topology ------------------------------------------------------------------------------

# ns_create VAR: creates namespace tern-<var>-$$ (lower case), stores its name in VAR.
ns_create() {
  local var=$1 name
  name="tern-${var,,}-$$"
  ip netns add "$name" || skip "cannot create network namespaces here"
  printf '%s\n' "$name" >>"$TERN_WORK/namespaces"
  ip -n "$name" link set lo up
  # No namespace is ever routed to the host's uplink: it has no route but what we add.
  ip netns exec "$name" sysctl -qw net.ipv4.ip_forward=0
  # Overlay IPv6 addresses are usable at once instead of after duplicate address detection.
  ip netns exec "$name" sysctl -qw net.ipv6.conf.default.accept_dad=0 2>/dev/null || true
  printf -v "$var" '%s' "$name"
}

# veth NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: one veth pair straight between two namespaces.
veth() {
  local ns1=$1 if1=$2 a1=$3 ns2=$4 if2=$5 a2=$6
  ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2"
  ip -n "$ns1" addr add "$a1" dev "$if1"
  ip -n "$ns2" addr add "$a2" dev "$if2"
  ip -n "$ns1" link set "$if1" up
  ip -n "$ns2" link set "$if2" up
}

router_enable() { ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1; }

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
  ip netns exec "$ns" wg setconf "$iface" "$TERN_WORK/$iface.setconf"
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
  ip -n "$ns" link show "$iface" | grep -q ',UP' || fail "$iface in $ns is not up"
  mtu=$(ip -n "$ns" -o link show "$iface" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
  want_mtu=$(conf_values "$file" MTU | tail -n 1)
  [ "$mtu" = "${want_mtu:-1420}" ] || fail "$iface has MTU $mtu, config says ${want_mtu:-1420}"
  while read -r a; do
    ip -n "$ns" -o addr show dev "$iface" | grep -qF " $a " || fail "$iface lacks address $a"
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
    "port $(ip netns exec "$ns" wg show "$iface" listen-port)"
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

# ---- checks --------------------------------------------------------------------------------

has_handshake() {
  ip netns exec "$1" wg show "$2" latest-handshakes | awk '$2 > 0 { found = 1 } END { exit !found }'
}

# wait_handshake NS IFACE [SECONDS]
wait_handshake() {
  check "$2 in $1 completes a handshake"
  wait_until "${3:-30}" "a handshake on $2 in $1 (wg show $2 latest-handshakes stays 0)" \
    has_handshake "$1" "$2"
  ok "handshake on $2"
}

# ping_check NS DST [COUNT] [MIN_REPLIES] [SECONDS]: the first reply may take a handshake.
ping_check() {
  local ns=$1 dst=$2 count=${3:-5} min=${4:-${3:-5}} secs=${5:-30} out got
  check "ping $dst from $ns"
  wait_until "$secs" "a first ping reply from $dst in $ns" \
    ip netns exec "$ns" ping -n -q -c 1 -W 1 "$dst" >/dev/null
  out=$(ip netns exec "$ns" timeout 60 ping -n -q -c "$count" -i 0.2 -W 2 "$dst" || true)
  got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
  [ "${got:-0}" -ge "$min" ] || fail "ping $dst from $ns: ${got:-0} of $count replies (want >= $min)"
  ok "ping $dst: $got/$count replies, $(printf '%s\n' "$out" | sed -n 's/^rtt /rtt /p')"
}

next_port() {
  TERN_PORT=$TERN_PORT_NEXT
  TERN_PORT_NEXT=$((TERN_PORT_NEXT + 1))
}

listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]; }

# transfer_begin FROM_NS TO_NS TO_ADDR MB [SECONDS]: starts a checksummed TCP transfer of MB
# random mebibytes through whatever route leads to TO_ADDR. transfer_finish waits for it.
transfer_begin() {
  local from=$1 to=$2 addr=$3 mb=$4 secs=${5:-120}
  next_port
  XFER_ADDR=$addr XFER_MB=$mb XFER_SECS=$secs
  XFER_DATA="$TERN_WORK/data.$TERN_PORT"
  head -c "${mb}M" /dev/urandom >"$XFER_DATA"
  XFER_SUM=$(sha256sum <"$XFER_DATA" | cut -d' ' -f1)
  check "TCP transfer of $mb MiB $from -> $addr (sha256 ${XFER_SUM:0:16}...)"
  # One process tree under timeout, so killing $XFER_RX_PID ends nc and sha256sum too.
  # shellcheck disable=SC2016 # expanded by sh -c
  ip netns exec "$to" timeout "$secs" sh -c 'nc -l "$1" "$2" | sha256sum' sh "$addr" "$TERN_PORT" \
    >"$XFER_DATA.rx.sha" 2>"$XFER_DATA.rx.err" &
  XFER_RX_PID=$!
  track_pid "$XFER_RX_PID"
  wait_until 10 "nc to listen on $addr:$TERN_PORT in $to" listening "$to" "$TERN_PORT"
  XFER_START=$(date +%s.%N)
  ip netns exec "$from" timeout "$secs" nc -N "$addr" "$TERN_PORT" <"$XFER_DATA" \
    2>"$XFER_DATA.tx.err" &
  XFER_TX_PID=$!
  track_pid "$XFER_TX_PID"
}

transfer_running() { kill -0 "$XFER_RX_PID" 2>/dev/null; }

transfer_finish() {
  local tx_rc=0 rx_sum elapsed
  wait "$XFER_TX_PID" || tx_rc=$?
  wait "$XFER_RX_PID" || true
  elapsed=$(awk -v a="$(date +%s.%N)" -v b="$XFER_START" 'BEGIN { print a - b }')
  rx_sum=$(cut -d' ' -f1 <"$XFER_DATA.rx.sha")
  [ "$tx_rc" -ne 124 ] || fail "TCP transfer to $XFER_ADDR: not finished after ${XFER_SECS}s"
  [ "$tx_rc" -eq 0 ] || fail "TCP transfer to $XFER_ADDR: sender nc exited $tx_rc: $(cat "$XFER_DATA.tx.err")"
  [ "$rx_sum" = "$XFER_SUM" ] ||
    fail "TCP transfer to $XFER_ADDR: received data has sha256 ${rx_sum:0:16}..., sent ${XFER_SUM:0:16}..."
  XFER_RATE=$(awk -v mb="$XFER_MB" -v s="$elapsed" 'BEGIN { printf "%.1f", mb * 8 * 1.048576 / s }')
  XFER_ELAPSED=$(awk -v s="$elapsed" 'BEGIN { printf "%.2f", s }')
  ok "$XFER_MB MiB arrived intact in ${XFER_ELAPSED}s ($XFER_RATE Mbit/s)"
  rm -f "$XFER_DATA"
}

transfer_check() {
  transfer_begin "$@"
  transfer_finish
}

# ---- impairments ---------------------------------------------------------------------------

# loss_forward NS PERCENT: drops PERCENT % of everything NS forwards, each direction.
loss_forward() {
  ip netns exec "$1" nft -f - <<EOF
table inet tern_loss {
  chain forward {
    type filter hook forward priority 0; policy accept;
    numgen random mod 100 < $2 counter drop
  }
}
EOF
}

# loss_iface NS IFACE PERCENT: drops PERCENT % of what enters and what leaves IFACE in NS.
loss_iface() {
  ip netns exec "$1" nft -f - <<EOF
table inet tern_loss_$2 {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "$2" numgen random mod 100 < $3 counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "$2" numgen random mod 100 < $3 counter drop
  }
}
EOF
}

# loss_dropped NS: packets the loss rules of NS dropped so far.
loss_dropped() {
  ip netns exec "$1" nft list ruleset |
    awk '/numgen random/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}
