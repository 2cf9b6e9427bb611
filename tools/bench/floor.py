# The calibration floor of the notification benchmarks (issue 15): the least work that reads a CoAP
# notification. A bare parser (RIOT nanocoap style, RFC 7252 §3): header, token length, the options'
# delta/length nibbles with their extension bytes, Observe (6) and Content-Format (12) decoded in
# place, the payload offset. Offsets only: no validation beyond staying inside the buffer, no
# allocation (the results go into a list made once). Runs under MicroPython and CPython.
# Every figure of `make bench` about decoding or delivery is a ratio to this, timed in the same
# process, interleaved (tools/bench/mp_hot.py).
OUT = [0, 0, 0]  # payload offset, Observe (-1: none), Content-Format (-1: none)


def parse(buf):
    n = len(buf)
    i = 4 + (buf[0] & 15)
    num = 0
    obs = -1
    cf = -1
    pl = n
    while i < n:
        b = buf[i]
        if b == 0xFF:
            pl = i + 1
            break
        i += 1
        d = b >> 4
        ln = b & 15
        if d == 13:
            d = buf[i] + 13
            i += 1
        elif d == 14:
            d = (buf[i] << 8 | buf[i + 1]) + 269
            i += 2
        if ln == 13:
            ln = buf[i] + 13
            i += 1
        elif ln == 14:
            ln = (buf[i] << 8 | buf[i + 1]) + 269
            i += 2
        num += d
        if num == 6 or num == 12:
            v = 0
            for j in range(i, i + ln):
                v = v << 8 | buf[j]
            if num == 6:
                obs = v
            else:
                cf = v
        i += ln
    OUT[0] = pl
    OUT[1] = obs
    OUT[2] = cf


def encode(out, mid, token, observe, cf, payload):
    """The encoding floor (the server's per-update path): a NON 2.05 with token, Observe (1-3 bytes),
    Content-Format (0-2 bytes) and payload into the bytearray `out` (cleared first)."""
    out[:] = b""
    out.append(0x50 | len(token))
    out.append(0x45)
    out.append(mid >> 8)
    out.append(mid & 0xFF)
    out += token
    n = 0 if observe == 0 else 1 if observe < 0x100 else 2 if observe < 0x10000 else 3
    out.append(0x60 | n)
    for k in range(n - 1, -1, -1):
        out.append((observe >> (8 * k)) & 0xFF)
    n = 0 if cf == 0 else 1 if cf < 0x100 else 2
    out.append(0x60 | n)
    for k in range(n - 1, -1, -1):
        out.append((cf >> (8 * k)) & 0xFF)
    if payload:
        out.append(0xFF)
        out += payload
