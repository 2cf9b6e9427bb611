#!/usr/bin/env bash
# Install the real CoAP peers and tools the tests use (Debian libcoap3-bin, tshark, nftables for
# loss injection on loopback).
# Tests that need a missing one skip with a loud message; this script tries hard first.
need=()
command -v coap-client-notls >/dev/null 2>&1 || need+=(libcoap3-bin)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v nft >/dev/null 2>&1 || need+=(nftables)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null) ||
    echo "!!! WARNING: apt-get could not install ${need[*]}: tests that need them will SKIP !!!"
else
  echo "!!! WARNING: ${need[*]} missing and not root/apt: tests that need them will SKIP !!!"
fi
exit 0
