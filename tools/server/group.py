# One group observation (draft -04 §2): token T from the group endpoint's token space,
# the phantom request, the latest multicast notification (INIT_NOTIF first), tp_info,
# the observer counter (rough counting, §5.2) and the phantom cancellation (§2.5).
# O(1) state per group observation, whatever the number of observers.
from coap import msg, inforespenc, addr
from coap import options as o

from tools.server.counting import RoughCounter


class TokenSpace:
    """The token space of the CoAP endpoint "source GRP_ADDR:GRP_PORT, destination
    SRV_ADDR:SRV_PORT" (§2.1 step 2), under exclusive control of the server."""

    def __init__(self, rng, length=4):
        if not 1 <= length <= 8:
            raise ValueError("token length must be 1..8")
        self.rng = rng
        self.length = length
        self.used = set()
        self.retired = []   # recently freed tokens are not reused at once (stale clients)

    def alloc(self):
        for _ in range(1000):
            t = bytes(self.rng.getrandbits(8) for _ in range(self.length))
            if t not in self.used and t not in self.retired:
                self.used.add(t)
                return t
        raise RuntimeError("group token space exhausted")

    def free(self, t):
        self.used.discard(t)
        self.retired.append(t)
        del self.retired[:-64]


class NoSecurity:
    """The seam for Group OSCORE (draft §6, §7): every phantom request and every multicast
    message passes through here. A Group OSCORE implementation replaces protect() and adds
    the informative-response parameters 4..12 (join_uri, sec_gp, ...) through extra()."""

    def protect(self, group, buf, kind):
        """kind: 'ph_req', 'notif', 'cancel', 'ph_cancel'. Returns the bytes to use."""
        return buf

    def extra(self, group):
        return None


class GroupObservation:
    def __init__(self, res, token, grp, srv, counter=None, security=None, extra_opts=()):
        self.res = res
        self.token = token                  # T
        self.grp = grp                      # (GRP_ADDR, GRP_PORT)
        self.srv = srv                      # (SRV_ADDR, SRV_PORT)
        self.counter = counter or RoughCounter()
        self.security = security or NoSecurity()
        self.target = [(o.URI_PATH, s) for s in res.segments()] + list(extra_opts)
        # §2.1 steps 1-5: the phantom registration request, kept for the group's life
        self.ph_req = self.security.protect(
            self, msg.encode(msg.NON, msg.GET, 0, token, [(o.OBSERVE, 0)] + self.target), "ph_req")
        self.last_notif = None
        self.init = True                    # last_notif is INIT_NOTIF (not on the wire yet)
        self.sent = 0                       # multicast notifications sent
        self.informative = 0                # informative responses sent
        self.bytes_sent = 0
        self.confirmations = 0              # registrations with an empty MRFD (§5.2.2) received
        self.wire = []                      # [(Observe, payload)] of the notifications sent (report)
        self._payload = None
        self.srv_raw = addr.parse_ip(srv[0])
        self.grp_raw = addr.parse_ip(grp[0])

    def notification(self, mid, seq, q=None, pm=None):
        """A multicast notification (§2.3): NON, Observe, token T, current representation;
        MRFD = q when asking for feedback (§5.2.1)."""
        res = self.res
        opts = [(o.OBSERVE, seq), (o.CONTENT_FORMAT, res.cf)]
        if q is not None:
            opts.append((o.MRFD, q))
        if pm is not None:
            opts.append((o.PM, pm))
        buf = msg.encode(msg.NON, msg.CONTENT, mid, self.token, opts, res.value)
        return self.security.protect(self, buf, "notif")

    def set_last(self, buf, init=False):
        """§2.3: the server stores the latest multicast notification (INIT_NOTIF first, §2.1 step 6)."""
        self.last_notif = buf
        self.init = init
        self._payload = None

    def info_payload(self):
        """The informative response payload (§2.2), built by coap.inforespenc (one encoder)."""
        if self._payload is None:
            self._payload = inforespenc.build(
                inforespenc.to_tim(self.ph_req), inforespenc.to_tim(self.last_notif), self.token,
                self.srv_raw, self.srv[1], self.grp_raw,
                None if self.grp[1] == inforespenc.DEFAULT_PORT else self.grp[1],
                self.security.extra(self))
        return self._payload

    def cancellation(self, mid, pm=None):
        """§2.5: the phantom cancellation request (GET Observe 1, same options, token T; never
        on the wire) and the multicast 5.03 without Observe and payload. Returns the 5.03."""
        ph_cancel = msg.encode(msg.NON, msg.GET, 0, self.token, [(o.OBSERVE, 1)] + self.target)
        self.ph_cancel = self.security.protect(self, ph_cancel, "ph_cancel")
        buf = msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, mid, self.token,
                         [(o.PM, pm)] if pm is not None else ())
        return self.security.protect(self, buf, "cancel")

    def status(self):
        c = self.counter
        return {"path": self.res.path, "token": self.token.hex(), "grp": "%s:%d" % self.grp,
                "count": c.estimate(), "count_f": c.count, "notifications": self.sent,
                "informative": self.informative, "rounds": c.rounds, "round_open": c.open}

    def report(self):
        """The JSON-able record of this group observation (--stats-json): R summed over the
        rounds (closed and open) and every multicast notification put on the wire."""
        c = self.counter
        r = sum(h[3] for h in c.history) + (c.r if c.open else 0)
        return {"path": self.res.path, "token": self.token.hex(), "grp": "%s:%d" % self.grp,
                "count": c.estimate(), "rounds": c.rounds, "confirmations": r,
                "confirmations_rx": self.confirmations, "late": c.late,
                "notifications": [[seq, p.hex()] for seq, p in self.wire]}
