# shellcheck shell=bash
# Shared helpers for tern's network-namespace scenarios, scripts/demo.sh and bench/throughput.sh.
# A script sources this file and calls netns_init. Everything created here carries the script's
# PID in its name (namespaces tern-<name>-$$, interfaces <x>$$) and the EXIT trap removes it:
# processes by PID, namespaces, UAPI sockets, the work directory. Nothing touches the host's
# own network namespace. Its parts: this file (output, preconditions, lifecycle, topology),
# lib_peer.sh (keys, configs, agents) and lib_traffic.sh (checks through a tunnel, loss).
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

# shellcheck source=lib_peer.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_peer.sh"
# shellcheck source=lib_traffic.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_traffic.sh"
