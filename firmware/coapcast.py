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

    def __init__(self, host="0.0.0.0", port=0, iface="0.0.0.0", ifindex=0, log=print, **cfg):
        """host/port: local unicast socket; iface/ifindex: where groups are joined (IPv4 address,
        IPv6 interface index). cfg: token_len, ack_timeout_ms, ack_random_factor, max_retransmit,
        leisure_ms, retry_backoff_ms, rng, pm, sec (see coap.client.Client)."""
        gc.collect()  # long-lived state goes into the holes the imports left (a tight heap stays unfragmented)
        core = client.Client(log=log, **cfg)
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
        return addr.norm(socket.getaddrinfo(host, port, 0, 2)[0][-1])
