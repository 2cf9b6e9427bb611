"""The PM option through the proxy (draft-ietf-core-coap-pm §4.2, §4.3, §7).

  collaborating  (§4.2) the proxy is a PM endpoint on each segment: towards its clients a server
                 (coap.pm.PMEndpoint "server": it reads each client's marks and marks what it sends
                 them, echoing S), towards the servers a client (the upstream coap.client.Client
                 marks its requests and measures the responses and the multicast notifications,
                 keyed by (GRP_ADDR, GRP_PORT) for the group's flow). Marks never cross the proxy:
                 each segment is measured on its own and stats() reports both; the end-to-end
                 figures are their sum (loss: 1 - (1 - a)(1 - b); delay: the client's RTT covers
                 both, the proxy's upstream RTT is the proxy-server part).
  forward        (§4.3.1) a non-collaborating, non-caching proxy told PM is safe to forward: the
                 option goes on untouched in both directions (end to end for one client and one
                 server; this proxy keeps no cache, but its observation fan-out mixes clients).
  strip          (§7) at an administrative boundary: PM is removed in both directions (counted).
Without a ProxyPM (the default) the proxy treats PM as the unsafe option it is (§4.3): it is not
forwarded, in either direction.
"""
from coap import options as o
from coap.pm import PMEndpoint

MODES = ("collaborating", "forward", "strip")


class ProxyPM:
    def __init__(self, pattern=0, mode="collaborating", n=64, t_max=1000, max_peers=64):
        if mode not in MODES:
            raise ValueError("PM mode is one of %s" % ", ".join(MODES))
        self.mode = mode
        self.keep_in_response = mode == "forward"
        self.upstream = self.down = None
        if mode == "collaborating":
            if pattern not in (0, 1):
                raise ValueError("PM pattern is 0 or 1")
            self.down = PMEndpoint("server", pattern, n=n, t_max=t_max, max_peers=max_peers)
            self.upstream = PMEndpoint("client", pattern, n=n, t_max=t_max, max_peers=max_peers)
        self.stripped = 0
        self.forwarded = 0

    def rx_down(self, peer, m, now):
        """A request from a client: its PM value (None without a usable one), measured when collaborating."""
        n = m.opt_len(o.PM)
        v = m.uint(o.PM) if 0 <= n <= 1 else None
        if self.down is not None:
            self.down.rx(peer, v, now)
        elif v is not None and self.mode == "strip":
            self.stripped += 1
        return v

    def mark(self, peer, now, request_value):
        """The PM value for the next message to a client (collaborating), else None."""
        return self.down.tx(peer, now, request_value) if self.down is not None else None

    def forward_opts(self, r, m):
        """The options of the forwarded request: PM goes on only in forward mode."""
        if self.mode == "forward" and r.pm is not None:
            self.forwarded += 1
            return r.opts + [(o.PM, r.pm)]
        return r.opts

    def response(self, m):
        """Counts a PM option in an upstream answer that is not passed on (strip mode)."""
        if self.mode == "strip" and m.has(o.PM):
            self.stripped += 1

    def stats(self):
        return {"mode": self.mode, "clients": self.down.stats() if self.down else None,
                "servers": self.upstream.stats() if self.upstream else None,
                "stripped": self.stripped, "forwarded": self.forwarded}
