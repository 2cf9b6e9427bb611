# Deterministic cost (issue 11): instructions per operation on a Cortex-M0 (armv6m, the RP2040's
# instruction set) under QEMU -icount shift=0, the firmware frozen as on a board (tools/bench/m0.py).
# The RP2040 column is a lower bound (133 MHz, one cycle per instruction, flash stalls excluded).
from tools.bench import m0

# One group observation (the draft -04 §4 exchange, host_tests/fw/tu_client.py, frozen on the M0),
# fed a stream of distinct multicast notifications: nxt() writes the next MID and Observe into one
# datagram (NON 2.05, token T, Observe 3 bytes, Content-Format 60, the CBOR "5678"), and
# its cost is the `base` subtracted from the hot path.
SETUP = """
from coap import client, msg, msgcore, cbor, cborenc
from coap import options as o
from coap.pm import PMEndpoint
from tu_client import mk, grouped, SRV, GRP, T, NOTIF

def _cb(payload, cf, v, via):
    pass

def group(pm=None):
    c, ob, s = grouped(mk(pm=pm))
    ob.cb = _cb
    return c

def template(pm):
    opts = [(o.OBSERVE, 0x10000), (o.CONTENT_FORMAT, 60)] + ([(o.PM, 0x20)] if pm else [])
    t = bytearray(msg.encode(msg.NON, msg.CONTENT, 0, T, opts, cborenc.dumps("5678")))
    return t, bytes(t).find(b"\\x63\\x01\\x00\\x00") + 1

C0 = group()
C1 = group(PMEndpoint("client", 0))
TPL, OFF = template(False)
TPM, OFFP = template(True)
V = [100]

def nxt(t, off):
    v = V[0] = V[0] + 1
    t[2] = (v >> 8) & 255
    t[3] = v & 255
    t[off] = v >> 16
    t[off + 1] = (v >> 8) & 255
    t[off + 2] = v & 255

M = msgcore.Msg(8)
PAYLOAD = cborenc.dumps("5678")
"""

OPS = {
    "hot": "nxt(TPL, OFF); C0.receive(TPL, SRV, 2, GRP)",
    "hot_pm": "nxt(TPM, OFFP); C1.receive(TPM, SRV, 2, GRP)",
    "decode": "M.decode(NOTIF)",
    "decode_msg": "msg.decode(NOTIF)",
    "cbor_payload": "cbor.loads(PAYLOAD)",
}
LABELS = {
    "hot": "hot path: multicast notification -> callback",
    "hot_pm": "  the same with PM (pattern 0, PM option)",
    "decode": "decode, zero-copy (msgcore.Msg.decode)",
    "decode_msg": "decode to a Msg object (msg.decode)",
    "cbor_payload": "CBOR payload \"5678\" (cbor.loads)",
}


def figures(n=200):
    """{op: {"insns", "rp2040_us", "alloc"}}: the hot path with nxt() subtracted, the decoders alone."""
    hot = m0.count(SETUP, {k: v for k, v in OPS.items() if k.startswith("hot")}, n, base="nxt(TPL, OFF)")
    rest = m0.count(SETUP, {k: v for k, v in OPS.items() if not k.startswith("hot")}, n)
    hot.update(rest)
    return hot


def run():
    print("== Cortex-M0 under QEMU -icount shift=0: instructions per operation (deterministic; §4 notification)")
    try:
        res = figures()
    except RuntimeError as e:
        print("  not measured: %s" % e)
        return
    print("  %-46s %12s %13s %8s" % ("", "instructions", "RP2040 >= us", "heap B"))
    for k in OPS:
        r = res.get(k)
        if r:
            print("  %-46s %12.0f %13.1f %8.1f" % (LABELS[k], r["insns"], r["rp2040_us"], r["alloc"]))
    print("  (RP2040 at 133 MHz, a lower bound: one cycle per instruction, flash XIP stalls excluded;"
          " tools/bench/m0.py)")


if __name__ == "__main__":
    run()
