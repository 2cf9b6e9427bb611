"""The sans-I/O desktop server core: RFC 7252 (messaging, deduplication, CON retransmission,
4.02/4.04/4.05), RFC 7641 (traditional observation), RFC 7967 (No-Response),
draft-tiloca-core-observe-multicast-notifications-04 (§2 group observation, §5.2 rough counting,
Appendix A.2 introspection) and draft-ietf-core-coap-pm (marking and measuring, `pm=`).

The contract (CONTRACT.md; the board client and the proxy core follow it too). `ServerCore` does no
I/O: no sockets, no clock, no randomness but `rng=`, no address lookups.

Inputs:
  receive(data, src, now, group=None, local=None)
      one datagram `data` from `src` (host, port) at `now` (ms ticks); `group` is the
      (GRP_ADDR, GRP_PORT) it came on, or None (the server only receives unicast); `local` is the
      server's own address towards `src`, as the driver knows it (SRV_ADDR in tp_info when
      Config.srv_addr is None). Returns None.
  tick(now)                   runs the timers due at `now` (retransmissions, rate-limited and
                              periodic notifications, counting rounds). Returns None.
  update(path, value, now, cf=None), start_group(path, now, local=None),
  cancel_group(path, now, why), shutdown(now)
                              the application's inputs (a new representation; §2 "at any time";
                              §2.5). Return None.
Outputs:
  take()                      the datagrams to send, [(bytes, (host, port))], and empties the queue;
                              a destination that is the group is a multicast send.
  next_deadline()             the earliest `now` at which tick() has work, or None.
  what is delivered           PUT/POST set the resources (tools/server/resources.py); counters in
                              .stats, status() and report() for the driver's lines and --stats-json.

Configuration (`Config`): the policies, and the RFC 7252 §4.8 transmission parameters as fields with
the coap.params defaults (ack_timeout_ms, ack_random_factor, max_retransmit, exchange_lifetime_ms,
non_lifetime_ms).
"""
import logging
import random
from collections import OrderedDict

from coap import msg, addr, params
from coap import optinfo as o   # the whole option table (coap.options and more)
from coap.pm import value_of as pm_value_of

from tools.badinput import BadInput
from tools.server.counting import RoughCounter, MAX_CONFIRMATION_WAIT_MS
from tools.server.group import GroupObservation, TokenSpace
from tools.server.resources import Observer, link_format

log = logging.getLogger("coapcast.server")


PRECONDITION_FAILED = 0x8C
PROXYING_NOT_SUPPORTED = 0xA5
MC_SENDER = "/.well-known/core/mc-sender"
WIRE_MAX = 100000     # multicast notifications recorded per group observation (report())
ENDED_MAX = 256       # ended group observations kept for report()


def _handled():
    """Options this server processes (read at call time: options.MRFD etc. can be configured).
    Any other critical option is unrecognized: 4.02 (RFC 7252 §5.4.1)."""
    return (o.IF_MATCH, o.URI_HOST, o.ETAG, o.IF_NONE_MATCH, o.OBSERVE, o.URI_PORT, o.URI_PATH,
            o.CONTENT_FORMAT, o.URI_QUERY, o.ACCEPT, o.BLOCK2, o.SIZE1, o.SIZE2, o.NO_RESPONSE,
            o.PROXY_URI, o.PROXY_SCHEME, o.MRFD, o.PM)


class Config:
    """Server policies. Times in ms. grp: the default (GRP_ADDR, GRP_PORT); srv_addr: the
    SRV_ADDR advertised in tp_info (None: the `local` address the driver passes with the request).
    The RFC 7252 §4.8 transmission parameters (for the CONs the server sends, and how long it
    remembers an exchange) default to coap.params: nothing else defines them."""

    def __init__(self, grp=("224.0.1.187", 5683), srv_addr=None, srv_port=5683,
                 notify_interval_ms=3000, token_len=4, m=32, d=4,
                 wait_ms=MAX_CONFIRMATION_WAIT_MS, every=10, first_after=1, path_mtu=1280,
                 max_payload=1024, max_pending=2000, dedup_max=20000, con_every=20,
                 security=None, log_rate=20, max_observers=1024, ack_timeout_ms=params.ACK_TIMEOUT,
                 ack_random_factor=params.ACK_RANDOM_FACTOR, max_retransmit=params.MAX_RETRANSMIT,
                 exchange_lifetime_ms=params.EXCHANGE_LIFETIME, non_lifetime_ms=params.NON_LIFETIME):
        self.ack_timeout_ms = ack_timeout_ms
        self.ack_random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.exchange_lifetime_ms = exchange_lifetime_ms   # deduplication of CON requests (§4.5)
        self.non_lifetime_ms = non_lifetime_ms             # ... and of NON requests
        self.grp = grp
        self.srv_addr = srv_addr
        self.srv_port = srv_port
        self.notify_interval_ms = notify_interval_ms
        self.token_len = token_len
        self.m = m
        self.d = d
        self.wait_ms = wait_ms
        self.every = every
        self.first_after = first_after
        self.path_mtu = path_mtu
        self.max_payload = max_payload
        self.max_pending = max_pending
        self.dedup_max = dedup_max
        self.con_every = con_every
        self.security = security      # Group OSCORE seam (group.NoSecurity when None)
        self.log_rate = log_rate      # bad-input log lines per second, the rest only counted
        self.max_observers = max_observers  # traditional observers per resource


class _Ctx:
    """The request being answered."""
    __slots__ = ("peer", "mid", "token", "con", "nr", "pm", "resp")

    def __init__(self, peer, mid, token, con, nr, pm):
        self.peer = peer
        self.mid = mid
        self.token = token
        self.con = con
        self.nr = nr          # No-Response value (RFC 7967)
        self.pm = pm          # PM value of the request (echoed through pm.tx)
        self.resp = []        # datagrams sent in reply (kept for duplicates)


class _Pending:
    """A CON we sent, retransmitted until ACK/RST (RFC 7252 §4.2)."""
    __slots__ = ("buf", "peer", "next_at", "timeout", "tries", "kind", "ref")

    def __init__(self, buf, peer, now, timeout, kind, ref):
        self.buf = buf
        self.peer = peer
        self.timeout = timeout
        self.next_at = now + timeout
        self.tries = 0
        self.kind = kind
        self.ref = ref


class ServerCore:
    def __init__(self, resources=(), config=None, pm=None, rng=None):
        self.cfg = config or Config()
        self.pm = pm
        self.rng = rng or random.Random()
        self._local = None            # the server's address towards the current peer (from the driver)
        self.resources = OrderedDict((r.path, r) for r in resources)
        self.groups = {}              # T -> GroupObservation
        self.ended = []               # ended GroupObservations (report())
        self.tokens = {}              # group endpoint -> TokenSpace
        self.pending = {}             # (peer, mid) -> _Pending
        self.dedup = OrderedDict()    # (peer, mid) -> (expiry, [datagrams])
        self.notif_mids = OrderedDict()  # (peer, mid) of NON notifications -> path (RST cancels)
        self._mid = self.rng.randrange(0x10000)
        self.m = msg.Msg()
        self.out = []
        self.stats = dict.fromkeys((
            "rx", "tx", "tx_bytes", "mc_tx", "mc_bytes", "malformed", "dup", "bad_option",
            "not_found", "method", "too_large", "bad_request", "registrations", "confirmations",
            "informative", "trad_registrations", "notifications", "retransmissions", "timeouts",
            "rst", "unexpected", "overload", "errors", "log_suppressed", "not_joined"), 0)
        self._bad_input = BadInput(log, self.stats, self.cfg.log_rate)  # counted, logged rate-limited
        self._mtu_warned = set()

    # ------------------------------------------------------------------ API
    def receive(self, data, src, now, group=None, local=None):
        """One datagram from src ((host, port) or raw sockaddr); `local`: the server's address
        towards src, from the driver (SRV_ADDR when Config.srv_addr is None). What to send: take()."""
        self.stats["rx"] += 1
        self._local = local
        try:
            peer = addr.norm(src)
            self._receive(data, peer, now)
        except Exception as e:  # bad input must never crash the server
            self.stats["errors"] += 1
            log.exception("internal error on a datagram from %r: %s", src, e)
        self._local = None

    def tick(self, now):
        """Timers: retransmissions, rate-limited notifications, periodic values, counting rounds."""
        try:
            self._tick(now)
        except Exception as e:
            self.stats["errors"] += 1
            log.exception("internal error in tick: %s", e)

    def take(self):
        """The datagrams to send, [(bytes, (host, port))] (a group destination: multicast); empties
        the queue."""
        out = self.out
        self.out = []
        return out

    def next_deadline(self):
        """ms of the next timer, or None."""
        d = None
        for p in self.pending.values():
            if d is None or p.next_at < d:
                d = p.next_at
        iv = self.cfg.notify_interval_ms
        for r in self.resources.values():
            for t in (((r.next_refresh or 0) if r.period_ms and r.refresh else None),
                      (r.last_notify + iv) if r.pending and r.last_notify is not None else None,
                      r.group.counter.deadline() if r.group else None):
                if t is not None and (d is None or t < d):
                    d = t
        return d

    def update(self, path, value, now, cf=None):
        """A new representation of a resource (also what PUT/POST do)."""
        res = self.resources[path]
        res.set(value, cf)
        self._changed(res, now)

    def add_resource(self, res):
        self.resources[res.path] = res

    def start_group(self, path, now, local=None):
        """Start a group observation now (draft §2: "at any time"); `local`: the server's address
        towards the group (SRV_ADDR when Config.srv_addr is None). group_for(path) tells whether
        one runs (a bad SRV_ADDR/GRP_ADDR leaves the resource traditional, logged)."""
        res = self.resources[path]
        if res.group is None:
            self._local = local
            self._start_group(res, now, None, None)
            self._local = None

    def cancel_group(self, path, now, why="by request"):
        res = self.resources[path]
        if res.group is not None:
            self._cancel_group(res.group, now, why)

    def shutdown(self, now):
        """Cancel every group observation with the multicast 5.03 (§2.5)."""
        for g in list(self.groups.values()):
            self._cancel_group(g, now, "shutdown")

    def status(self):
        return {"groups": [g.status() for g in self.groups.values()],
                "traditional": {r.path: len(r.observers) for r in self.resources.values() if r.observers},
                "pending": len(self.pending), "stats": dict(self.stats)}

    def report(self):
        """JSON-able summary (--stats-json): every group observation (ended ones first), the PM
        figures (pm.stats()) or None, and the counters (bad = all bad-input kinds)."""
        s = dict(self.stats)
        s["bad"] = sum(s[k] for k in ("malformed", "bad_option", "not_found", "method", "too_large",
                                      "bad_request"))
        return {"groups": [g.report() for g in self.ended + list(self.groups.values())],
                "pm": self.pm.stats() if self.pm is not None else None, "counters": s}

    def group_for(self, path):
        return self.resources[path].group

    # ------------------------------------------------------------ plumbing
    def _next_mid(self):
        self._mid = (self._mid + 1) & 0xFFFF
        return self._mid

    def _send(self, buf, peer, multicast=False):
        self.out.append((buf, peer))
        self.stats["tx"] += 1
        self.stats["tx_bytes"] += len(buf)
        if multicast:
            self.stats["mc_tx"] += 1
            self.stats["mc_bytes"] += len(buf)

    def _pm(self, peer, now, request_value=None):
        return None if self.pm is None else self.pm.tx(peer, now, request_value)

    def _remark(self, buf, peer, now, request_value=None):
        """buf with a fresh PM value: a retransmission or a replayed response is one more packet
        of the flow to peer, so it takes the next Q (C) mark and echoes the latest S (coap-pm §2;
        reusing the old bytes would count two packets against one mark). Unchanged without PM."""
        if self.pm is None or len(buf) <= 4:
            return buf
        m = msg.Msg()
        try:
            m.decode(buf)
        except msg.DecodeError:
            return buf
        if not m.has(o.PM):
            return buf
        v = self.pm.tx(peer, now, request_value)
        opts = [kv for kv in m.items() if kv[0] != o.PM]
        if v is not None:
            opts.append((o.PM, v))
        return msg.encode(m.type, m.code, m.mid, m.token_bytes(), opts,
                          bytes(m.payload()) if m.has_payload() else b"")

    def _bad(self, kind, peer, what, now):
        self._bad_input(kind, peer, what, now)

    def _con(self, buf, peer, now, kind, ref):
        """Send a CON and keep it for retransmission (RFC 7252 §4.2). False when full."""
        if len(self.pending) >= self.cfg.max_pending:
            return False
        mid = (buf[2] << 8) | buf[3]
        c = self.cfg
        t = int(c.ack_timeout_ms * (1 + (c.ack_random_factor - 1) * self.rng.random()))
        self.pending[(peer, mid)] = _Pending(buf, peer, now, t, kind, ref)
        self._send(buf, peer)
        return True

    # ------------------------------------------------------------- receive
    def _receive(self, data, peer, now):
        m = self.m
        try:
            m.decode(data)
        except msg.DecodeError as e:
            self._bad("malformed", peer, "malformed datagram (%s)" % e, now)
            # RFC 7252 §4.2: a CON we cannot process is rejected with RST (if the header is readable)
            if len(data) >= 4 and data[0] >> 6 == 1 and (data[0] >> 4) & 3 == msg.CON:
                self._send(msg.empty(msg.RST, (data[2] << 8) | data[3]), peer)
            return
        req_pm = None    # the request's PM value (echoed through pm.tx)
        if self.pm is not None and m.code:   # empty ACK/RST/ping carry no options: not packets of the marked flow
            req_pm = pm_value_of(m)          # coap.pm reads the option: None absent, -1 malformed
            self.pm.rx(peer, req_pm, now)
            if req_pm is not None and req_pm < 0:
                req_pm = None
        t, code = m.type, m.code
        if code == msg.EMPTY:
            if t == msg.CON:            # CoAP ping (RFC 7252 §4.3)
                self._send(msg.empty(msg.RST, m.mid), peer)
            elif t == msg.NON:
                self._bad("malformed", peer, "empty NON", now)
            else:
                self._match(peer, m.mid, t == msg.RST, now)
            return
        if not msg.is_request(code):
            if msg.is_response(code) and t == msg.ACK:
                self._match(peer, m.mid, False, now)   # a client never piggybacks, but tolerate
            self.stats["unexpected"] += 1
            if t == msg.CON:
                self._send(msg.empty(msg.RST, m.mid), peer)
            return
        if t in (msg.ACK, msg.RST):
            self._bad("malformed", peer, "request in an ACK/RST", now)
            return
        key = (peer, m.mid)
        hit = self.dedup.get(key)
        if hit is not None and hit[0] > now:   # RFC 7252 §4.5: same answer, no re-processing
            self.stats["dup"] += 1
            for buf in hit[1]:   # the replay is a new packet of the flow: fresh PM marking
                self._send(self._remark(buf, peer, now, req_pm), peer)
            return
        ctx = _Ctx(peer, m.mid, m.token_bytes(), t == msg.CON, self._uint(m, o.NO_RESPONSE, 0), req_pm)
        self._request(m, ctx, now)
        cfg = self.cfg
        self.dedup[key] = (now + (cfg.exchange_lifetime_ms if ctx.con else cfg.non_lifetime_ms), ctx.resp)
        self.dedup.move_to_end(key)
        while len(self.dedup) > self.cfg.dedup_max:
            self.dedup.popitem(last=False)

    @staticmethod
    def _uint(m, num, default=None):
        n = m.opt_len(num)
        if n < 0 or not o.check_length(num, n):
            return default
        return m.uint(num, default)

    def _match(self, peer, mid, rst, now):
        p = self.pending.pop((peer, mid), None)
        if rst:
            self.stats["rst"] += 1
        if p is not None:
            if p.kind == "notif":
                res, ob = p.ref
                ob.con_pending = False
                if rst:
                    self._drop_observer(res, ob.peer, "RST to a notification")
            elif rst and p.kind == "join" and p.tries == 0:
                self._not_in_group(p.ref, peer, now, "answered the informative response with RST")
            elif rst and p.kind == "join":
                # an RST after a retransmission may answer a copy the client no longer recognises
                # (its ACK of the first one lost, and its duplicate detection past it, RFC 7252
                # §4.5): no evidence the client is not in the group
                log.info("%s:%d answered a retransmitted informative response for %s with RST", peer[0],
                         peer[1], p.ref.res.path)
            elif rst:
                log.info("%s:%d rejected the informative response for %s (RST)", peer[0], peer[1], p.ref.res.path)
            return
        if rst:
            path = self.notif_mids.pop((peer, mid), None)
            if path is not None:     # RFC 7641 §3.6: RST to a notification ends the observation
                self._drop_observer(self.resources[path], peer, "RST to a notification")

    def _drop_observer(self, res, peer, why):
        if res.observers.pop(peer, None) is not None:
            log.info("observer %s:%d of %s removed: %s", peer[0], peer[1], res.path, why)

    def _not_in_group(self, g, peer, now, why):
        """Observers that never were. §2.2 adds 1 to COUNT per registration, and only the rough
        counting of §5.2 / Appendix B.3 takes it back: with D = 4 and MAX_CONFIRMATION_WAIT 452 s, a
        stray registration from a client that does not implement the draft keeps a group observation
        multicasting to nobody for several rounds (~30 min). The draft leaves the counting method to
        the server (§5.2 "for instance"); our rule: a CON informative response answered with RST
        (RFC 7252 §4.2: the client could not process it; only an RST before any retransmission counts,
        since a retransmitted copy may be RSTed by a client whose ACK was lost) or never ACKed after MAX_RETRANSMIT
        retransmissions (the client is gone) is evidence that this registration joined no group, so
        its +1 is taken back at once (COUNT' of the next B.3 round starts from it). Below B.3's cancel
        threshold the group observation is cancelled (§2.5). An ACK proves nothing (a client that does
        not implement the draft ACKs the 5.03 and ends its observation: that is left to §5.2), nor
        does a NON informative response (no answer expected)."""
        if self.groups.get(g.token) is not g:
            return  # ended since
        self.stats["not_joined"] += 1
        cancel = g.counter.remove(1)
        log.info("%s:%d %s of %s: not in the group, COUNT -> %.1f", peer[0], peer[1], why, g.res.path,
                 g.counter.count)
        if cancel:
            self._cancel_group(g, now, "no observer left (COUNT %.1f)" % g.counter.count)

    # ------------------------------------------------------------- replies
    def _reply(self, ctx, code, now, opts=None, payload=b""):
        """Piggybacked for CON, NON for NON; honours No-Response (RFC 7967 §2)."""
        opts = list(opts or ())
        cls = code >> 5
        if ctx.nr & {2: 2, 4: 8, 5: 16}.get(cls, 0):
            if ctx.con:
                self._ack(ctx)
            return
        v = self._pm(ctx.peer, now, ctx.pm)
        if v is not None:
            opts.append((o.PM, v))
        if ctx.con:
            buf = msg.encode(msg.ACK, code, ctx.mid, ctx.token, opts, payload)
        else:
            buf = msg.encode(msg.NON, code, self._next_mid(), ctx.token, opts, payload)
        ctx.resp.append(buf)
        self._send(buf, ctx.peer)

    def _ack(self, ctx):
        buf = msg.empty(msg.ACK, ctx.mid)
        ctx.resp.append(buf)
        self._send(buf, ctx.peer)

    def _error(self, ctx, code, kind, what, now, opts=None):
        self._bad(kind, ctx.peer, what, now)
        self._reply(ctx, code, now, opts, b"")

    # ------------------------------------------------------------- requests
    def _request(self, m, ctx, now):
        handled = _handled()
        for k in range(m.nopt):
            num = m.onum[k]
            if o.critical(num) and (num not in handled or not o.check_length(num, m.olen[k])):
                # RFC 7252 §5.4.1: CON -> 4.02; NON -> rejected (RST)
                if ctx.con:
                    self._error(ctx, msg.BAD_OPTION, "bad_option", "unrecognized critical option %d" % num, now)
                else:
                    self._bad("bad_option", ctx.peer, "unrecognized critical option %d in a NON" % num, now)
                    self._send(msg.empty(msg.RST, ctx.mid), ctx.peer)
                return
        if m.has(o.PROXY_URI) or m.has(o.PROXY_SCHEME):
            self._error(ctx, PROXYING_NOT_SUPPORTED, "bad_request", "proxy request", now)
            return
        if m.has_payload() and len(m.payload()) > self.cfg.max_payload:
            self._error(ctx, msg.REQUEST_ENTITY_TOO_LARGE, "too_large", "payload of %d bytes" % len(m.payload()),
                        now, [(o.SIZE1, self.cfg.max_payload)])
            return
        try:
            path = m.path()
        except UnicodeError:
            self._error(ctx, msg.BAD_REQUEST, "bad_request", "Uri-Path is not UTF-8", now)
            return
        if path.endswith("/") and len(path) > 1:
            path = path[:-1]
        method = m.code
        if path == "/.well-known/core" or path == MC_SENDER:
            if method != msg.GET:
                self._error(ctx, msg.METHOD_NOT_ALLOWED, "method", "%s on %s" % (msg.code_str(method), path), now)
            elif path == MC_SENDER:
                self._mc_sender(m, ctx, now)
            else:
                self._content(m, ctx, now, link_format(self.resources.values()), o.CF_LINK_FORMAT)
            return
        res = self.resources.get(path)
        if res is None:
            self._error(ctx, msg.NOT_FOUND, "not_found", "no resource %s" % path[:64], now)
            return
        if method == msg.GET:
            self._get(res, m, ctx, now)
        elif method in (msg.PUT, msg.POST) and res.writable:
            self._put(res, m, ctx, now)
        else:
            self._error(ctx, msg.METHOD_NOT_ALLOWED, "method", "%s on %s" % (msg.code_str(method), path), now)

    def _content(self, m, ctx, now, body, cf, extra=()):
        """2.05 with Block2 (RFC 7959) when the client asks for it."""
        opts = [(o.CONTENT_FORMAT, cf)] + list(extra)
        b2 = self._uint(m, o.BLOCK2)
        if b2 is not None:
            szx = min(b2 & 7, 6)
            size = 1 << (szx + 4)
            num = b2 >> 4
            chunk = body[num * size:(num + 1) * size]
            if num and not chunk:
                self._error(ctx, msg.BAD_REQUEST, "bad_request", "Block2 past the end", now)
                return
            more = 1 if (num + 1) * size < len(body) else 0
            opts.append((o.BLOCK2, (num << 4) | (more << 3) | szx))
            body = chunk
        self._reply(ctx, msg.CONTENT, now, opts, body)

    def _mc_sender(self, m, ctx, now):
        """Appendix A.2: GET /.well-known/core/mc-sender?token=HEX -> the informative payload."""
        tok = None
        for q in m.opts(o.URI_QUERY):
            if q.startswith(b"token="):
                try:
                    tok = bytes.fromhex(q[6:].decode())
                except (ValueError, UnicodeError):
                    self._error(ctx, msg.BAD_REQUEST, "bad_request", "mc-sender: bad token", now)
                    return
        if tok is None:
            self._error(ctx, msg.BAD_REQUEST, "bad_request", "mc-sender: no token= query", now)
            return
        g = self.groups.get(tok)
        if g is None:
            self._error(ctx, msg.NOT_FOUND, "not_found", "mc-sender: no group observation %s" % tok.hex(), now)
            return
        self._reply(ctx, msg.CONTENT, now, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], g.info_payload())

    def _put(self, res, m, ctx, now):
        im = m.opts(o.IF_MATCH)
        if (im and any(im)) or m.has(o.IF_NONE_MATCH):   # we issue no ETags; the resource exists
            self._error(ctx, PRECONDITION_FAILED, "bad_request", "precondition on %s" % res.path, now)
            return
        value = bytes(m.payload()) if m.has_payload() else b""
        res.set(value, self._uint(m, o.CONTENT_FORMAT))
        log.info("%s updated by %s:%d (%d bytes)", res.path, ctx.peer[0], ctx.peer[1], len(value))
        self._reply(ctx, msg.CHANGED, now)
        self._changed(res, now)

    def _get(self, res, m, ctx, now):
        acc = self._uint(m, o.ACCEPT)
        if acc is not None and acc != res.cf:
            self._error(ctx, msg.NOT_ACCEPTABLE, "bad_request", "Accept %d on %s" % (acc, res.path), now)
            return
        obs = self._uint(m, o.OBSERVE)
        if obs == 0 and res.observable:
            if res.group_after is not None and self._register_group(res, m, ctx, now):
                return
            self._register_trad(res, m, ctx, now)
            return
        if obs == 1:
            ob = res.observers.get(ctx.peer)
            if ob is not None and ob.token == ctx.token:
                self._drop_observer(res, ctx.peer, "deregistered")
        render = getattr(res, "render", None)  # a computed representation (tools/server/discovery.py)
        self._content(m, ctx, now, res.value if render is None else render(self, m, now), res.cf)

    # ------------------------------------------------- traditional (RFC 7641)
    def _register_trad(self, res, m, ctx, now):
        if ctx.peer not in res.observers and len(res.observers) >= self.cfg.max_observers:
            # RFC 7641 §4.1: unable to add an observer -> a response without Observe
            self._bad("overload", ctx.peer, "%s: observer table full" % res.path, now)
            self._content(m, ctx, now, res.value, res.cf)
            return
        self.stats["trad_registrations"] += 1
        if ctx.peer not in res.observers:
            log.info("traditional observer %s:%d of %s (token %s)", ctx.peer[0], ctx.peer[1], res.path, ctx.token.hex())
        res.observers[ctx.peer] = Observer(ctx.peer, ctx.token, now)   # §4.1: same endpoint replaces
        self._reply(ctx, msg.CONTENT, now, [(o.OBSERVE, res.obs_seq), (o.CONTENT_FORMAT, res.cf)], res.value)

    # --------------------------------------------------- group (draft §2)
    def _register_group(self, res, m, ctx, now):
        """True if handled as part of a group observation."""
        g = res.group
        if g is not None and m.opt_len(o.MRFD) == 0:
            # §5.2.2: a confirmation (empty MRFD), counted as R; No-Response 26 silences the reply
            self.stats["confirmations"] += 1
            g.confirmations += 1
            g.counter.confirm(now)
            self._informative(ctx, g, now)
            return True
        if g is None:
            others = len(res.observers) - (1 if ctx.peer in res.observers else 0)
            if others + 1 < max(res.group_after, 1):
                return False
            g = self._start_group(res, now, m, ctx.peer)
            if g is None:
                return False
        res.observers.pop(ctx.peer, None)
        self.stats["registrations"] += 1
        g.counter.add(1)          # §2.2: every registration increments the observer counter
        log.info("registration %s:%d -> group %s of %s, COUNT %d", ctx.peer[0], ctx.peer[1],
                 g.token.hex(), res.path, g.counter.estimate())
        self._informative(ctx, g, now, counted=True)
        return True

    def _start_group(self, res, now, m, peer):
        cfg = self.cfg
        grp = res.grp or cfg.grp
        srv = cfg.srv_addr or self._local
        try:
            if srv is None:
                raise ValueError("SRV_ADDR unknown (set srv_addr)")
            sr, gr = addr.parse_ip(srv), addr.parse_ip(grp[0])
            if addr.is_link_local(sr) or addr.is_link_local(gr):   # §2.2: no link-local in tp_info
                raise ValueError("link-local address")
            if not addr.is_multicast(gr) or addr.is_multicast(sr):
                raise ValueError("GRP_ADDR must be multicast, SRV_ADDR unicast")
            if len(sr) != len(gr):
                raise ValueError("SRV_ADDR and GRP_ADDR are of different IP versions")
            if sr == bytes(len(sr)):
                raise ValueError("SRV_ADDR is a wildcard address")
        except ValueError as e:
            log.warning("cannot start a group observation of %s (%s, %s): %s; traditional observation",
                        res.path, srv, grp[0], e)
            return None
        ts = self.tokens.get(grp)
        if ts is None:
            ts = self.tokens[grp] = TokenSpace(self.rng, cfg.token_len)
        extra = []
        if m is not None:
            extra = [(o.URI_HOST, v) for v in m.opts(o.URI_HOST)]
        counter = RoughCounter(cfg.m, cfg.d, cfg.wait_ms, cfg.every, cfg.first_after)
        g = GroupObservation(res, ts.alloc(), grp, (srv, cfg.srv_port), counter, cfg.security, extra)
        # §2.1 step 6: INIT_NOTIF, stored, not transmitted
        g.set_last(g.notification(0, res.obs_seq), init=True)
        res.group = g
        self.groups[g.token] = g
        log.info("group observation of %s started: T=%s, %s:%d -> %s:%d", res.path, g.token.hex(),
                 srv, cfg.srv_port, grp[0], grp[1])
        # §2.2: traditional observers move into the group and are told (CON informative response)
        for ob in list(res.observers.values()):
            if ob.peer == peer:
                continue
            g.counter.add(1)
            self._send_informative(ob.peer, ob.token, g, now, None, counted=True)
            log.info("traditional observer %s:%d of %s moved into the group", ob.peer[0], ob.peer[1], res.path)
        res.observers.clear()
        self._check_mtu(res)
        return g

    def _send_informative(self, peer, token, g, now, req_pm, con=True, counted=False):
        """The 5.03 informative response (§2.2). counted: its registration added 1 to COUNT, so an RST
        or no ACK at all takes it back (_not_in_group)."""
        opts = [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)]
        v = self._pm(peer, now, req_pm)
        if v is not None:
            opts.append((o.PM, v))
        buf = msg.encode(msg.CON if con else msg.NON, msg.SERVICE_UNAVAILABLE, self._next_mid(), token, opts,
                         g.info_payload())
        g.informative += 1
        self.stats["informative"] += 1
        if not con:
            self._send(buf, peer)
            return buf
        if not self._con(buf, peer, now, "join" if counted else "info", g):
            return None
        return buf

    def _informative(self, ctx, g, now, counted=False):
        """§2.2: the informative response. CON request: empty ACK, then a separate CON 5.03
        (retransmitted until ACKed). NON request: NON 5.03. No-Response may silence it."""
        if ctx.nr & 16:
            if ctx.con:
                self._ack(ctx)
            return
        if not ctx.con:
            ctx.resp.append(self._send_informative(ctx.peer, ctx.token, g, now, ctx.pm, con=False))
            return
        self._ack(ctx)
        if self._send_informative(ctx.peer, ctx.token, g, now, ctx.pm, counted=counted) is None:
            # too many CONs outstanding (a flood): the client retransmits its request and
            # gets the cached empty ACK; it will re-register later. Counted.
            self._bad("overload", ctx.peer, "informative response dropped: %d CONs pending" % len(self.pending), now)

    def _check_mtu(self, res):
        # §2.4: multicast notification payloads should stay near 5% of the path MTU
        lim = self.cfg.path_mtu * 5 // 100
        if len(res.value) > lim and (res.path, len(res.value)) not in self._mtu_warned:
            self._mtu_warned.add((res.path, len(res.value)))
            log.warning("%s: multicast notification payload %d bytes > ~5%% of the path MTU (%d)",
                        res.path, len(res.value), lim)

    def _cancel_group(self, g, now, why):
        """§2.5: phantom cancellation request, multicast 5.03 without Observe/payload, T freed."""
        buf = g.cancellation(self._next_mid(), self._pm(g.grp, now))
        self._send(buf, g.grp, multicast=True)
        g.res.group = None
        if self.groups.pop(g.token, None) is not None:
            self.ended.append(g)
            del self.ended[:-ENDED_MAX]
        self.tokens[g.grp].free(g.token)
        log.info("group observation of %s cancelled (%s): T=%s, %d notifications sent", g.res.path, why,
                 g.token.hex(), g.sent)

    # --------------------------------------------------- notifications
    def _changed(self, res, now):
        res.pending = True
        if res.last_notify is None or now - res.last_notify >= self.cfg.notify_interval_ms:
            self._notify(res, now)
        # else: coalesced, sent by tick() when the interval has passed (§2.4, RFC 7641 §4.5.1)

    def _notify(self, res, now):
        res.pending = False
        if res.group is None and not res.observers:
            return
        res.last_notify = now
        seq = res.next_seq()
        g = res.group
        if g is not None:
            q = g.counter.on_notification(now)
            buf = g.notification(self._next_mid(), seq, q, self._pm(g.grp, now))
            g.set_last(buf)
            g.sent += 1
            g.bytes_sent += len(buf)
            if len(g.wire) < WIRE_MAX:
                g.wire.append((seq, res.value))
            self.stats["notifications"] += 1
            self._send(buf, g.grp, multicast=True)
            if log.isEnabledFor(logging.INFO):   # (the per-update path builds no log arguments for nothing)
                log.info("notify %s T=%s obs=%d %d B", res.path, g.token.hex(), seq, len(buf))
            self._check_mtu(res)
            if q is not None:
                log.info("rough counting round %d of %s: MRFD Q=%d (COUNT %d, M=%d)", g.counter.rounds + 1,
                         res.path, q, g.counter.estimate(), g.counter.m)
        for ob in list(res.observers.values()):
            ob.sent += 1
            con = ob.sent % self.cfg.con_every == 0 and not ob.con_pending
            opts = [(o.OBSERVE, seq), (o.CONTENT_FORMAT, res.cf)]
            v = self._pm(ob.peer, now)
            if v is not None:
                opts.append((o.PM, v))
            mid = self._next_mid()
            buf = msg.encode(msg.CON if con else msg.NON, msg.CONTENT, mid, ob.token, opts, res.value)
            self.stats["notifications"] += 1
            if con and self._con(buf, ob.peer, now, "notif", (res, ob)):
                ob.con_pending = True
                continue
            self.notif_mids[(ob.peer, mid)] = res.path
            while len(self.notif_mids) > 4096:
                self.notif_mids.popitem(last=False)
            self._send(buf, ob.peer)

    def _close_round(self, g, now):
        before = g.counter.count
        new, cancel = g.counter.close(now)
        h = g.counter.history[-1]
        log.info("rough counting round %d of %s: N=%g Q=%d R=%d E=%d COUNT %.1f -> %.1f, next round in %d",
                 h[0], g.res.path, h[1], h[2], h[3], h[4], before, new, g.counter.until_next)
        if cancel:
            self._cancel_group(g, now, "estimate below %.1f" % g.counter.cancel_below)

    # --------------------------------------------------- timers
    def _tick(self, now):
        for key, p in list(self.pending.items()):
            if p.next_at > now:
                continue
            if p.tries >= self.cfg.max_retransmit:
                del self.pending[key]
                self.stats["timeouts"] += 1
                if p.kind == "notif":
                    res, ob = p.ref
                    ob.con_pending = False
                    self._drop_observer(res, ob.peer, "CON notification not acknowledged")
                elif p.kind == "join":
                    self._not_in_group(p.ref, p.peer, now, "never acknowledged the informative response")
                else:
                    log.info("informative response to %s:%d never acknowledged", p.peer[0], p.peer[1])
                continue
            p.tries += 1
            p.timeout *= 2
            p.next_at = now + p.timeout
            self.stats["retransmissions"] += 1
            p.buf = self._remark(p.buf, p.peer, now)
            self._send(p.buf, p.peer)
        iv = self.cfg.notify_interval_ms
        for res in list(self.resources.values()):
            if res.tick(now):
                self._changed(res, now)
            if res.pending and (res.last_notify is None or now - res.last_notify >= iv):
                self._notify(res, now)
            g = res.group
            if g is not None and g.counter.due(now):
                self._close_round(g, now)
        while self.dedup:
            k, (exp, _) = next(iter(self.dedup.items()))
            if exp > now:
                break
            self.dedup.popitem(last=False)
