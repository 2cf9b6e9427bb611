#!/usr/bin/env bash
# make setup: the board runtimes, built from Debian's MicroPython source into build/runtimes/ (cached).
#   unix32/micropython   the unix port, 32-bit (gcc -m32): a board's object and GC-block sizes,
#                        socket/select, asyncio frozen, cryptolib + hashlib on mbedTLS as on the boards
#   m0/firmware.elf      ports/qemu BOARD=MICROBIT: Cortex-M0 (armv6m, RP2040's instruction set) with a
#                        Pico W heap, the nRF51 TIMER-backed `time` module (cmod/m0time), the firmware
#                        and host_tests/fw frozen with -march=armv6m; run by tools/runtimes (qemu-system-arm)
# Sources: Debian's `micropython` source package (pinned; sha256 checked) fetched with apt-get through
# a private apt directory derived from the machine's own Debian source list (no host named here);
# lib/mbedtls, stripped there, comes from Debian's `mbedtls` source package (pinned; sha256 checked).
# If the packages truly cannot be had: a loud warning, exit 0, and the tests of these runtimes skip.
#   unix32f/micropython  (make bench only: build.sh unix32f) the 32-bit port with the firmware frozen
#   tools/runtimes/build.sh [unix32|m0|unix32f ...]     (default: unix32 m0)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tools/runtimes
OUT=$ROOT/build/runtimes
SUITE=trixie
MP_PKG=micropython=1.25.0+ds-1
MP_TAR=micropython_1.25.0+ds.orig.tar.xz
MP_SHA256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea
MBEDTLS_PKG=mbedtls=3.6.6-0.1~deb13u1
MBEDTLS_TAR=mbedtls_3.6.6.orig.tar.bz2
MBEDTLS_SHA256=8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a
SRC=$OUT/src/micropython-1.25.0
DEBS=(gcc-multilib gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
M0_HEAP=196608            # a Pico W's free heap (RPI_PICO_W: about 190-200 KiB)
JOBS=${JOBS:-2}

say() { echo "runtimes: $*"; }
first() { [ -e "$1" ] || say "$2"; }  # a first build is announced; a rebuild (new frozen files) is quiet
give_up() {
  echo "!!! WARNING: $* -- the 32-bit unix port and the Cortex-M0 (QEMU) runtimes are NOT built:" \
       "their tests SKIP and make bench omits their figures !!!" >&2
  exit 0
}

debs() {
  local need=() p
  for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || give_up "${need[*]} missing and not root with apt-get"
  say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1; apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
    give_up "apt-get could not install ${need[*]}"
}

# apt-get with a private deb-src list for $SUITE (URIs and Signed-By copied from the machine's own list)
apt_src() {
  local a=$OUT/apt list=/etc/apt/sources.list.d/debian.sources uris sb
  mkdir -p "$a/sources" "$a/lists/partial" "$a/cache/archives/partial"
  if [ ! -s "$a/sources/src.sources" ]; then
    [ -r "$list" ] || give_up "no $list to derive a Debian source list from"
    uris=$(awk '/^URIs:/ {print $2; exit}' "$list")
    sb=$(awk '/^Signed-By:/ {print $2; exit}' "$list")
    [ -n "$uris" ] || give_up "no URIs line in $list"
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' "$uris" "$SUITE" \
      "${sb:+Signed-By: $sb}" > "$a/sources/src.sources"
  fi
  apt-get -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$a/sources" \
    -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" "$@"
}

fetch() {  # the sources, unpacked into $OUT/src with lib/mbedtls filled in and patches/ applied
  local pk; pk=$(cat "$HERE"/patches/*.patch | sha256sum | cut -c1-16)
  [ "$(cat "$SRC/.unpacked" 2>/dev/null)" = "$pk" ] && return 0
  local dl=$OUT/dl
  mkdir -p "$dl"
  if ! (echo "$MP_SHA256  $dl/$MP_TAR" && echo "$MBEDTLS_SHA256  $dl/$MBEDTLS_TAR") | sha256sum -c --status 2>/dev/null; then
    say "fetching Debian sources $MP_PKG $MBEDTLS_PKG ($SUITE)"
    apt_src update >/dev/null 2>&1 || give_up "apt-get update of the private $SUITE deb-src list failed"
    (cd "$dl" && apt_src source --download-only "$MP_PKG" "$MBEDTLS_PKG" >/dev/null 2>&1) ||
      give_up "apt-get source $MP_PKG $MBEDTLS_PKG failed"
    (echo "$MP_SHA256  $dl/$MP_TAR" && echo "$MBEDTLS_SHA256  $dl/$MBEDTLS_TAR") | sha256sum -c --quiet ||
      give_up "sha256 mismatch on the downloaded source tarballs"
  fi
  rm -rf "$OUT/src" && mkdir -p "$OUT/src"
  tar -xJf "$dl/$MP_TAR" -C "$OUT/src" || give_up "cannot unpack $MP_TAR"
  tar -xjf "$dl/$MBEDTLS_TAR" -C "$OUT/src" mbedtls-3.6.6/include mbedtls-3.6.6/library ||
    give_up "cannot unpack $MBEDTLS_TAR"
  mv "$OUT/src/mbedtls-3.6.6/include" "$OUT/src/mbedtls-3.6.6/library" "$SRC/lib/mbedtls/"
  rmdir "$OUT/src/mbedtls-3.6.6"
  # micropython-lib is stripped too: the frozen manifests use only extmod/asyncio and our files, but
  # the build checks that the submodule exists
  echo "stripped by Debian; coapcast freezes only extmod/asyncio" > "$SRC/lib/micropython-lib/README.md"
  local p
  for p in "$HERE"/patches/*.patch; do
    patch -s -d "$SRC" -p1 < "$p" || give_up "cannot apply $p"
  done
  echo "$pk" > "$SRC/.unpacked"
}

key() {  # a digest of the build inputs: unchanged -> nothing to do
  { cat "$HERE/build.sh"; find "$HERE/cmod" "$HERE/patches" "$@" -type f -name '*.[ch]' -o -type f -name '*.mk' \
      -o -type f -name '*.py' -o -type f -name '*.patch' |
      LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16
}

mpycross() {  # built alone: a port's make would pass its command-line variables down to it
  [ -x "$SRC/mpy-cross/build/mpy-cross" ] && return 0
  say "building mpy-cross"
  make -C "$SRC/mpy-cross" -j"$JOBS" -s >"$OUT/mpy-cross.log" 2>&1 ||
    { tail -30 "$OUT/mpy-cross.log"; echo "runtimes: mpy-cross did not build (log: $OUT/mpy-cross.log)" >&2; return 1; }
}
MPYCROSS=(MICROPY_MPYCROSS="$SRC/mpy-cross/build/mpy-cross" MICROPY_MPYCROSS_DEPENDENCY=)

unix32() {
  local k; k=$(key "$HERE/manifest_unix32.py")
  [ -x "$OUT/unix32/micropython" ] && [ "$(cat "$OUT/unix32/.key" 2>/dev/null)" = "$k" ] && return 0
  first "$OUT/unix32/micropython" "building the 32-bit unix port"
  make -C "$SRC/ports/unix" -j"$JOBS" -s VARIANT=standard MICROPY_FORCE_32BIT=1 \
    MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 MICROPY_SSL_MBEDTLS=0 MICROPY_SSL_AXTLS=0 MICROPY_PY_BTREE=0 \
    MICROPY_VFS_FAT=0 MICROPY_VFS_LFS1=0 MICROPY_VFS_LFS2=0 \
    "${MPYCROSS[@]}" FROZEN_MANIFEST="$HERE/manifest_unix32.py" USER_C_MODULES="$HERE/cmod" >"$OUT/unix32.log" 2>&1 ||
    { tail -30 "$OUT/unix32.log"; echo "runtimes: the 32-bit unix port did not build (log: $OUT/unix32.log)" >&2; return 1; }
  mkdir -p "$OUT/unix32"
  cp "$SRC/ports/unix/build-standard/micropython" "$OUT/unix32/micropython"
  echo "$k" > "$OUT/unix32/.key"
}

unix32f() {  # for make bench: the same port with the firmware frozen, as a board firmware build has it
  local k; k=$(key "$HERE/manifest_unix32.py" "$HERE/manifest_unix32_frozen.py" "$ROOT/firmware" "$ROOT/boards/unix")
  [ -x "$OUT/unix32f/micropython" ] && [ "$(cat "$OUT/unix32f/.key" 2>/dev/null)" = "$k" ] && return 0
  first "$OUT/unix32f/micropython" "building the 32-bit unix port with the firmware frozen"
  make -C "$SRC/ports/unix" -j"$JOBS" -s VARIANT=standard BUILD=build-frozen MICROPY_FORCE_32BIT=1 \
    MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 MICROPY_SSL_MBEDTLS=0 MICROPY_SSL_AXTLS=0 MICROPY_PY_BTREE=0 \
    MICROPY_VFS_FAT=0 MICROPY_VFS_LFS1=0 MICROPY_VFS_LFS2=0 MPY_CROSS_FLAGS=-march=x86 MICROPY_MANIFEST_COAPCAST="$ROOT" \
    "${MPYCROSS[@]}" FROZEN_MANIFEST="$HERE/manifest_unix32_frozen.py" USER_C_MODULES="$HERE/cmod" \
    >"$OUT/unix32f.log" 2>&1 ||
    { tail -30 "$OUT/unix32f.log"; echo "runtimes: the frozen 32-bit unix port did not build (log: $OUT/unix32f.log)" >&2; return 1; }
  mkdir -p "$OUT/unix32f"
  cp "$SRC/ports/unix/build-frozen/micropython" "$OUT/unix32f/micropython"
  echo "$k" > "$OUT/unix32f/.key"
}

m0() {
  # make setup (no arguments) builds it once; the tests and benches refresh it (tools.runtimes.refresh)
  [ "$SETUP" = 1 ] && [ -f "$OUT/m0/firmware.elf" ] && return 0
  local k; k=$(key "$HERE/manifest_m0.py" "$ROOT/firmware" "$ROOT/host_tests/fw" "$ROOT/host_tests/mprun.py" \
    "$ROOT/tools/__init__.py" "$ROOT/tools/rng.py")
  [ -f "$OUT/m0/firmware.elf" ] && [ "$(cat "$OUT/m0/.key" 2>/dev/null)" = "$k" ] && return 0
  first "$OUT/m0/firmware.elf" "building the Cortex-M0 (qemu, nRF51) firmware"
  make -C "$SRC/ports/qemu" -j"$JOBS" -s BOARD=MICROBIT MICROPY_HEAP_SIZE=$M0_HEAP \
    CFLAGS_EXTRA="-DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0 -DMICROPY_EMIT_INLINE_THUMB=1" \
    MPY_CROSS_FLAGS=-march=armv6m MICROPY_MANIFEST_COAPCAST="$ROOT" \
    "${MPYCROSS[@]}" FROZEN_MANIFEST="$HERE/manifest_m0.py" USER_C_MODULES="$HERE/cmod" >"$OUT/m0.log" 2>&1 ||
    { tail -30 "$OUT/m0.log"; echo "runtimes: the Cortex-M0 firmware did not build (log: $OUT/m0.log)" >&2; return 1; }
  mkdir -p "$OUT/m0"
  cp "$SRC/ports/qemu/build-MICROBIT/firmware.elf" "$OUT/m0/firmware.elf"
  echo "$k" > "$OUT/m0/.key"
}

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9   # one build at a time (make test and make bench may start together)
targets=("$@")
SETUP=0
[ ${#targets[@]} -eq 0 ] && targets=(unix32 m0) && SETUP=1
need=0
for t in "${targets[@]}"; do
  case $t in
    unix32) [ -x "$OUT/unix32/micropython" ] && [ "$(cat "$OUT/unix32/.key" 2>/dev/null)" = "$(key "$HERE/manifest_unix32.py")" ] || need=1 ;;
    m0|unix32f) need=1 ;;  # the key covers the frozen files: m0() / unix32f() decide
    *) echo "usage: $0 [unix32|m0|unix32f ...]" >&2; exit 2 ;;
  esac
done
[ $need = 1 ] || exit 0
debs
fetch
mpycross || exit 1
rc=0
for t in "${targets[@]}"; do "$t" || rc=1; done
exit $rc
