# Compact, strict CBOR (RFC 8949) for the board: the subset the draft needs, names as in cbor2.
# Decodes: unsigned/negative ints (up to 64 bits), byte/text strings, arrays, maps, tags,
# false/true/null, half/single/double floats. Definite lengths only; nesting is bounded.
import struct

MAX_DEPTH = 16


class CBORDecodeError(ValueError):
    pass


class CBOREncodeError(ValueError):
    pass


class Tag:
    """A tagged item (cbor2.CBORTag)."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and self.tag == other.tag and self.value == other.value

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((self.tag, _hashable(self.value)))

    def __repr__(self):
        return "Tag(%d, %r)" % (self.tag, self.value)


CBORTag = Tag


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _hashable(x)) for k, x in v.items())
    return v


# --- decoding ---

def loads(data):
    """Decode one CBOR item that spans all of data. Raises CBORDecodeError."""
    v, i = _item(data, 0, 0)
    if i != len(data):
        raise CBORDecodeError("%d bytes of extra data after the item" % (len(data) - i))
    return v


def load_prefix(data, i=0):
    """Decode one item at offset i; return (value, next offset)."""
    return _item(data, i, 0)


def _arg(data, i, ai):
    # argument of the initial byte (RFC 8949 §3): returns (value, next offset)
    if ai < 24:
        return ai, i
    if ai == 24:
        n = 1
    elif ai == 25:
        n = 2
    elif ai == 26:
        n = 4
    elif ai == 27:
        n = 8
    elif ai == 31:
        raise CBORDecodeError("indefinite length is not supported")
    else:
        raise CBORDecodeError("reserved additional information %d" % ai)
    if i + n > len(data):
        raise CBORDecodeError("truncated: argument runs past the end")
    v = 0
    for k in range(i, i + n):
        v = (v << 8) | data[k]
    return v, i + n


def _half(h):
    s = -1.0 if h & 0x8000 else 1.0
    e = (h >> 10) & 0x1F
    f = h & 0x3FF
    if e == 0:
        return s * f * 2.0 ** -24
    if e == 31:
        return s * float("inf") if f == 0 else float("nan")
    return s * (1024 + f) * 2.0 ** (e - 25)


def _item(data, i, depth):
    if depth > MAX_DEPTH:
        raise CBORDecodeError("nesting deeper than %d" % MAX_DEPTH)
    if i >= len(data):
        raise CBORDecodeError("truncated: item expected at offset %d" % i)
    ib = data[i]
    mt = ib >> 5
    ai = ib & 31
    i += 1
    if mt == 7:
        if ai == 20:
            return False, i
        if ai == 21:
            return True, i
        if ai == 22:
            return None, i
        if 25 <= ai <= 27:
            n = 1 << (ai - 24)
            if i + n > len(data):
                raise CBORDecodeError("truncated float")
            raw = bytes(data[i:i + n])
            if ai == 25:
                return _half((raw[0] << 8) | raw[1]), i + n
            return struct.unpack(">f" if ai == 26 else ">d", raw)[0], i + n
        if ai == 31:
            raise CBORDecodeError("unexpected break (indefinite length is not supported)")
        raise CBORDecodeError("unsupported simple value (additional information %d)" % ai)
    v, i = _arg(data, i, ai)
    if mt == 0:
        return v, i
    if mt == 1:
        return -1 - v, i
    if mt == 2 or mt == 3:
        if v > len(data) - i:
            raise CBORDecodeError("truncated: string of %d bytes runs past the end" % v)
        s = bytes(data[i:i + v])
        if mt == 3:
            try:
                s = s.decode()
            except UnicodeError:
                raise CBORDecodeError("text string is not valid UTF-8")
        return s, i + v
    if mt == 4:
        if v > len(data) - i:  # each item takes at least one byte
            raise CBORDecodeError("truncated: array of %d items runs past the end" % v)
        out = []
        for _ in range(v):
            x, i = _item(data, i, depth + 1)
            out.append(x)
        return out, i
    if mt == 5:
        if 2 * v > len(data) - i:
            raise CBORDecodeError("truncated: map of %d pairs runs past the end" % v)
        out = {}
        for _ in range(v):
            k, i = _item(data, i, depth + 1)
            x, i = _item(data, i, depth + 1)
            if isinstance(k, (list, dict)):
                raise CBORDecodeError("map key of an unhashable type")
            if k in out:
                raise CBORDecodeError("duplicate map key")
            out[k] = x
        return out, i
    # mt == 6: tag
    x, i = _item(data, i, depth + 1)
    return Tag(v, x), i


# --- encoding ---

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
