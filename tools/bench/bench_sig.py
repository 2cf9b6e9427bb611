"""Signature verification on a board (issue 12): coap.sigverify's Ed25519 (COSE -8) and ECDSA P-256
(COSE -7), with the per-key comb tables and without (naive double-and-add), on

  unix32  MicroPython's unix port built 32-bit (tools.runtimes; a board's int and object sizes), else
          the 64-bit PyPI port (said so in the header): µs, ratios to one SHA-256 of 64 bytes timed
          just before and after (interleaved), heap from .mpy;
  m0      the Cortex-M0 firmware under qemu-system-arm -icount shift=0 (tools.runtimes): one guest
          instruction per virtual ns, so a µs of ticks_us() is 1000 Cortex-M0 (armv6m) instructions;
          the RP2040 estimate is instructions x CPI / 133 MHz, CPI 1.3 (1.0 to 1.6: Cortex-M0+ loads,
          stores and taken branches take 2 cycles; flash (XIP) cache misses not counted).

The messages are what a group-mode notification signs (coap.cose.to_be_signed: the CounterSignature0
structure with the external_aad and the ciphertext of a 16- and a 64-byte payload), signed by OpenSSL.
The firmware modules are loaded from the working tree (.mpy on the unix ports; on the M0, compiled
from source into its RAM, so the frozen copy's age does not matter).
  python -m tools.bench.bench_sig [--no-m0]
"""
import os
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tools.bench.run import HERE, ROOT, FIRMWARE, MICROPYTHON, kv

MODULES = {-8: ("compat", "sigverify", "comb", "sha512v", "sha512", "ed25519"), -7: ("compat", "sigverify", "comb", "p256")}
NAMES = {-8: "Ed25519", -7: "ES256 (P-256)"}
CPI = (1.3, 1.0, 1.6)
MHZ = 133
TARGET_MS = 250
# a CCS credential (Ed25519 key, as in mp_oscore.py) and a group-mode notification's parameters
CRED = bytes.fromhex("a108a101a4010103272006215820d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def messages():
    """The to-be-signed bytes of group-mode notifications with 16- and 64-byte payloads."""
    from coap import cose
    ext = cose.aad_group([10, 10, -8, None], b"\x01", b"\x05", bytes.fromhex("37cbf3210017a2d3"),
                         bytes.fromhex("39050837cbf3210017a2d3"), CRED, None)
    return [cose.to_be_signed(ext, bytes(range(n + 8))) for n in (16, 64)]  # ciphertext = payload + tag


def vectors(alg):
    msgs = messages()
    if alg == -8:
        k = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        pk = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return pk, [(m, k.sign(m)) for m in msgs]
    k = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())
    pk = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    out = []
    for m in msgs:
        r, s = utils.decode_dss_signature(k.sign(m, ec.ECDSA(hashes.SHA256())))
        out.append((m, r.to_bytes(32, "big") + s.to_bytes(32, "big")))
    return pk, out


SHAPES = {-8: ((4, 2), (5, 2), (5, 3), (6, 2)), -7: ()}   # comb shapes compared (the default is (5, 2))


def script(alg):
    with open(os.path.join(HERE, "mp_sig.py")) as f:
        body = f.read()
    return "ALG = %d\nVEC = %r\nSHAPES = %r\n" % (alg, vectors(alg), SHAPES[alg]) + body


def native_extra(alg):
    """Bytes the alg's modules take more as armv6m .mpy (with their viper/native machine code) than as
    bytecode: a board loads that machine code into its heap, the unix ports outside the GC heap (their
    heap figures leave it out)."""
    from tools.mpy import mpy_cross, bytecode_source
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.mpy")
        for m in MODULES[alg]:
            src = os.path.join(FIRMWARE, "coap", m + ".py")
            for sign, args in ((1, ["-march=armv6m", src]), (-1, [bytecode_source(src, tmp)])):
                subprocess.run([mpy_cross(), "-o", out] + args, check=True, capture_output=True)
                total += sign * os.path.getsize(out)
    return total


def mpy_dir(alg, tmp, march):
    """The alg's modules as .mpy, what a board loads from its filesystem (machine code for march)."""
    from tools.mpy import mpy_cross
    os.makedirs(os.path.join(tmp, "coap"), exist_ok=True)
    for m in MODULES[alg]:
        src = os.path.join(FIRMWARE, "coap", m + ".py")
        subprocess.run([mpy_cross(), "-march=" + march, "-o", os.path.join(tmp, "coap", m + ".mpy"),
                        "-s", "coap/%s.py" % m, src], check=True, capture_output=True)
    return tmp


def run_unix(binary, alg, march):
    with tempfile.TemporaryDirectory() as tmp:
        d = mpy_dir(alg, tmp, march)
        f = os.path.join(tmp, "sig.py")
        with open(f, "w") as fh:
            fh.write(script(alg))
        env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (d, HERE))
        p = subprocess.run([binary, "-X", "heapsize=192k", f], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=900)
    if p.returncode or "done=1" not in p.stdout:
        print("  (%s failed: %s)" % (binary, (p.stdout + p.stderr)[-600:]))
    return kv(p.stdout)


def _inject(alg_mods):
    """Code that loads the working tree's modules into the M0 from source (namespaces in sys.modules,
    and attributes of the frozen `coap` package), then the body."""
    out = ["import sys", "import coap as _pkg", "class _NS:", "    pass",
           "def _mk(name, src, pkg):",
           "    d = {'__name__': name}",
           "    exec(src, d)",
           "    m = _NS()",
           "    for k in d:",
           "        setattr(m, k, d[k])",
           "    sys.modules[name] = m",
           "    if pkg:",
           "        setattr(_pkg, name[5:], m)"]
    with open(os.path.join(HERE, "mpbench.py")) as f:
        out.append("_mk('mpbench', %r, False)" % f.read())
    for m in alg_mods:
        with open(os.path.join(FIRMWARE, "coap", m + ".py")) as f:
            out.append("_mk('coap.%s', %r, True)" % (m, f.read()))
    out.append("del _mk")
    return "\n".join(out) + "\n"


def run_m0(alg):
    from tools import runtimes
    with runtimes.M0(icount=True) as m0:
        out, err = m0.exec(_inject(MODULES[alg]) + script(alg), timeout=600)
    if "done=1" not in out:
        print("  (m0 failed: %s)" % (out + err)[-600:])
    return kv(out)


def _f(d, k, scale=1.0, fmt="%.1f"):
    v = d.get(k)
    return fmt % (float(v) * scale) if v is not None else "-"


def rp2040_ms(us_m0):
    """M0 µs under icount (1000 instructions each) -> (Minsn, ms at 133 MHz for CPI 1.3, 1.0, 1.6)."""
    insn = float(us_m0) * 1000
    return insn / 1e6, [insn * c / (MHZ * 1e3) for c in CPI]


def runtimes_available(no_m0):
    try:
        from tools import runtimes
    except ImportError:
        runtimes = None
    u32 = runtimes.unix32_bin() if runtimes else None
    why32 = runtimes.missing("unix32") if runtimes else "tools.runtimes is not there"
    m0 = None if (no_m0 or runtimes is None) else runtimes.missing("m0")
    has_m0 = not no_m0 and runtimes is not None and m0 is None
    return u32, why32, has_m0, (m0 or "skipped (--no-m0)" if not has_m0 else None)


def run(no_m0=False):
    u32, why32, has_m0, why_m0 = runtimes_available(no_m0)
    unix = u32 or MICROPYTHON
    label = "unix32" if u32 else "unix64 (PyPI port; %s)" % why32
    print("== signature verification (coap.sigverify): the countersignature of a group-mode notification")
    print("  unix port: %s, -X heapsize=192k, modules from .mpy; M0: %s" %
          (label, "qemu -icount (1 instruction = 1 ns)" if has_m0 else "not run: %s" % why_m0))
    res = {}
    for alg in (-8, -7):
        res[alg] = (run_unix(unix, alg, "x86" if u32 else "x64"), run_m0(alg) if has_m0 else {})
    lens = [len(m) for m in messages()]
    print("  %-14s %5s  %22s  %22s  %7s  %8s  %s" % ("", "bytes", "tables: us (xSHA256-64)", "naive: us (x)",
                                                     "speedup", "M0 Minsn", "RP2040 ms @133MHz, CPI 1.3 (1.0-1.6)"))
    for alg in (-8, -7):
        u, m = res[alg]
        for ln in lens:
            tab = "%s (%s)" % (u.get("tab_us_%d" % ln, "-"), u.get("tab_ratio_%d" % ln, "-"))
            nai = "%s (%s)" % (u.get("naive_us_%d" % ln, "-"), u.get("naive_ratio_%d" % ln, "-"))
            sp = "-"
            if u.get("tab_us_%d" % ln) and u.get("naive_us_%d" % ln):
                sp = "%.2f" % (float(u["naive_us_%d" % ln]) / float(u["tab_us_%d" % ln]))
            est = insn = "-"
            for kind in ("tab", "naive"):
                k = "%s_us_%d" % (kind, ln)
                if m.get(k):
                    mi, ms = rp2040_ms(m[k])
                    if kind == "tab":
                        insn = "%.1f" % mi
                        est = "%.0f (%.0f-%.0f)" % tuple(ms)
                    else:
                        insn += " / %.1f" % mi
                        est += " / naive %.0f" % ms[0]
            print("  %-14s %5d  %22s  %22s  %7s  %8s  %s" % (NAMES[alg], ln, tab, nai, sp, insn, est))
    print("  target: a group-mode notification verified (and decrypted) in <= %d ms on an RP2040" % TARGET_MS)
    print("  heap (%s, bytes): %-28s %10s %10s" % ("unix32" if u32 else "unix64", "", "Ed25519", "P-256"))
    rows = (("modules (import from .mpy)", "import_heap"), ("first key: coap.comb + generator + key tables", "tables_heap"),
            ("each further key", "key_heap"))
    for title, k in rows:
        print("    %-48s %10s %10s" % (title, res[-8][0].get(k, "-"), res[-7][0].get(k, "-")))
    print("    %-48s %10s %10s" % ("+ on a board: machine code (armv6m .mpy - bytecode)", native_extra(-8),
                                      native_extra(-7)))
    print("  comb shape (h, v) of the tables, Ed25519, %d-byte message (default (5, 2)):" % lens[0])
    for sh in SHAPES[-8]:
        u, m = res[-8]
        us_m0, hp = m.get("shape_%d_%d_us" % sh), u.get("shape_%d_%d_heap" % sh)
        est = "RP2040 %.0f ms" % rp2040_ms(us_m0)[1][0] if us_m0 else "-"
        print("    (%d, %d): %3d entries per table, generator + key tables %6s B, %s" % (
            sh[0], sh[1], sh[1] * (1 << (sh[0] - 1)) + 1, hp or "-", est))
    print("  the GC's share (M0, %d-byte message, tables): free heap -> RP2040 estimate" % lens[0])
    for alg in (-8, -7):
        m = res[alg][1]
        if m.get("lowheap_us"):
            print("    %-14s %6s B free: %.0f ms; %6s B free: %.0f ms" % (
                NAMES[alg], m.get("free_heap"), rp2040_ms(m["tab_us_%d" % lens[0]])[1][0],
                m.get("lowheap_free"), rp2040_ms(m["lowheap_us"])[1][0]))
    print("  stepwise (job.step(1) = one point operation or one SHA-512 block):")
    for alg in (-8, -7):
        u, m = res[alg]
        src = m if m else u
        unit = "M0 us" if m else "unix us"
        ln = lens[0]
        line = "    %-14s verify %s units, longest %s %s" % (NAMES[alg], src.get("tab_units_%d" % ln, "-"), unit,
                                                            src.get("tab_maxunit_us_%d" % ln, "-"))
        line += "; first prepare(): %s units, %s %s total, longest %s" % (
            src.get("prep_units", "-"), src.get("prep_us", "-"), unit, src.get("prep_maxunit_us", "-"))
        if m and m.get("tab_maxunit_us_%d" % ln):
            line += " (RP2040: unit <= %.1f ms, prepare %.0f ms)" % (rp2040_ms(m["tab_maxunit_us_%d" % ln])[1][0],
                                                                    rp2040_ms(m.get("prep_us", 0))[1][0])
        print(line)


if __name__ == "__main__":
    run(no_m0="--no-m0" in sys.argv)
