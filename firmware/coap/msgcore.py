# CoAP message codec core (RFC 7252 §3, §5.4): what the board needs. Decoding is zero-copy: a Msg
# records offsets into the datagram (and decodes Observe and Content-Format in place); token, option
# values and payload are memoryview slices on demand. A Msg is reusable (decode() again into the same
# object): decoding allocates nothing.
# coap.msg is the full codec API on top of this one (more accessors, every response code): the
# server, the tools and the tests use coap.msg; the board modules import only this (RAM).
from coap.compat import const  # (and the emitter names, see there)

CON = const(0)
NON = const(1)
ACK = const(2)
RST = const(3)

GET = const(0x01)

MAX_OPTS = const(24)  # options per message a Msg can hold; more -> DecodeError
_NONE = None  # (viper stores a literal None as 0: decode() stores this object instead)


class DecodeError(ValueError):
    """A malformed CoAP message (the codec's only exception)."""


class Msg:
    """A decoded message: header fields as ints, everything else as offsets into buf. Observe,
    Content-Format and Max-Age (what every notification is read for) are decoded in place: .observe,
    .cf, .max_age (None when absent or longer than 3 bytes; a 4-byte Max-Age reads 0xFFFFFF);
    .top is the highest option number (0: no options)."""

    def __init__(self, maxopts=MAX_OPTS):
        self.buf = b""
        self._mv = None  # a memoryview of _vb, made on first use (a decode allocates nothing)
        self._vb = None
        self.type = 0
        self.code = 0
        self.mid = 0
        self.tkl = 0
        self.nopt = 0
        self.onum = [0] * maxopts
        self.ooff = [0] * maxopts
        self.olen = [0] * maxopts
        self.pl = 0  # payload offset; == len(buf) when there is none
        self.observe = None
        self.cf = None
        self.max_age = None
        self.top = 0

    @micropython.viper  # machine code on the board build (tools/mpy.py; issue 15): ptr8 reads the
    def decode(self, buf):  # bytes in place (plain Python elsewhere, see coap.compat)
        """Parse buf (bytes, bytearray or memoryview) in place. Raises DecodeError."""
        n = int(len(buf))
        if n < 4:
            raise DecodeError("shorter than the 4-byte header")
        p = ptr8(buf)
        b = p[0]
        if b >> 6 != 1:
            raise DecodeError("version is not 1")
        tkl = b & 15
        if tkl > 8:
            raise DecodeError("token length 9-15 is reserved")
        code = p[1]
        i = 4 + tkl
        if i > n:
            raise DecodeError("token runs past the end")
        if code == 0 and n != 4:
            raise DecodeError("empty message (0.00) with token, options or payload")
        self.buf = buf
        self.type = (b >> 4) & 3
        self.code = code
        self.mid = (p[2] << 8) | p[3]
        self.tkl = tkl
        # options (RFC 7252 §3.1): delta/length nibbles, 13 -> +1 byte, 14 -> +2 bytes, 15 reserved
        onum = self.onum
        ooff = self.ooff
        olen = self.olen
        maxk = int(len(onum))
        obs = -1  # (-1: absent; machine ints on the board)
        cf = -1
        ma = -1
        pl = n
        num = 0
        k = 0
        while i < n:
            b = p[i]
            if b == 0xFF:
                if i + 1 == n:
                    raise DecodeError("payload marker followed by an empty payload")
                pl = i + 1
                break
            i += 1
            d = b >> 4
            ln = b & 15
            if d >= 13:  # 13: one extension byte (+13), 14: two (+269)
                if d == 15:
                    raise DecodeError("option nibble 15 outside a payload marker")
                if i + d - 13 >= n:
                    raise DecodeError("option delta runs past the end")
                if d == 13:
                    d = p[i] + 13
                    i += 1
                else:
                    d = ((p[i] << 8) | p[i + 1]) + 269
                    i += 2
            if ln >= 13:
                if ln == 15:
                    raise DecodeError("option nibble 15 outside a payload marker")
                if i + ln - 13 >= n:
                    raise DecodeError("option length runs past the end")
                if ln == 13:
                    ln = p[i] + 13
                    i += 1
                else:
                    ln = ((p[i] << 8) | p[i + 1]) + 269
                    i += 2
            num += d
            if i + ln > n:
                raise DecodeError("option value runs past the end")
            if k == maxk:
                raise DecodeError("more options than a Msg holds (MAX_OPTS)")
            onum[k] = num
            ooff[k] = i
            olen[k] = ln
            k += 1
            if d != 0 and (num == 6 or num == 12 or num == 14):  # Observe, Content-Format, Max-Age:
                if ln <= 3:  # the first of each, as uint (their formats: 0-3, 0-2, 0-4 bytes)
                    v = 0
                    j = i
                    while j < i + ln:
                        v = (v << 8) | p[j]
                        j += 1
                    if num == 6:
                        obs = v
                    elif num == 12:
                        cf = v
                    else:
                        ma = v
                elif num == 14 and ln == 4:
                    ma = 0xFFFFFF  # >= 194 days (the client caps its timers far below)
            i += ln
        if num > 0xFFFF:  # (num only grows: checked once)
            raise DecodeError("option number above 65535")
        self.nopt = k
        self.pl = pl
        self.top = num
        if obs < 0:  # (None when absent; a longer Observe is not one, RFC 7252 §5.4.3)
            self.observe = _NONE
        else:
            self.observe = obs
        if cf < 0:
            self.cf = _NONE
        else:
            self.cf = cf
        if ma < 0:
            self.max_age = _NONE
        else:
            self.max_age = ma
        return self

    # --- accessors (allocate only the view they return) ---
    @micropython.viper
    def token_is(self, tok) -> bool:
        """Compare the token with tok (bytes-like) without allocating."""
        t = int(self.tkl)
        if int(len(tok)) != t:
            return False
        p = ptr8(self.buf)
        q = ptr8(tok)
        k = 0
        while k < t:
            if p[4 + k] != q[k]:
                return False
            k += 1
        return True

    def view(self):
        """A memoryview of the datagram (made on first use, once per decoded message)."""
        b = self.buf
        if self._vb is not b:  # (made for an earlier datagram)
            self._mv = b if type(b) is memoryview else memoryview(b)
            self._vb = b
        return self._mv

    def payload(self):  # (bytecode: there the slice object lives on the stack, native code allocates it)
        """The payload: a memoryview into the datagram (valid while it is)."""
        return memoryview(self.buf)[self.pl:]  # (not view(): called once per message, on the hot path)

    def has_payload(self):
        return self.pl < len(self.buf)

    @micropython.native
    def find(self, num):
        """Index of the first option num, or -1."""
        onum = self.onum
        for k in range(self.nopt):
            if onum[k] == num:
                return k
            if onum[k] > num:
                break
        return -1

    @micropython.native
    def uint(self, num, default=None):
        """Value of a uint option, or default when absent (no allocation for small ints)."""
        k = self.find(num)
        if k < 0:
            return default
        buf = self.buf
        o = self.ooff[k]
        v = 0
        for j in range(o, o + self.olen[k]):
            v = (v << 8) | buf[j]
        return v

    def items(self):
        """[(number, bytes)] for every option, in order."""
        buf = self.buf
        out = []
        for k in range(self.nopt):
            o = self.ooff[k]
            out.append((self.onum[k], bytes(buf[o:o + self.olen[k]])))
        return out

def encode_options(opts, out=None):
    """Serialise [(number, value)] (any order; repeats keep their order) to bytes.

    A value is bytes-like, str, int (uint, shortest form) or None (empty).
    """
    from coap.options import encode_value
    if out is None:
        out = bytearray()
    last = 0
    # insertion sort of the indices by option number: stable, so repeats keep their order
    # (MicroPython's sort is not stable)
    n = len(opts)
    order = list(range(n))
    for i in range(1, n):
        k = order[i]
        j = i
        while j and opts[order[j - 1]][0] > opts[k][0]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = k
    for k in order:
        num, val = opts[k]
        v = encode_value(num, val)
        d = num - last
        ln = len(v)
        at = len(out)
        out.append(0)
        hdr = 0
        for x in (d, ln):  # nibble, then 0/1/2 extension bytes (RFC 7252 §3.1): delta first, then length
            hdr <<= 4
            if x < 13:
                hdr |= x
            elif x < 269:
                hdr |= 13
                out.append(x - 13)
            else:
                hdr |= 14
                out.append((x - 269) >> 8)
                out.append((x - 269) & 0xFF)
        out[at] = hdr
        out += v
        last = num
    return out


def encode(mtype, code, mid, token=b"", opts=(), payload=b""):
    """Serialise a whole message to bytes."""
    if len(token) > 8:
        raise ValueError("token longer than 8 bytes")
    if not 0 <= mid <= 0xFFFF:
        raise ValueError("message id out of range")
    out = bytearray(4)
    out[0] = 0x40 | (mtype << 4) | len(token)
    out[1] = code
    out[2] = mid >> 8
    out[3] = mid & 0xFF
    out += token
    if opts:
        encode_options(opts, out)
    if payload:
        out.append(0xFF)
        out += payload
    return bytes(out)


def empty(mtype, mid):
    """An empty ACK or RST (RFC 7252 §4.2, §4.3)."""
    return bytes((0x40 | (mtype << 4), 0, mid >> 8, mid & 0xFF))


# --- transport-independent message information (draft §2.2.1): code | options | 0xFF payload ---
# (to_tim, the server's side, is in coap.inforespenc)

def from_tim(tim, token, mtype=NON, mid=0):
    """Rebuild a full message from transport-independent information and a token.
    Raises DecodeError (malformed information) or ValueError (token longer than 8 bytes)."""
    if len(tim) < 1:
        raise DecodeError("transport-independent information is empty")
    buf = encode(mtype, tim[0], mid, token) + bytes(tim[1:])
    Msg().decode(buf)  # validate
    return buf
