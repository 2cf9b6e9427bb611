"""Start-up validation shared by the command-line tools (server, relay, demo).

Every bad value gives ONE line naming the option, the value and what is expected, and a non-zero exit,
before anything starts. Per-value checks are argparse types built here; the checks that relate several
values live in one `validate()` per CLI, which raises ValueError(one line) for `Parser.fail`.
Addresses are checked with the one address normaliser, coap.addr.
"""
import argparse

from coap import addr


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, `PROG: MESSAGE (see --help)`, exit status 2 (no usage dump)."""

    def error(self, message):
        self.exit(2, "%s: %s (see --help)\n" % (self.prog, message))

    def fail(self, message, status=2):
        """A start-up check failed: the one line, then exit."""
        self.exit(status, "%s: %s\n" % (self.prog, message))


def number(lo=None, hi=None, integer=False, above=False, what=None):
    """An argparse type: an int (integer=True) or a float in [lo, hi] (lo excluded when above=True)."""
    kind = "an integer" if integer else "a number"
    if what is None:
        if lo is not None and hi is not None:
            what = "%s %g..%g" % (kind, lo, hi)
        elif lo is not None:
            what = "%s %s %g" % (kind, ">" if above else ">=", lo)
        else:
            what = kind

    def conv(s):
        try:
            v = int(s) if integer else float(s)
        except ValueError:
            v = None
        if v is None or v != v or (lo is not None and (v <= lo if above else v < lo)) or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError("expected %s, got %r" % (what, s))
        return v
    return conv


def port(zero=None):
    """An argparse type: a UDP port 1..65535; with zero="meaning", 0 is accepted too (e.g. 'any free port')."""
    if zero:
        return number(0, 0xFFFF, True, what="a UDP port 1..65535 (or 0: %s)" % zero)
    return number(1, 0xFFFF, True, what="a UDP port 1..65535")


def ip(s):
    """An argparse type: a numeric IPv4 or IPv6 address (text, as given)."""
    try:
        addr.parse_ip(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a numeric IPv4 or IPv6 address, got %r" % (s,))
    return s


def hostport(zero=None):
    """An argparse type: HOST:PORT ([IPv6]:PORT) -> (host, port); port 0 only with zero="meaning"."""
    lo = 0 if zero else 1
    what = "HOST:PORT (numeric address, port %s; IPv6 as [addr]:port)" % (
        "1..65535 or 0: %s" % zero if zero else "1..65535")

    def conv(s):
        h, sep, p = s.rpartition(":")
        h = h[1:-1] if h.startswith("[") and h.endswith("]") else h
        try:
            addr.parse_ip(h)
            pn = int(p)
        except ValueError:
            pn = -1
        if not sep or not lo <= pn <= 0xFFFF:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (what, s))
        return h, pn
    return conv
