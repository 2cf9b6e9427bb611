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
#   obs = c.join("coap://192.0.2.10/ps/topics?href=/r", on_notify)  # Appendix A.1: from discovery data,
#                                          # no registration (or c.join(data, on_notify, path="/r"))
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

    def __init__(self, host="0.0.0.0", port=0, iface="0.0.0.0", ifindex=0, log=print, pm=None, oscore=None,
                 **cfg):
        """host/port: local unicast socket; iface/ifindex: where groups are joined (IPv4 address,
        IPv6 interface index). pm: None (no PM), 0 or 1 (a coap.pm.PMEndpoint with that pattern)
        or a PMEndpoint. oscore: None (unprotected), or protected group observations (draft §6-7):
        a dict with the config keys OSCORE and GROUP_OSCORE (python -m tools.oscore_keys writes them)
        and optionally PM_OSCORE ("outer", "inner", "both"), OSCORE_STEPS (signature-check units per
        loop turn; None: at once), OSCORE_SEQ_FILE (where the Sender Sequence Number survives a
        reboot), or a coap.groupsec.GroupSec; self.sec is it. cfg: token_len, ack_timeout_ms,
        ack_random_factor, max_retransmit, leisure_ms, retry_backoff_ms, rng (see coap.client.Client)."""
        if pm is not None and not hasattr(pm, "tx"):
            from coap.pm import PMEndpoint  # loaded only when PM is on
            pm = PMEndpoint("client", pm)
        self.sec = None
        if oscore is not None:  # loaded only with OSCORE
            from coap import groupsec
            if not hasattr(oscore, "unprotect"):
                oscore = groupsec.from_config(oscore, log)
            self.sec = cfg["sec"] = oscore
        gc.collect()  # long-lived state goes into the holes the imports left (a tight heap stays unfragmented)
        self.pm = pm
        core = client.Client(log=log, pm=pm, **cfg)
        driver.Driver.__init__(self, core, host, port, iface, ifindex, log)
        self.stats = core.stats
        self.driver = self  # (the driver is this object; kept for code that reaches c.driver)

    def observe(self, uri, on_notify, on_end=None, proxy=None, view=True):
        """Observe a coap:// URI. proxy=(host, port) sends it through a forward proxy (Proxy-Uri, §8).
        view=False: on_notify gets None for the payload (a notification then allocates nothing).
        Returns the Observation (.state, .value, .error)."""
        host, port, opts = _uri.parse(uri)
        if proxy is not None:
            dest = _resolve(proxy[0], proxy[1])
            opts = [(options.PROXY_URI, uri)]
        else:
            dest = _resolve(host, port)
        o = self.core.observe(dest, opts, on_notify, ticks_ms(), on_end, view)
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

    def join(self, source, on_notify, on_end=None, path=None, timeout_ms=30000):
        """Appendix A.1: take part in a group observation from discovery data, no registration (see
        coap.join): source is a coap:// URI of a discovery resource (GET, waiting up to timeout_ms)
        or its answer or one informative response's payload; path picks one resource. MRFD polls
        are answered as usual. ValueError: bad data; OSError: the discovery resource did not answer."""
        from coap import join
        if isinstance(source, str):
            source = join.fetch(self, source, timeout_ms)
        data = join.pick(source, path)
        if self.sec is not None:  # Group OSCORE: ph_req and last_notif verified first (§6.3.1)
            data = self.sec.join_data(data)
        o = join.start(self.core, data, on_notify, ticks_ms(), on_end)
        self.flush()
        return o

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
