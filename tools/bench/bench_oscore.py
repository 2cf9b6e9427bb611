# OSCORE / Group OSCORE costs on the board (issue 12): HKDF, AES-CCM-16-64-128 on a 64-byte payload,
# OSCORE unprotect of a 64-byte notification and Group OSCORE group-mode unprotect without the signature
# check (coap.sigverify's bench reports that part), each as µs and as a ratio to one SHA-256 of the same
# 64 bytes timed in the same round (interleaved rounds, medians; the machine is shared), and the bytes
# each allocates; on the Cortex-M0 under QEMU (-icount) as instructions, with the RP2040 time they
# bound (133 MHz, one instruction per cycle: a lower bound). Heap of the security modules (from .mpy,
# bytecode, imported after the board client), of a context and of each further recipient context.
# Body: mp_oscore.py.
import os
import subprocess

from tools import mpy
from tools import runtimes as rt
from tools.bench.run import HERE, MICROPYTHON, kv, run_cpy
from tools.util import ROOT

OPS = ("hkdf_key", "hkdf_keystream", "ccm_encrypt", "ccm_decrypt", "oscore_unprotect", "group_unprotect_nosig")
WHAT = {"hkdf_key": "HKDF-SHA256, one 16-byte key (RFC 8613 §3.2.1)",
        "hkdf_keystream": "HKDF, the 64-byte signature keystream (per group msg)",
        "ccm_encrypt": "AES-CCM-16-64-128 encrypt, 64 B payload, 60 B AAD",
        "ccm_decrypt": "AES-CCM-16-64-128 decrypt + tag check, 64 B",
        "oscore_unprotect": "OSCORE unprotect, 64 B notification (RFC 8613)",
        "group_unprotect_nosig": "group-mode unprotect, 64 B, signature check excluded"}


def _mpydir():
    out = os.path.join(ROOT, "build", "bench-mpy-oscore")
    return mpy.build(out, "unix", bytecode=True)[0]  # bytecode: the same .mpy for the 32- and 64-bit ports


def _mp(binary, mpydir, mode):
    env = dict(os.environ, MICROPYPATH=".frozen:" + mpydir)
    p = subprocess.run([binary, "-X", "heapsize=192k", os.path.join(HERE, "mp_oscore.py"), mode],
                       capture_output=True, text=True, env=env, cwd=HERE, timeout=900)
    if p.returncode:
        print(p.stdout, p.stderr)
    return kv(p.stdout)


def _m0():
    why = rt.missing("m0")
    if why:
        return None, why
    b = subprocess.run(["bash", os.path.join(rt.HERE, "build.sh"), "m0"], capture_output=True, text=True)
    if b.returncode:
        return None, "the M0 firmware did not build"
    with open(os.path.join(HERE, "mp_oscore.py")) as f:
        src = f.read()
    m = rt.M0(icount=True)
    try:
        out, err = m.exec(src, timeout=600)
    except rt.M0Error as e:
        return None, str(e)
    finally:
        m.close()
    if err:
        return None, err.strip().splitlines()[-1]
    return kv(out), None


def run():
    d = _mpydir()
    ports = []
    u32 = rt.unix32_bin()
    if u32:
        ports.append(("unix port 32-bit", u32))
    else:
        print("  (the 32-bit unix port is not built: %s; 64-bit figures only)" % rt.missing("unix32"))
    ports.append(("unix port 64-bit (PyPI)", MICROPYTHON))
    res = [(name, _mp(b, d, "time"), _mp(b, d, "heap")) for name, b in ports]
    cp = run_cpy("mp_oscore.py")
    m0, why = _m0()
    print("== OSCORE / Group OSCORE on the board: per operation (ratio: x one SHA-256 of 64 B, same round)")
    for name, t, _ in res:
        print("  -- %s (192k heap, .mpy bytecode): us  ratio  bytes allocated" % name)
        print("  %-56s %8s" % ("SHA-256 of 64 B (the baseline)", t.get("sha256_us", "?")))
        for k in OPS:
            print("  %-56s %8s %6s %8s" % (WHAT[k], t.get(k + "_us", "?"), t.get(k + "_ratio", "?"),
                                           t.get(k + "_alloc", "?")))
    print("  -- CPython: us  ratio")
    for k in OPS:
        print("  %-56s %8s %6s" % (WHAT[k], cp.get(k + "_us", "?"), cp.get(k + "_ratio", "?")))
    if m0 is None:
        print("  -- Cortex-M0: not run (%s)" % why)
    else:
        print("  -- Cortex-M0 under QEMU (armv6m, frozen): instructions  ratio  RP2040 >= ms at 133 MHz")
        print("  %-56s %10s" % ("SHA-256 of 64 B (the baseline)", m0.get("sha256_insns", "?")))
        for k in OPS:
            v = m0.get(k + "_insns")
            ms = "%.2f" % (float(v) / 133e3) if v else "?"
            print("  %-56s %10s %6s %8s" % (WHAT[k], v or "?", m0.get(k + "_ratio", "?"), ms))
    print("  -- heap (bytes; after the board client is imported; without coap.sigverify and its tables)")
    for name, _, h in res:
        print("  %-56s %8s   board without OSCORE loads none of it: %s" % (
            "%s: coap.oscore + coap.grouposcore + deps" % name, h.get("import_heap", "?"), h.get("lazy", "?")))
        print("  %-56s %8s" % ("  one OSCORE context (RFC 8613)", h.get("oscore_context_heap", "?")))
        print("  %-56s %8s" % ("  one group context with its first recipient", h.get("group_context_heap", "?")))
        print("  %-56s %8s" % ("  each further recipient context (verifier excluded)", h.get("recipient_heap", "?")))
