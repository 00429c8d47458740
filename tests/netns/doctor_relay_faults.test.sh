#!/usr/bin/env bash
# Relay deployments that half work, against a real coturn behind a 1:1 NAT: `tern doctor relay
# --json` must name each fault by its cause code, and the same coturn set up right must get no
# finding and exit 0 (false alarms are defects too).
#   healthy        external-ip set, relay ports open, fresh REST credentials -> no finding
#   rest_expired   a REST username that expired 100 s ago, signed with the right secret
#   relay_ports_blocked    nftables on the relay drops UDP to its relay port range (and the
#                          lint run on the relay names the rule: coturn_ports_firewalled)
#   rest_wrong_secret      a NetBird management.json whose TURNConfig.Secret is not coturn's
#                          (its twin, with the right Secret, gets no finding)
#   relay_bandwidth_cap    coturn restarted with max-bps: loss grows from --rate to 16x it
#   relay_permission_refused  coturn restarted with denied-peer-ip covering the doctor's peer
#   relay_address_private  coturn restarted without external-ip: it hands out 10.1.0.2
# With --coturn-config the doctor also lints the file coturn runs with (external-ip missing).
# `tern doctor --relay URL` (every check at once) carries the relay's findings into its own
# --json with their codes: none for the healthy relay, relay_ports_blocked for the firewalled one.
#
#  +-------------------------+      +-----------------------------+      +-------------------------+
#  | ns tern-c-PID (doctor)  |      | ns tern-r-PID (1:1 NAT)     |      | ns tern-s-PID (coturn)  |
#  |  c0 198.51.100.2/24 ----+------+- r0 198.51.100.1/24         |      |  turnserver -c FILE     |
#  |  route 192.0.2.0/24     |      |  192.0.2.2 <-> 10.1.0.2     |      |  relay 49152-49352      |
#  |  only (no private nets) |      |  r1 10.1.0.1/24 ------------+------+- s0 10.1.0.2/24         |
#  +-------------------------+      +-----------------------------+      +-------------------------+
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
netns_init
need_impl tern
need_tools turnserver jq nft openssl
SECRET=faults-secret-$$
PUBLIC=192.0.2.2
PRIVATE=10.1.0.2
# Bytes per second a session may relay: the first rate step (50/s of 1200 bytes) fits, 4x does not.
CAP_BPS=150000

step "topology: doctor -> 1:1 NAT router -> coturn on a private address"
ns_create C
ns_create R
ns_create S
veth "$C" c0 198.51.100.2/24 "$R" r0 198.51.100.1/24
veth "$R" r1 10.1.0.1/24 "$S" s0 $PRIVATE/24
router_enable "$R"
# The doctor's side knows only the public address: the internet does not route 10.0.0.0/8.
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$S" route add default via 10.1.0.1
ip netns exec "$R" nft -f - <<NFT
table ip tern_nat {
  chain prerouting { type nat hook prerouting priority -100; ip daddr $PUBLIC dnat to $PRIVATE; }
  chain postrouting { type nat hook postrouting priority 100; ip saddr $PRIVATE oifname "r0" snat to $PUBLIC; }
}
NFT

udp_listening() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :$2")" ]; }

# coturn_start CONF: turnserver in S with the config file CONF.
COTURN_PID=""
coturn_start() {
  ip netns exec "$S" timeout "$TERN_PROCESS_LIFETIME" turnserver -c "$1" --log-file stdout \
    >"$1.log" 2>&1 &
  COTURN_PID=$!
  track_pid "$COTURN_PID"
  wait_until 10 "turnserver listening on udp/3478" udp_listening "$S" 3478
}
coturn_stop() {
  kill -TERM "$COTURN_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$COTURN_PID" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -KILL "$COTURN_PID" 2>/dev/null || true; break; }
    sleep 0.1
  done
}
# write_conf FILE [EXTRA...]: the deployment's turnserver.conf, plus EXTRA lines.
write_conf() {
  local file=$1
  shift
  {
    printf '%s\n' "listening-ip=$PRIVATE" "relay-ip=$PRIVATE" "listening-port=3478" \
      "min-port=49152" "max-port=49352" "realm=tern.test" "use-auth-secret" \
      "static-auth-secret=$SECRET" "fingerprint" "no-tls" "no-dtls" "no-cli"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$file"
}

# doctor OUT ARGS...: `tern doctor relay --json` in C (bounded); its status in DOCTOR_RC.
DOCTOR_RC=0
URL="turn:$PUBLIC:3478"
doctor() {
  local out=$1
  shift
  DOCTOR_RC=0
  # shellcheck disable=SC2086 # URL is empty or one word
  ip netns exec "$C" timeout 60 "$TERN" doctor relay $URL --duration 1s \
    --largest-search 0 --json "$@" >"$out" 2>"$out.err" || DOCTOR_RC=$?
  say "exit status $DOCTOR_RC, findings: $(jq -c '[.urls[].findings[].code] + [.config_findings[].code]' "$out" 2>/dev/null)"
}
# expect_code OUT CODE: the run failed (status 1) naming CODE.
expect_code() {
  [ "$DOCTOR_RC" -eq 1 ] || { cat "$1" "$1.err" >&2; fail "$2: status $DOCTOR_RC, expected 1"; }
  jq -e --arg c "$2" '[.urls[].findings[].code] + [.config_findings[].code] | index($c) != null' \
    "$1" >/dev/null || { cat "$1" >&2; fail "no finding $2"; }
}
# doctor_all OUT ARGS...: `tern doctor --relay URL --json` (every check; the NAT check asks the
# relay over UDP) in C, bounded; its exit status is its healthy field's.
doctor_all() {
  local out=$1
  shift
  ip netns exec "$C" timeout 60 "$TERN" doctor --relay "turn:$PUBLIC:3478" --quick --no-ping \
    --duration 1s --json "$@" >"$out" 2>"$out.err" || true
}
# all_relay_codes OUT: the relay check's codes in the one-command report.
all_relay_codes() {
  jq -c '[.findings[] | select(.check == "relay") | .code]' "$1" 2>/dev/null
}
expect_healthy() {
  [ "$DOCTOR_RC" -eq 0 ] || { cat "$1" "$1.err" >&2; fail "$2: status $DOCTOR_RC, expected 0"; }
  jq -e '.findings_count == 0 and .passed == true' "$1" >/dev/null ||
    { cat "$1" >&2; fail "$2: findings on a healthy relay"; }
}

step "healthy twin: external-ip, ports open, fresh REST credentials"
CONF_GOOD=$TERN_WORK/good.conf
write_conf "$CONF_GOOD" "external-ip=$PUBLIC/$PRIVATE"
coturn_start "$CONF_GOOD"
doctor "$TERN_WORK/healthy.json" --secret "$SECRET" --coturn-config "$CONF_GOOD"
expect_healthy "$TERN_WORK/healthy.json" "healthy relay"
jq -e --arg p "$PUBLIC:" '(.urls[0].relayed_address | startswith($p))
   and .urls[0].round_trip.loss_percent == 0 and (.urls[0].rate_steps | length) == 3
   and .urls[0].rest.accepted == true and .urls[0].rest.recently_expired_accepted == false' \
  "$TERN_WORK/healthy.json" >/dev/null ||
  { cat "$TERN_WORK/healthy.json" >&2; fail "healthy relay: figures missing"; }
say "loss by rate: $(jq -c '[.urls[0].rate_steps[] | [.rate_per_s, .loss_percent]]' "$TERN_WORK/healthy.json")"
ok "no finding, exit 0"
doctor_all "$TERN_WORK/all-healthy.json" --secret "$SECRET"
say "tern doctor --relay: findings: $(jq -c '[.findings[].code]' "$TERN_WORK/all-healthy.json" 2>/dev/null)"
jq -e '[.findings[] | select(.check == "relay")] == [] and
       ([.checks[] | select(.name == "relay")][0].ran == true)' "$TERN_WORK/all-healthy.json" \
  >/dev/null || { cat "$TERN_WORK/all-healthy.json" "$TERN_WORK/all-healthy.json.err" >&2;
  fail "tern doctor --relay: the healthy relay added findings (or did not run)"; }
ok "tern doctor --relay: the healthy relay adds no finding"

step "expired REST credential: rest_expired"
user="$(($(date +%s) - 100)):tern-doctor"
pass=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
doctor "$TERN_WORK/expired.json" --user "$user" --password "$pass"
expect_code "$TERN_WORK/expired.json" rest_expired
ok "expired REST credential named"
# Its twin: the same kind of credential, fresh.
user="$(($(date +%s) + 3600)):tern-doctor"
pass=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
doctor "$TERN_WORK/fresh.json" --user "$user" --password "$pass"
expect_healthy "$TERN_WORK/fresh.json" "fresh REST credential"
ok "fresh REST credential: no finding"

step "relay port range firewalled on the relay: relay_ports_blocked"
ip netns exec "$S" nft -f - <<'NFT'
table inet tern_relay_fw {
  chain input { type filter hook input priority 0; udp dport 49152-49352 drop; }
}
NFT
# The one-command run beside it: the same fault, named in its report.
doctor_all "$TERN_WORK/all-blocked.json" --secret "$SECRET" &
all_pid=$!
track_pid "$all_pid"
doctor "$TERN_WORK/blocked.json" --secret "$SECRET"
expect_code "$TERN_WORK/blocked.json" relay_ports_blocked
wait "$all_pid" || true
say "tern doctor --relay: relay findings $(all_relay_codes "$TERN_WORK/all-blocked.json")"
jq -e '.healthy == false and ([.findings[] | select(.check == "relay") | .code] |
    index("relay_ports_blocked") != null)' "$TERN_WORK/all-blocked.json" >/dev/null 2>&1 ||
  { cat "$TERN_WORK/all-blocked.json" "$TERN_WORK/all-blocked.json.err" >&2;
    fail "tern doctor --relay: relay_ports_blocked missing from its report"; }
jq -e '.urls[0].peer_delivered > 0 and .urls[0].round_trip.received == 0' \
  "$TERN_WORK/blocked.json" >/dev/null ||
  { cat "$TERN_WORK/blocked.json" >&2; fail "blocked ports: expected delivered probes, none back"; }
# On the relay itself, the config lint reads the firewall and names the rule.
rc=0
ip netns exec "$S" timeout 30 "$TERN" doctor relay --coturn-config "$CONF_GOOD" --json \
  >"$TERN_WORK/lint.json" 2>"$TERN_WORK/lint.err" || rc=$?
[ "$rc" -eq 1 ] && jq -e '[.config_findings[].code] == ["coturn_ports_firewalled"]' \
  "$TERN_WORK/lint.json" >/dev/null ||
  { cat "$TERN_WORK/lint.json" "$TERN_WORK/lint.err" >&2; fail "lint on the relay: status $rc, expected coturn_ports_firewalled"; }
say "lint on the relay: $(jq -r '.config_findings[0].message' "$TERN_WORK/lint.json")"
ip netns exec "$S" nft delete table inet tern_relay_fw
doctor "$TERN_WORK/open.json" --secret "$SECRET"
expect_healthy "$TERN_WORK/open.json" "relay ports open again"
ok "blocked relay ports named; open again: no finding"

step "NetBird's management.json: its TURN server with time-based credentials"
# netbird_json FILE SECRET: a management.json in NetBird's shape naming this coturn.
netbird_json() {
  cat >"$1" <<JSON
{"Stuns": [{"Proto": "udp", "URI": "stun:$PUBLIC:3478", "Username": "", "Password": null}],
 "TURNConfig": {"Turns": [{"Proto": "udp", "URI": "turn:$PUBLIC:3478", "Username": "self",
                           "Password": null}],
                "CredentialsTTL": "12h", "Secret": "$2", "TimeBasedCredentials": true},
 "Signal": {"Proto": "http", "URI": "$PUBLIC:10000", "Username": "", "Password": null}}
JSON
}
netbird_json "$TERN_WORK/nb-good.json" "$SECRET"
netbird_json "$TERN_WORK/nb-bad.json" "not-the-secret"
URL=""
doctor "$TERN_WORK/nb-good.out" --netbird-config "$TERN_WORK/nb-good.json"
expect_healthy "$TERN_WORK/nb-good.out" "NetBird config with coturn's secret"
jq -e '(.urls | length) == 2 and (.urls[1].rest.expiry_unix - .urls[1].rest.local_unix) > 43000' \
  "$TERN_WORK/nb-good.out" >/dev/null ||
  { cat "$TERN_WORK/nb-good.out" >&2; fail "NetBird: expected a STUN and a TURN check, 12 h credentials"; }
doctor "$TERN_WORK/nb-bad.out" --netbird-config "$TERN_WORK/nb-bad.json"
expect_code "$TERN_WORK/nb-bad.out" rest_wrong_secret
URL="turn:$PUBLIC:3478"
ok "NetBird's servers checked with its credentials; a wrong Secret is rest_wrong_secret"
coturn_stop

step "a per-session bandwidth cap (max-bps): relay_bandwidth_cap from loss growing with the rate"
CONF_CAP=$TERN_WORK/cap.conf
write_conf "$CONF_CAP" "external-ip=$PUBLIC/$PRIVATE" "max-bps=$CAP_BPS"
coturn_start "$CONF_CAP"
doctor "$TERN_WORK/cap.json" --secret "$SECRET"
say "loss by rate: $(jq -c '[.urls[0].rate_steps[] | [.rate_per_s, .loss_percent]]' "$TERN_WORK/cap.json")"
expect_code "$TERN_WORK/cap.json" relay_bandwidth_cap
ok "bandwidth cap named"
coturn_stop

step "a peer deny list that covers the peer: relay_permission_refused"
CONF_DENY=$TERN_WORK/deny.conf
write_conf "$CONF_DENY" "external-ip=$PUBLIC/$PRIVATE" "denied-peer-ip=198.51.100.0-198.51.100.255"
coturn_start "$CONF_DENY"
doctor "$TERN_WORK/deny.json" --secret "$SECRET" --coturn-config "$CONF_DENY"
expect_code "$TERN_WORK/deny.json" relay_permission_refused
expect_code "$TERN_WORK/deny.json" coturn_peer_denied
ok "refused permission named, and the deny list in the config"
coturn_stop

step "coturn behind 1:1 NAT without external-ip: relay_address_private"
CONF_BAD=$TERN_WORK/noexternal.conf
write_conf "$CONF_BAD"
coturn_start "$CONF_BAD"
doctor "$TERN_WORK/private.json" --secret "$SECRET" --coturn-config "$CONF_BAD"
expect_code "$TERN_WORK/private.json" relay_address_private
expect_code "$TERN_WORK/private.json" coturn_external_ip_missing
jq -e --arg p "$PRIVATE:" '.urls[0].relayed_address | startswith($p)' \
  "$TERN_WORK/private.json" >/dev/null || fail "private relayed address not reported"
ok "private relayed address named, and the config's missing external-ip"
coturn_stop
printf '\nPASS: doctor_relay_faults (coturn behind NAT: private relayed address, firewalled relay ports, expired REST credential, bandwidth cap, refused peer, NetBird config, healthy twins)\n'
