# Compact, strict CBOR (RFC 8949) for the board: the subset the draft needs, names as in cbor2.
# Decodes: unsigned/negative ints (up to 64 bits), byte/text strings, arrays, maps, tags,
# false/true/null, half/single/double floats. Definite lengths only; nesting is bounded.
# The encoder (dumps) lives in coap.cborenc: the board only decodes.
import struct

MAX_DEPTH = 16
_TRUNCATED = "truncated: %s runs past the end"


# The board's decoders share one exception class for malformed input (a ValueError; one class
# less in RAM): coap.msgcore.DecodeError, under the name cbor2 uses.
from coap.msgcore import DecodeError as CBORDecodeError  # noqa: E402


class Tag:
    """A tagged item (cbor2.CBORTag)."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and self.tag == other.tag and self.value == other.value

    def __hash__(self):  # equal tags have equal numbers (the value may be unhashable)
        return hash(self.tag)


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


def _item(data, i, depth):
    if depth > MAX_DEPTH:
        raise CBORDecodeError("nesting deeper than %d" % MAX_DEPTH)
    if i >= len(data):
        raise CBORDecodeError(_TRUNCATED % "value")
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
                raise CBORDecodeError(_TRUNCATED % "float")
            raw = bytes(data[i:i + n])
            if ai == 25:  # half precision (RFC 8949 Appendix D)
                h = (raw[0] << 8) | raw[1]
                e = (h >> 10) & 0x1F
                f = h & 0x3FF
                if e == 0:
                    v = f * 2.0 ** -24
                elif e == 31:
                    v = float("inf") if f == 0 else float("nan")
                else:
                    v = (1024 + f) * 2.0 ** (e - 25)
                return -v if h & 0x8000 else v, i + n
            return struct.unpack(">f" if ai == 26 else ">d", raw)[0], i + n
        if ai == 31:
            raise CBORDecodeError("indefinite length is not supported")
        raise CBORDecodeError("unsupported additional information %d" % ai)
    # the argument of the initial byte (RFC 8949 §3)
    if ai < 24:
        v = ai
    else:
        if ai > 27:
            raise CBORDecodeError("indefinite length is not supported" if ai == 31 else
                                  "unsupported additional information %d" % ai)
        n = 1 << (ai - 24)
        if i + n > len(data):
            raise CBORDecodeError(_TRUNCATED % "arg")
        v = 0
        for k in range(i, i + n):
            v = (v << 8) | data[k]
        i += n
    if mt == 0:
        return v, i
    if mt == 1:
        return -1 - v, i
    if mt == 2 or mt == 3:
        if v > len(data) - i:
            raise CBORDecodeError(_TRUNCATED % "str")
        s = bytes(data[i:i + v])
        if mt == 3:
            try:
                s = s.decode()
            except UnicodeError:
                raise CBORDecodeError("text string is not valid UTF-8")
        return s, i + v
    if mt == 4:
        if v > len(data) - i:  # each item takes at least one byte
            raise CBORDecodeError(_TRUNCATED % "array")
        out = []
        for _ in range(v):
            x, i = _item(data, i, depth + 1)
            out.append(x)
        return out, i
    if mt == 5:
        if 2 * v > len(data) - i:
            raise CBORDecodeError(_TRUNCATED % "map")
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
