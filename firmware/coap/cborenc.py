# CBOR encoder (RFC 8949), the writing half of coap.cbor: the server and the tests build payloads
# with it; the board only decodes, so it never imports this module (RAM).
import struct

from coap.cbor import Tag, MAX_DEPTH


class CBOREncodeError(ValueError):
    pass


def _head(out, mt, v):
    if v < 24:
        out.append((mt << 5) | v)
    elif v < 0x100:
        out.append((mt << 5) | 24)
        out.append(v)
    elif v < 0x10000:
        out.append((mt << 5) | 25)
        out += struct.pack(">H", v)
    elif v < 0x100000000:
        out.append((mt << 5) | 26)
        out += struct.pack(">I", v)
    elif v < 0x10000000000000000:
        out.append((mt << 5) | 27)
        out += struct.pack(">I", v >> 32)
        out += struct.pack(">I", v & 0xFFFFFFFF)
    else:
        raise CBOREncodeError("integer does not fit 64 bits")


def _enc(out, v, depth):
    if depth > MAX_DEPTH:
        raise CBOREncodeError("nesting deeper than %d" % MAX_DEPTH)
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, int):
        if v >= 0:
            _head(out, 0, v)
        else:
            _head(out, 1, -1 - v)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        _head(out, 2, len(v))
        out += v
    elif isinstance(v, str):
        b = v.encode()
        _head(out, 3, len(b))
        out += b
    elif isinstance(v, (list, tuple)):
        _head(out, 4, len(v))
        for x in v:
            _enc(out, x, depth + 1)
    elif isinstance(v, dict):
        # deterministic (RFC 8949 §4.2.1): keys sorted by their encoding; MicroPython dicts
        # have no insertion order, so this is also what makes both runtimes agree
        pairs = []
        for k, x in v.items():
            kb = bytearray()
            _enc(kb, k, depth + 1)
            pairs.append((bytes(kb), x))
        pairs.sort(key=lambda p: p[0])
        _head(out, 5, len(v))
        for kb, x in pairs:
            out += kb
            _enc(out, x, depth + 1)
    elif isinstance(v, Tag):
        _head(out, 6, v.tag)
        _enc(out, v.value, depth + 1)
    elif isinstance(v, float):
        out.append(0xFB)
        out += struct.pack(">d", v)
    else:
        raise CBOREncodeError("cannot encode %s" % type(v).__name__)


def dumps(v):
    """Encode v (maps in deterministic key order)."""
    out = bytearray()
    _enc(out, v, 0)
    return bytes(out)
