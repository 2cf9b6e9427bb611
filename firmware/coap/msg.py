# CoAP message codec (RFC 7252 §3, §5.4): the full API. The codec itself is coap.msgcore (what a
# board loads); this module adds the accessors and codes that only the server, the tools and the
# tests use, so a board never holds them in RAM. Every public name of coap.msgcore is here too.
from coap.msgcore import *  # noqa: F401,F403  (CON..RST, GET, CONTENT, ..., DecodeError, encode, from_tim)
from coap import msgcore as _core
from coap.compat import const

EMPTY = const(0x00)
POST = const(0x02)
PUT = const(0x03)
DELETE = const(0x04)
CREATED = const(0x41)
DELETED = const(0x42)
VALID = const(0x43)
CHANGED = const(0x44)
CONTENT = const(0x45)
BAD_REQUEST = const(0x80)
BAD_OPTION = const(0x82)
NOT_FOUND = const(0x84)
METHOD_NOT_ALLOWED = const(0x85)
NOT_ACCEPTABLE = const(0x86)
REQUEST_ENTITY_TOO_LARGE = const(0x8D)
UNSUPPORTED_CONTENT_FORMAT = const(0x8F)
INTERNAL_SERVER_ERROR = const(0xA0)
SERVICE_UNAVAILABLE = const(0xA3)


class Msg(_core.Msg):
    """A decoded message (coap.msgcore.Msg) with every accessor."""

    def token(self):
        return self.view()[4:4 + self.tkl]

    def token_bytes(self):
        return bytes(self.buf[4:4 + self.tkl])

    def has(self, num):
        return self.find(num) >= 0

    def opt_len(self, num):
        """Length of option num, or -1 when absent."""
        k = self.find(num)
        return -1 if k < 0 else self.olen[k]

    def opt(self, num):
        """First value of option num as a memoryview, or None."""
        k = self.find(num)
        if k < 0:
            return None
        o = self.ooff[k]
        return self.view()[o:o + self.olen[k]]

    def opts(self, num):
        """All values of a repeatable option, as a list of bytes."""
        out = []
        buf = self.buf
        for k in range(self.nopt):
            if self.onum[k] == num:
                o = self.ooff[k]
                out.append(bytes(buf[o:o + self.olen[k]]))
        return out

    def path(self):
        """Uri-Path options joined with '/' (leading '/')."""
        p = ""
        for s in self.opts(11):
            p += "/" + s.decode()
        return p or "/"

    def options_end(self):
        """Offset just past the options (where 0xFF or the end is)."""
        return self.pl - 1 if self.pl < len(self.buf) else self.pl


def code_str(code):
    return "%d.%02d" % (code >> 5, code & 31)


def decode(buf):
    """Decode into a fresh Msg (convenience; hot paths reuse one Msg)."""
    return Msg().decode(buf)


def is_request(code):
    return 1 <= code <= 31


def is_response(code):
    return code >= 64
