# coapcast: the board's app API for (group) observation.
#
#   import coapcast
#   c = coapcast.Client()                  # Client(iface="127.0.0.1") on loopback
#   def on_notify(payload, cf, observe, via):  # via: coapcast.GROUP or coapcast.UNICAST
#       print(bytes(payload))
#   obs = c.observe("coap://192.0.2.10/r", on_notify)
#   c.run()                                # or: asyncio.create_task(c.task())
#   print(c.stats)                         # received, delivered, duplicates, reordered, dropped{reason: n}
#   c.stop(obs)
#   c.post("coap://192.0.2.10/telemetry", b"up=42", cb)   # cb(code, payload, cf); code None: no answer
#
# Performance measurement (draft-ietf-core-coap-pm): Client(pm=0) or pm=1 (the pattern) marks every
# request and measures every response and multicast notification; c.pm_stats() / c.pm.lines() give
# the figures per flow (the server's unicast flow, and each group's flow of multicast notifications).
#
# The payload is a memoryview valid during the callback only: copy it (bytes(payload)) to keep it.
import gc

from coap import client, driver, uri as _uri, addr, options
from coap.compat import ticks_ms

GROUP = client.VIA_GROUP
UNICAST = client.VIA_UNICAST


class Client(driver.Driver):
    """The board's client: the socket driver (service(), run(), task(), close(), see coap.driver)
    around a sans-I/O core (coap.client), with observe()/stop() taking coap:// URIs."""

    def __init__(self, host="0.0.0.0", port=0, iface="0.0.0.0", ifindex=0, log=print, pm=None, **cfg):
        """host/port: local unicast socket; iface/ifindex: where groups are joined (IPv4 address,
        IPv6 interface index). pm: None (no PM), 0 or 1 (a coap.pm.PMEndpoint with that pattern)
        or a PMEndpoint. cfg: token_len, ack_timeout_ms, ack_random_factor, max_retransmit,
        leisure_ms, retry_backoff_ms, rng, sec (see coap.client.Client)."""
        if pm is not None and not hasattr(pm, "tx"):
            from coap.pm import PMEndpoint  # loaded only when PM is on
            pm = PMEndpoint("client", pm)
        gc.collect()  # long-lived state goes into the holes the imports left (a tight heap stays unfragmented)
        self.pm = pm
        core = client.Client(log=log, pm=pm, **cfg)
        driver.Driver.__init__(self, core, host, port, iface, ifindex, log)
        self.stats = core.stats
        self.driver = self  # (the driver is this object; kept for code that reaches c.driver)

    def observe(self, uri, on_notify, on_end=None, proxy=None):
        """Observe a coap:// URI. proxy=(host, port) sends it through a forward proxy (Proxy-Uri, §8).
        Returns the Observation (.state, .value, .error)."""
        host, port, opts = _uri.parse(uri)
        if proxy is not None:
            dest = _resolve(proxy[0], proxy[1])
            opts = [(options.PROXY_URI, uri)]
        else:
            dest = _resolve(host, port)
        o = self.core.observe(dest, opts, on_notify, ticks_ms(), on_end)
        self.flush()
        return o

    def post(self, uri, payload, cb=None, cf=None, confirmable=True, method=2):
        """A plain request (POST; method=1 GET, 3 PUT, 4 DELETE) to a coap:// URI with Content-Format
        cf. cb(code, payload, cf) once (code None: timeout / Reset). Returns the request (.state,
        .code, .error). PM-marked when PM is on."""
        host, port, opts = _uri.parse(uri)
        if cf is not None:
            opts.append((options.CONTENT_FORMAT, cf))
        r = self.core.request(_resolve(host, port), method, opts, payload, cb, ticks_ms(), confirmable)
        self.flush()
        return r

    def pm_stats(self):
        """PM figures per flow (coap.pm.PMEndpoint.stats(), keyed "host:port"), None without PM.
        One report line per flow: c.pm.lines()."""
        return None if self.pm is None else self.pm.stats()

    def stop(self, obs, rst=False):
        """Stop observing (traditional: deregister; group: forget, optionally RST the next one)."""
        self.core.cancel(obs, ticks_ms(), rst)
        self.flush()


def _resolve(host, port):
    try:
        addr.parse_ip(host)
        return (host, port)
    except ValueError:
        import socket
        try:
            return addr.norm(socket.getaddrinfo(host, port, 0, 2)[0][-1])
        except OSError:  # the raw "[addrinfo error -2]" / gaierror says no more than this
            raise OSError("cannot resolve host %r" % host)
