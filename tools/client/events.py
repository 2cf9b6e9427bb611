"""The desktop client's request runner and its output (one line, or one JSON object, per event).

Events: notification (observe, via, cf, payload), response (code, cf, payload), registered (group or
traditional, with the group and T of a group observation), end (reason), pm (per flow figures),
stats (the core's counters), error (one line). The network side is coapcast.Client: the board's
driver and sans-I/O core (coap.client) unchanged under CPython.
"""
import json

import coapcast
from coap import addr, cbor, client as core, options, uri as coap_uri

METHODS = {"get": 1, "post": 2, "put": 3, "delete": 4}
_TEXT_CF = (0, 50, 110, 111, 40)   # text/plain, application/json, senml+json, sensml+json, link-format


def render(payload, cf):
    """A payload for people and JSON: ("text", str) or ("hex", str); CBOR (cf 60) as its diagnostic."""
    b = bytes(payload)
    if cf == 60:
        try:
            v = cbor.loads(b)
            return "cbor", json.dumps(v, default=lambda x: x.hex() if isinstance(x, (bytes, bytearray)) else repr(x))
        except Exception:  # a malformed CBOR payload is still shown, as hex
            return "hex", b.hex()
    if cf is None or cf in _TEXT_CF:
        try:
            s = b.decode()
            if s.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in s):
                return "text", s
        except UnicodeDecodeError:
            pass
    return "hex", b.hex()


def code_text(code):
    return "%d.%02d" % (code >> 5, code & 31)


class Printer:
    def __init__(self, stream, as_json=False, err=None):
        import sys
        self.stream = stream
        self.err = err or sys.stderr
        self.as_json = as_json

    def event(self, name, **f):
        if self.as_json:
            d = {"event": name}
            d.update(f)
            line = json.dumps(d)
        else:
            parts = [name]
            for k, v in f.items():
                if v is None:
                    continue
                parts.append("%s=%s" % (k, v if isinstance(v, (int, float)) else json.dumps(v)
                                        if not isinstance(v, str) or " " in v or not v else v))
            line = " ".join(parts)
        self.stream.write(line + "\n")
        self.stream.flush()

    def error(self, message):
        """The one line an error gets."""
        if self.as_json:
            self.event("error", message=message)
        else:
            self.err.write("python -m tools.client: %s\n" % message)
            self.err.flush()


def _resolve(host, port):
    """The numeric address of host, through the board's own resolver (coapcast._resolve)."""
    try:
        return coapcast._resolve(host, port)[0]
    except (OSError, UnicodeError):
        raise ValueError("cannot resolve host %r" % (host,))


class Request:
    """One command: an observation or a request, with its limits."""

    def __init__(self, method, uri, host, port, payload=b"", cf=None, con=True, count=None, duration=None,
                 timeout=30.0, iface="0.0.0.0", ifindex=0, bind=None, proxy=None, pm=None, pm_every=10.0):
        self.method, self.uri, self.host, self.port = method, uri, host, port
        self.payload, self.cf, self.con = payload, cf, con
        self.count, self.duration, self.timeout = count, duration, timeout
        self.iface, self.ifindex, self.bind, self.proxy = iface, ifindex, bind, proxy
        self.pm, self.pm_every = pm, pm_every
        self.c = None
        self.obs = None
        self.notifications = 0
        self.answer = None       # (code, cf, payload) of a request's answer, or "none"
        self.ended = None        # an observation's end reason
        self.out = None

    @classmethod
    def from_args(cls, a):
        """Validate the command line (ValueError: one line naming the value)."""
        try:
            options.configure(mrfd=a.mrfd, ltmr=a.ltmr, pm=a.pm_option, cf_informative=a.cf_informative)
        except ValueError as e:
            raise ValueError("option numbers: %s" % e)
        try:
            host, port, _ = coap_uri.parse(a.uri)
        except ValueError as e:
            raise ValueError("bad URI %r: %s" % (a.uri, e))
        if a.payload is not None and a.payload_hex is not None:
            raise ValueError("give --payload or --payload-hex, not both")
        payload = b""
        if a.payload is not None:
            payload = a.payload.encode()
        elif a.payload_hex is not None:
            try:
                payload = bytes.fromhex(a.payload_hex)
            except ValueError:
                raise ValueError("--payload-hex %r is not hex" % (a.payload_hex,))
        if payload and a.method in ("get", "delete", "observe"):
            raise ValueError("%s takes no payload" % a.method)
        if a.method != "observe" and (a.count is not None or a.duration is not None):
            raise ValueError("--count and --duration are for observe")
        if a.iface != "0.0.0.0":
            try:
                if len(addr.parse_ip(a.iface)) != 4:
                    raise ValueError
            except ValueError:
                raise ValueError("--iface %r: expected the IPv4 address of the interface for group joins "
                                 "(IPv6: --ifindex)" % (a.iface,))
        target = a.proxy[0] if a.proxy else _resolve(host, port)
        bind = a.bind
        if bind is None:
            bind = "::" if ":" in target else "0.0.0.0"
        else:
            try:
                addr.parse_ip(bind)
            except ValueError:
                raise ValueError("--bind %r is not a numeric address" % (bind,))
        return cls(a.method, a.uri, host, port, payload, a.cf, not a.non, a.count, a.duration, a.timeout, a.iface,
                   a.ifindex, bind, a.proxy, a.pm, a.pm_every)

    # ---- running ----
    def _log(self, line):
        if self.out is not None:
            self.out.event("log", message=str(line))

    def _on_notify(self, payload, cf, observe, via):
        self.notifications += 1
        kind, text = render(payload, cf)
        o = self.obs
        if self.notifications == 1 and o is not None:
            self._registered(o)
        self.out.event("notification", observe=observe, via="group" if via == coapcast.GROUP else "unicast",
                       cf=cf, **{"payload" if kind != "hex" else "payload_hex": text})

    def _registered(self, o):
        if o.state == core.GROUP and o.grp is not None:
            self.out.event("registered", kind="group", group="%s:%d" % o.grp,
                           token=bytes(o.token).hex(), server="%s:%d" % (o.src or o.dest))
        elif o.state == core.PROXY:
            self.out.event("registered", kind="group via proxy", proxy="%s:%d" % o.dest)
        else:
            self.out.event("registered", kind="traditional")

    def _on_end(self, o, reason):
        self.ended = reason or "ended"

    def _on_answer(self, code, payload, cf):
        if code is None:
            self.answer = "none"
            return
        self.answer = (code, cf, render(payload, cf) if payload is not None else ("text", ""))

    def run(self, out, clock):
        """Run until done; returns the exit status."""
        self.out = out
        self.c = coapcast.Client(host=self.bind, iface=self.iface, ifindex=self.ifindex, log=self._log, pm=self.pm)
        t0 = clock()
        next_pm = t0 + self.pm_every
        dest = "%s:%d" % (self.proxy or (self.host, self.port))
        if self.method == "observe":
            self.obs = self.c.observe(self.uri, self._on_notify, self._on_end, proxy=self.proxy)
        else:
            r = self.c.post(self.uri, self.payload, self._on_answer, self.cf, self.con, METHODS[self.method])
        while True:
            self.c.service(50)
            now = clock()
            if self.pm is not None and now >= next_pm:
                self._pm()
                next_pm = now + self.pm_every
            if self.method != "observe":
                if self.answer == "none":
                    self.out.error("no answer from %s (%s)" % (dest, r.error or "timeout"))
                    return 1
                if self.answer is not None:
                    code, cf, (kind, text) = self.answer
                    out.event("response", code=code_text(code), cf=cf,
                              **{"payload" if kind != "hex" else "payload_hex": text})
                    return 0 if code >> 5 == 2 else 1
                if now - t0 > self.timeout:
                    self.out.error("no answer from %s after %g s" % (dest, self.timeout))
                    return 1
                continue
            o = self.obs
            if self.ended is not None:
                return self._ended(o, dest)
            if o.state == core.REG and self.notifications == 0 and now - t0 > self.timeout:
                self.out.error("no answer from %s after %g s" % (dest, self.timeout))
                return 1
            if self.count is not None and self.notifications >= self.count:
                return 0
            if self.duration is not None and now - t0 >= self.duration:
                return 0

    def _ended(self, o, dest):
        reason = self.ended
        if reason == "timeout":
            self.out.error("no answer from %s (the registration timed out)" % dest)
            return 1
        if reason.startswith("inforesp"):
            self.out.error("%s answered 5.03 but not with a valid informative response (%s)" % (dest, reason))
            return 1
        if reason.startswith("error response"):
            self.out.error("%s answered %s" % (dest, reason[len("error response "):]))
            return 1
        self.out.event("end", reason=reason)
        return 0 if "cancelled" in reason else 1

    def _pm(self):
        if self.c is None or self.c.pm is None:
            return
        st = self.c.pm_stats()
        for flow, d in sorted(st.get("peers", {}).items()):
            f = {"flow": flow}
            for k in ("pattern", "pkts", "loss_pct", "lost", "expected", "rtt_ms", "rtt_n", "tx"):
                if k in d:
                    f[k] = d[k]
            if self.out.as_json:
                f["figures"] = d
            self.out.event("pm", **f)

    def close(self, out):
        self.out = out
        c = self.c
        if c is None:
            return
        try:
            if self.obs is not None and self.obs.state in (core.TRAD, core.GROUP, core.PROXY):
                c.stop(self.obs)       # traditional: the RFC 7641 §3.6 deregistration goes out
                c.service(0)
            if self.pm is not None:
                self._pm()
            s = c.stats
            out.event("stats", received=s.received, delivered=s.delivered, duplicates=s.duplicates,
                      reordered=s.reordered, feedback=s.feedback,
                      dropped={k: v for k, v in s.dropped.items() if v})
        finally:
            c.close()
