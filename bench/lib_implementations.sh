# shellcheck shell=bash disable=SC2034,SC2154
# The tunnels a bench compares, found once for every script: Debian's wireguard-go, the
# upstream build with offloads (the peer to beat, when it is there) and tern. Fills the
# associative arrays label, impl and status (global; the caller reads them) for debian,
# upstream and tern; a missing one gets a status saying what to install or build.
# Needs: repo (the checkout's root) and TERN (the tern binary).
bench_find_implementations() {
  declare -gA label impl status
  local upstream="$repo/../shared/peers/wireguard-go-0.0.20250522"
  label[debian]="wireguard-go (Debian)"
  label[upstream]="wireguard-go 0.0.20250522"
  label[tern]="tern"
  impl[debian]=wireguard-go
  impl[upstream]="wireguard-go:$upstream"
  impl[tern]=tern
  if command -v wireguard-go >/dev/null; then
    status[debian]=ok
    label[debian]="wireguard-go $(wireguard-go --version |
      sed -n 's/^wireguard-go v\{0,1\}\([^ ]*\).*/\1/p' | head -n 1) (Debian)"
  else
    status[debian]="absent (apt-get install wireguard-go)"
  fi
  if [ -x "$upstream" ]; then
    status[upstream]=ok
    upstream=$(cd "$(dirname "$upstream")" && pwd)/$(basename "$upstream")
    impl[upstream]="wireguard-go:$upstream"
  else
    status[upstream]="absent (no $upstream)"
  fi
  if [ -x "$TERN" ]; then status[tern]=ok; else status[tern]="not built ($TERN)"; fi
}
