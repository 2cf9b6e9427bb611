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


# The draft option numbers (TBD in the drafts; coap.options defaults): every CLI that speaks CoAP
# takes them the same way, and both ends of a deployment must agree.
_DRAFT_NUMBERS = (("--mrfd", "mrfd", "Multicast-Response-Feedback-Divider option number (65002)"),
                  ("--ltmr", "ltmr", "Listen-To-Multicast-Responses option number (65003)"),
                  ("--pm-option", "pm", "Performance Measurement option number (65006)"),
                  ("--cf-informative", "cf_informative",
                   "Content-Format of informative responses, application/informative-response+cbor (65000)"))


def add_option_numbers(ap):
    """--mrfd, --ltmr, --pm-option, --cf-informative on parser ap (dest: opt_mrfd ... opt_cf_informative)."""
    for flag, key, help_ in _DRAFT_NUMBERS:
        lo = 0 if key == "cf_informative" else 1
        ap.add_argument(flag, dest="opt_" + key, metavar="N", type=number(lo, 0xFFFF, True), help=help_)


def configure_option_numbers(args):
    """Apply the numbers given (coap.options.configure; none given: the defaults stay). Raises
    ValueError with one line naming the flags, e.g. "--mrfd 11: option number 11 is taken"."""
    from coap import options
    given = {key: getattr(args, "opt_" + key) for _, key, _ in _DRAFT_NUMBERS}
    if all(v is None for v in given.values()):
        return
    try:
        options.configure(**given)
    except ValueError as e:
        flags = " ".join("%s %s" % (flag, given[key]) for flag, key, _ in _DRAFT_NUMBERS if given[key] is not None)
        raise ValueError("%s: %s" % (flags, e))


async def wait_for_stop(duration=0):
    """The main loop of the long-running tools (server, proxy): until SIGINT or SIGTERM, or for
    `duration` seconds when it is > 0."""
    import asyncio
    import signal
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await asyncio.wait_for(stop.wait(), duration or None)
    except asyncio.TimeoutError:
        pass
