#!/usr/bin/env bash
# `tern doctor nat` and `tern doctor relay` against hostile or broken STUN/TURN servers
# (issue 6 §5): tests/tools/hostile_stun answers every request wrongly in one way per mode
# (garbage, truncated, bad attributes, a 65,000-byte datagram, the wrong source port, the wrong
# transaction ID, an error flood), or not at all (silent, the twin). The doctor must end with a
# finding (exit 1, valid JSON) or an error (exit 2) within its bound: never a timeout, a signal or
# a sanitizer abort. A server that answered with our transaction ID but never usably is named as
# at fault (stun_server_fault, relay_server_fault); a silent one stays unreachable (a firewall
# may be the cause).
#
#  +---------------------------+        +---------------------------+
#  | ns tern-c-PID             |        | ns tern-s-PID             |
#  |  hc-PID 10.9.0.2/24 ------+--veth--+- hs-PID 10.9.0.1/24       |
#  |  tern doctor nat / relay  |        |  hostile_stun per mode on |
#  +---------------------------+        |  3478+i (all hostile) and |
#                                       |  3578+i (--binding-ok)    |
#                                       +---------------------------+
# Needs TERN_TOOLS (hostile_stun) besides TERN.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools jq
hostile=${TERN_TOOLS:-}/hostile_stun
[ -x "$hostile" ] || skip "TERN_TOOLS/hostile_stun is missing (build the tests/tools programs)"

MODES=(garbage truncated bad_attrs oversized wrong_source wrong_txid error_flood silent)
# Each doctor run gets this long; its own retransmissions give up well before.
BOUND=${DOCTOR_HOSTILE_BOUND:-45}
# Modes run this many at a time (each is one nat and one relay run).
PARALLEL=${DOCTOR_HOSTILE_PARALLEL:-4}

step "topology: client and server namespaces"
ns_create C
ns_create S
veth "$C" "hc$$" 10.9.0.2/24 "$S" "hs$$" 10.9.0.1/24

# Modes whose server `tern doctor --relay` (every check) also meets, with the NAT check and the
# relay check on the same host:port: one dead server must be one finding.
ALL_MODES=" truncated silent "

# run_mode I MODE: two servers and three doctor runs in parallel (four for ALL_MODES), into
# $TERN_WORK/MODE.{nat,relay,allocate,all}.*
run_mode() {
  local i=$1 mode=$2 port=$((3478 + $1)) out="$TERN_WORK/$2"
  ip netns exec "$S" "$hostile" --listen "10.9.0.1:$port" --mode "$mode" \
    --seconds $((BOUND + 15)) --seed "$((i + 1))" 2>"$out.server" &
  track_pid $!
  local t0=$SECONDS
  (
    rc=0
    ip netns exec "$C" timeout "$BOUND" "$TERN" doctor nat --stun "stun:10.9.0.1:$port" --quick \
      --json >"$out.nat.json" 2>"$out.nat.err" || rc=$?
    echo "$rc $((SECONDS - t0))" >"$out.nat.rc"
  ) &
  local nat=$!
  # A second server answers Binding correctly: the relay check goes on to Allocate and meets the
  # hostile answers there.
  ip netns exec "$S" "$hostile" --listen "10.9.0.1:$((port + 100))" --mode "$mode" \
    --seconds $((BOUND + 15)) --seed "$((i + 1))" --binding-ok 2>"$out.server2" &
  track_pid $!
  (
    rc=0
    ip netns exec "$C" timeout "$BOUND" "$TERN" doctor relay "turn:10.9.0.1:$((port + 100))" \
      --user u --password p --duration 1s --largest-search 0 --rate-steps 1 --json \
      >"$out.allocate.json" 2>"$out.allocate.err" || rc=$?
    echo "$rc $((SECONDS - t0))" >"$out.allocate.rc"
  ) &
  local allocate=$!
  (
    rc=0
    ip netns exec "$C" timeout "$BOUND" "$TERN" doctor relay "turn:10.9.0.1:$port" --user u \
      --password p --duration 1s --largest-search 0 --rate-steps 1 --json \
      >"$out.relay.json" 2>"$out.relay.err" || rc=$?
    echo "$rc $((SECONDS - t0))" >"$out.relay.rc"
  ) &
  local relay=$!
  local all=$relay
  if [[ $ALL_MODES == *" $mode "* ]]; then
    (
      rc=0
      ip netns exec "$C" timeout "$BOUND" "$TERN" doctor --relay "turn:10.9.0.1:$port" --user u \
        --password p --quick --no-ping --duration 1s --json >"$out.all.json" \
        2>"$out.all.err" || rc=$?
      echo "$rc $((SECONDS - t0))" >"$out.all.rc"
    ) &
    all=$!
  fi
  wait "$nat" "$relay" "$allocate" "$all"
}

# judge_all MODE WANT: `tern doctor` folded the NAT check's and the relay check's failure on the
# one server into a single finding, WANT.
judge_all() {
  local mode=$1 want=$2 out="$TERN_WORK/$1.all" rc secs codes
  read -r rc secs <"$out.rc"
  [ "$rc" -eq 1 ] || { tail -n 20 "$out.err" >&2; fail "$mode: tern doctor exit status $rc"; }
  ! grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$out.err" ||
    fail "$mode: tern doctor: sanitizer report"
  codes=$(jq -r '[.findings[].code] | join(",")' "$out.json")
  [ "$codes" = "$want" ] || fail "$mode: tern doctor said '$codes', want only $want"
  jq -e '.findings[0].message | test("check failed on the same server")' "$out.json" \
    >/dev/null || fail "$mode: tern doctor's finding does not say what it folded"
  printf '%-13s %-8s exit %s in %3s s  %s\n' "$mode" all "$rc" "$secs" "$codes" \
    >>"$TERN_WORK/table"
  ok "$mode tern doctor: one finding, $codes, in ${secs} s"
}

# judge MODE KIND: the exit status, the JSON, the finding codes.
judge() {
  local mode=$1 kind=$2 out="$TERN_WORK/$1.$2" rc secs codes
  read -r rc secs <"$out.rc"
  if [ "$rc" -ge 124 ]; then
    printf '   stderr of %s %s:\n' "$kind" "$mode" >&2
    tail -n 30 "$out.err" >&2
    fail "$mode: doctor $kind exit status $rc after ${secs} s (timeout, signal or crash)"
  fi
  # A sanitizer build reports with exit status 1, like a finding: its report is the tell.
  if grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$out.err"; then
    grep -m 5 -E "Sanitizer|runtime error:" "$out.err" >&2
    fail "$mode: doctor $kind: sanitizer report (exit $rc)"
  fi
  case $rc in
    0 | 1)
      [ "$rc" -eq 1 ] || [ "$mode" = oversized ] ||
        fail "$mode: doctor $kind exit status 0: it accepted a hostile answer"
      jq -e . "$out.json" >/dev/null 2>&1 ||
        fail "$mode: doctor $kind exit $rc without valid JSON: $(head -c 300 "$out.json")"
      codes=$(jq -r '[.. | objects | select(has("code")) | .code] | unique | join(",")' \
        "$out.json")
      ;;
    2) codes="error: $(tail -n 1 "$out.err")" ;;
    *) fail "$mode: doctor $kind exit status $rc against a hostile server (want 1 or 2)" ;;
  esac
  [ "$secs" -le "$BOUND" ] || fail "$mode: doctor $kind took ${secs} s, bound ${BOUND} s"
  # A server that answered with our transaction ID (malformed, an error, or from another port)
  # is broken, not firewalled: the NAT check must not send the operator to the firewall.
  # The same for the relay check, at the Binding (relay) and at the Allocate (allocate); a silent
  # server still points at the firewall.
  local want=""
  case "$kind:$mode" in
    nat:truncated | nat:bad_attrs | nat:wrong_source | nat:error_flood) want=stun_server_fault ;;
    relay:truncated | relay:wrong_source | relay:error_flood) want=relay_server_fault ;;
    allocate:truncated | allocate:wrong_source | allocate:error_flood) want=relay_server_fault ;;
    # A success that parses but lacks what TURN needs (XOR-RELAYED-ADDRESS): not a TURN server.
    relay:bad_attrs | relay:oversized | allocate:bad_attrs | allocate:oversized)
      want="relay_protocol|relay_server_fault"
      ;;
    nat:silent) want=stun_unreachable ;;
    relay:silent) want=relay_unreachable ;;
    allocate:silent) want=relay_timeout ;;
  esac
  [ -z "$want" ] || [[ "$codes" =~ ^($want)$ ]] ||
    fail "$mode: doctor $kind said '$codes', want $want"
  printf '%-13s %-8s exit %s in %3s s  %s\n' "$mode" "$kind" "$rc" "$secs" "$codes" \
    >>"$TERN_WORK/table"
  ok "$mode $kind: exit $rc in ${secs} s: $codes"
}

: >"$TERN_WORK/table"
for ((first = 0; first < ${#MODES[@]}; first += PARALLEL)); do
  step "modes ${MODES[*]:first:PARALLEL}"
  pids=()
  for ((i = first; i < first + PARALLEL && i < ${#MODES[@]}; i++)); do
    run_mode "$i" "${MODES[i]}" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for ((i = first; i < first + PARALLEL && i < ${#MODES[@]}; i++)); do
    judge "${MODES[i]}" nat
    judge "${MODES[i]}" relay
    judge "${MODES[i]}" allocate
    case ${MODES[i]} in
      truncated) judge_all truncated relay_server_fault ;;
      silent) judge_all silent relay_unreachable ;;
    esac
  done
done

step "every hostile server met a finding or an error, in bound"
cat "$TERN_WORK/table"
