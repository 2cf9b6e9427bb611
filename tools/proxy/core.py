"""The forward proxy's sans-I/O core: RFC 7252 §5.7 forwarding, RFC 7641 §5 observation through a
proxy, and group observations through a proxy (draft-tiloca-core-observe-multicast-notifications-04
§8, §5.1).

    p = ProxyCore(ProxyConfig(...), rng=random.Random(), resolve=names.get)

Inputs:
    p.receive(data, src, now, group=None)  one datagram from src (host, port) at now (ms); group: the
                                           (GRP_ADDR, GRP_PORT) socket it came on, None for unicast
    p.tick(now)                            run the timers due at now
Outputs:
    p.take()            [(bytes, (host, port))] to send; the queue is emptied
    p.next_deadline()   the earliest time tick() has work, or None
    p.groups            {(GRP_ADDR, GRP_PORT): n}: the groups the driver must have joined (and only those)
    p.stats             counters (p.status(): a summary)
No sockets, clock, sleeps or DNS of its own: `rng` and `resolve(name) -> (address, port|None)|None`
are injected; RFC 7252 §4.8 parameters are ProxyConfig fields with the coap.params defaults.

Towards the servers the proxy is ONE coap.client.Client, the board's own core: registrations, CON
retransmission, the informative response (§3.2; behind another proxy §8), multicast notifications
on T from SRV_ADDR:SRV_PORT, MRFD answers (§5.1: the proxy counts as one client), re-registration after
silence. Towards its clients it is a server (tools/proxy/exchange.py): duplicate detection,
piggybacked or separate answers, CON retransmission. Datagrams: requests come from clients;
responses, and everything on a group socket, go to the upstream core; an empty ACK/RST goes to the
side whose Message ID it matches.

A Target is one upstream observation, keyed by destination and cache-key options (RFC 7641 §5):

    upstream     event                                      the proxy
    REG          informative response accepted (§8)         forwards it (CON, the client's token) to every
                                                            waiting client; each becomes an observer
    REG          2.xx with Observe                          answers the waiting clients; observers
    REG          2.xx without Observe                       answers the waiting clients; target gone
    TRAD         a new client registers                     answers it from the latest notification
    GROUP/PROXY  a new client registers                     re-registers upstream (§8: the request is
                                                            forwarded); the new informative response goes
                                                            to the waiting clients only
    GROUP/PROXY  informative response with a new T/group    also re-sent to every observer (server restart)
    any          notification (multicast or unicast)        to every observer: its token, the proxy's
                                                            Observe, NON (CON every con_every-th, or when
                                                            the origin sent CON); MRFD stripped
    any          upstream ended (§2.5 5.03, error, timeout)  error to waiting clients and observers; gone
    any          last observer gone (RST, CON timeout,      up.cancel(): deregistration (TRAD) or
                 Observe 1)                                 forgetting T and leaving the group (§3.4)

The proxy's Observe numbers: a counter for a traditional observation. For a group observation a
client's reordering baseline is last_notif's Observe inside the informative response, which the
proxy forwards unmodified (§8; under §9 it cannot read it): the proxy sends the origin's Observe plus
a per-group offset drawn in [1, 2**20), always fresher than that baseline (RFC 7641 §3.4), also
through a chain of proxies.

§9 (informative responses protected end to end): tools/proxy/ticket.py (self.tickets) consumes the
ticket request and listens to the group for it.
"""
import logging
import random

from coap import client as cc
from coap import cose
from coap import msg, params
from coap import optinfo as o   # the whole option table (coap.options and more)

from tools.badinput import BadInput
from tools.proxy import route as R
from tools.proxy.exchange import Downstream
from tools.proxy.ticket import Tickets, observe_offset

log = logging.getLogger("coapcast.proxy")

_OBS_MASK = 0xFFFFFF


def _max_age(m):
    """Max-Age of a response in s (RFC 7252 §5.10.5: 60 when absent)."""
    return m.uint(o.MAX_AGE, 60) if 0 <= m.opt_len(o.MAX_AGE) <= 4 else 60


class Upstream(cc.Client):
    """The proxy's side towards the servers: the board's client core, plus the one thing only a
    proxy asks of it."""

    def reregister(self, o, now):
        """Send o's registration again with its token: a new client's registration forwarded (§8; RFC
        7641 §4.1: the server updates its entry, it adds none). The observation goes on meanwhile; the
        answer is processed as usual (in GROUP state a unicast informative response reconfigures it)."""
        if o.state != cc.ENDED and o.state != cc.REQ:
            self._register(o, now)


class ProxyConfig:
    """Policies. Times in ms. next_hop: (host, port) of the next proxy towards the servers (a chain,
    §8: only the proxy adjacent to the origin joins groups), None for origin servers."""

    def __init__(self, next_hop=None, token_len=4, ack_timeout_ms=params.ACK_TIMEOUT,
                 ack_random_factor=params.ACK_RANDOM_FACTOR, max_retransmit=params.MAX_RETRANSMIT,
                 leisure_ms=params.DEFAULT_LEISURE, ack_delay_ms=500, wait_ms=params.MAX_TRANSMIT_WAIT,
                 con_every=20, max_silence_ms=None, max_targets=1024, max_observers=10000,
                 hop_limit=None, dedup_max=20000, max_pending=20000, log_rate=20):
        self.next_hop = next_hop
        self.token_len = token_len
        self.ack_timeout_ms = ack_timeout_ms
        self.ack_random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.leisure_ms = leisure_ms
        self.ack_delay_ms = ack_delay_ms      # how long a CON request waits for a piggybacked answer
        self.wait_ms = wait_ms                # how long a client waits for the upstream answer (then 5.04)
        self.con_every = con_every            # every N-th notification to an observer is CON (RFC 7641 §4.5)
        self.max_silence_ms = max_silence_ms  # cap on a group observation's Max-Age silence (re-register)
        self.max_targets = max_targets
        self.max_observers = max_observers    # per target
        self.hop_limit = hop_limit            # RFC 8768 Hop-Limit inserted when a request has none
        self.dedup_max = dedup_max
        self.max_pending = max_pending
        self.log_rate = log_rate              # bad-input log lines per second (the rest only counted)


class Observer:
    """A client observing a target through the proxy: its endpoint and token (RFC 7641 §5, §8)."""
    __slots__ = ("peer", "token", "sent", "tx")

    def __init__(self, peer, token):
        self.peer = peer
        self.token = token
        self.sent = 0       # notifications sent (every con_every-th is CON)
        self.tx = None      # the outstanding CON notification (RFC 7641 §4.5.2)


class Target:
    """One upstream observation and the clients behind it."""

    def __init__(self, route):
        self.key = route.key
        self.dest = route.dest
        self.opts = route.opts
        self.uri = route.uri
        self.up = None          # the coap.client Observation
        self.observers = {}     # peer -> Observer
        self.waiting = []       # [Exchange]: registrations waiting for the upstream answer
        self.seq = 0            # the proxy's Observe counter (traditional)
        self.offset = None      # group observation: the proxy's Observe = origin's + offset
        self.group = None       # (token T, (GRP_ADDR, GRP_PORT)) the upstream group observation is on
        self.last = None        # (code, opts, payload, observe) of the latest notification forwarded
        self.fresh_until = 0    # when it stops being fresh (its Max-Age, RFC 7252 §5.6.1)
        self.forwarded = 0      # notifications received from upstream
        self.ticket = None      # §9.2: the proxy's own group observation from a ticket request (ticket.Listen)
        self.relay = None       # §9: a request it cannot read, relayed as it is (opaque.Relay)


STATS = ("rx", "tx", "malformed", "dup", "requests", "forwarded", "responses", "registrations",
         "deregistrations", "informative_in", "informative_out", "notifications_in", "notifications_out",
         "feedback_absorbed", "not_proxied", "unsupported_scheme", "bad_request", "bad_target", "unresolved",
         "unsafe_option", "unsafe_response", "hop_limit", "ltmr", "overload", "upstream_errors",
         "gateway_timeouts", "client_timeouts", "rst", "observers_removed", "retransmissions", "errors",
         "log_suppressed", "unexpected")


class ProxyCore:
    def __init__(self, config=None, rng=None, resolve=None, pm=None):
        cfg = self.cfg = config or ProxyConfig()
        self.rng = rng or random.Random()
        self.resolve = resolve
        self.pm = pm                # coap-pm segment handling (tools.proxy.pm), or None
        self.out = []
        self.stats = dict.fromkeys(STATS, 0)
        self.up = Upstream(token_len=cfg.token_len, ack_timeout_ms=cfg.ack_timeout_ms,
                            ack_random_factor=cfg.ack_random_factor, max_retransmit=cfg.max_retransmit,
                            leisure_ms=cfg.leisure_ms, rng=self.rng, log=log.warning,
                            max_silence_ms=cfg.max_silence_ms, pm=pm.upstream if pm is not None else None)
        self.down = Downstream(self.rng, self.out, self.stats, cfg.ack_timeout_ms, cfg.ack_random_factor,
                               cfg.max_retransmit, cfg.ack_delay_ms, cfg.dedup_max, cfg.max_pending,
                               mark=pm.mark if pm is not None and pm.down is not None else None)
        self.targets = {}           # Route.key -> Target
        self._m = msg.Msg()         # downstream datagrams
        self._cur = None            # the upstream datagram being fed to self.up (decoded), else None
        self._um = msg.Msg()
        self._bad = BadInput(log, self.stats, cfg.log_rate)  # counted, logged rate-limited
        self._now = 0               # the time of the receive()/tick() running (upstream callbacks)
        self.tickets = Tickets(self)  # §9: ticket requests, the groups listened to for them

    # ------------------------------------------------------------------ the contract
    @property
    def groups(self):
        return self.tickets.groups(self.up.groups)

    def receive(self, data, src, now, group=None):
        self.stats["rx"] += 1
        self._now = now
        try:
            self._receive(data, src, now, group)
        except Exception as e:  # bad input never stops the proxy: counted and logged
            self.stats["errors"] += 1
            log.exception("internal error on a datagram from %r: %s", src, e)

    def tick(self, now):
        self._now = now
        try:
            self.up.tick(now)
            self.tickets.tick(now)
            self.down.tick(now, lambda ex: self._wait_timeout(ex, now))
        except Exception as e:
            self.stats["errors"] += 1
            log.exception("internal error in tick: %s", e)

    def take(self):
        out = self.up.take()
        self.stats["tx"] += len(out)   # (the downstream side counts its own as it queues them)
        if self.out:
            out = out + self.out
            del self.out[:]
        return out

    def next_deadline(self):
        best = None
        for d in (self.up.next_deadline(), self.down.next_deadline(), self.tickets.next_deadline()):
            if d is not None and (best is None or d < best):
                best = d
        return best

    def status(self):
        return {"targets": [{"uri": t.uri, "state": t.up.state if t.up else None, "observers": len(t.observers),
                             "waiting": len(t.waiting), "group": "%s:%d" % t.group[1] if t.group and t.group[1] else None,
                             "notifications": t.forwarded} for t in self.targets.values()],
                "groups": sorted("%s:%d" % g for g in self.groups), "stats": dict(self.stats),
                "upstream": repr(self.up.stats)}

    def shutdown(self, now):
        """Leave everything: deregister upstream (traditional), forget the group observations (§3.4,
        the groups are left), tell every observer the observation ended (5.03 without Observe)."""
        for t in list(self.targets.values()):
            self._finish(t, msg.SERVICE_UNAVAILABLE, [], b"", now, cancel=True)

    # ------------------------------------------------------------------ routing
    def _receive(self, data, src, now, group):
        if group is not None:
            self._upstream(data, src, now, group)
            return
        m = self._m
        try:
            m.decode(data)
        except msg.DecodeError as e:
            self._bad("malformed", src, "malformed datagram (%s)" % e, now)
            if len(data) >= 4 and data[0] >> 6 == 1 and (data[0] >> 4) & 3 == msg.CON and data[1] < 32:
                self.down.send(msg.empty(msg.RST, (data[2] << 8) | data[3]), src)  # RFC 7252 §4.2
            return
        code = m.code
        if code == 0:
            if m.type == msg.CON:  # CoAP ping (§4.3)
                self.down.send(msg.empty(msg.RST, m.mid), src)
            elif m.type == msg.NON:
                self._bad("malformed", src, "empty NON", now)
            elif not self.down.ack_rst(src, m.mid, m.type == msg.RST):
                self._upstream(data, src, now, None)
            return
        if msg.is_request(code):
            self._request(m, src, now)
        elif msg.is_response(code):
            self._upstream(data, src, now, None)
        else:
            self._bad("malformed", src, "reserved code %s" % msg.code_str(code), now)

    def _upstream(self, data, src, now, group):
        um = self._um
        try:
            um.decode(data)
        except msg.DecodeError:
            um = None  # the upstream core counts it
        if self.tickets.upstream(um, src, now, group):
            return  # on a ticket target's T, or a relay's token (§9.2)
        self._cur = um
        try:
            self.up.receive(data, src, now, group)
        finally:
            self._cur = None
        if um is not None and group is None and 0x40 <= um.code < 0x60 and um.has(o.OBSERVE):
            self._unchanged(um, src, now)

    # ------------------------------------------------------------------ requests from clients
    def _request(self, m, src, now):
        if m.type in (msg.ACK, msg.RST):
            self._bad("malformed", src, "request in an ACK/RST", now)
            return
        v = self.pm.rx_down(src, m, now) if self.pm is not None else None  # every packet of the flow
        if self.down.duplicate(src, m, now, v):
            return
        self.stats["requests"] += 1
        ex = self.down.begin(src, m, now)
        ex.nr = m.uint(o.NO_RESPONSE, 0) if 0 <= m.opt_len(o.NO_RESPONSE) <= 1 else 0
        ex.pm = v
        try:
            r = R.route(m, self.resolve, self.cfg.next_hop, self.cfg.hop_limit)
        except R.Refused as e:
            self._bad(e.counter, src, e.why, now)
            self.down.reply(ex, e.code, [], e.why.encode(), now)
            return
        if r.ltmr is not None:
            self._ticket(ex, r, m, now)
            return
        if self.pm is not None:
            r.opts = self.pm.forward_opts(r, m)
        ex.what = r.uri
        if r.mrfd:  # a confirmation (§5.1) from a client: the proxy is the one client upstream
            self.stats["feedback_absorbed"] += 1
            self.down.reply(ex, msg.CONTENT, [], b"", now) if not ex.nr else self.down.ack(ex)
            return
        if r.observe is not None and m.has(cose.OSCORE):  # protected end to end: relayed as it is (§9)
            self.tickets.protected(ex, r, m, now)
        elif m.code == msg.GET and r.observe == 0:
            self._register(ex, r, now)
        elif m.code == msg.GET and r.observe == 1:
            self._deregister(ex, r, m, now)
        else:
            self._forward(ex, r, m, now)

    def _ticket(self, ex, r, m, now):
        """§9.2: a ticket request (Listen-To-Multicast-Responses = serialized tp_info): tools/proxy/ticket.py."""
        self.tickets.request(ex, r, m, now)

    def join_failed(self, group, why, now):
        """The driver could not join `group` (it says so right after it tried): the targets on it end,
        their clients are told (5.03 with the reason), the group is no longer wanted."""
        self._now = now
        self.tickets.join_failed(group, why, now)

    def _forward(self, ex, r, m, now):
        """An ordinary request (RFC 7252 §5.7.2): one upstream request, its answer relayed."""
        payload = bytes(m.payload()) if m.has_payload() else b""
        self.stats["forwarded"] += 1
        try:
            self.up.request(r.dest, m.code, r.opts, payload, lambda c, p, cf: self._answered(ex, c),
                            now, confirmable=True)
        except ValueError as e:
            self._bad("bad_target", ex.peer, str(e), now)
            self.down.reply(ex, R.PROXYING_NOT_SUPPORTED, [], str(e)[:80].encode(), now)
            return
        self.down.hold(ex, now, self.cfg.wait_ms)

    def _answered(self, ex, code):
        now = self._now
        if ex.done:
            return
        cur = self._cur
        if code is None or cur is None:
            self.stats["gateway_timeouts" if code is None else "upstream_errors"] += 1
            self.down.reply(ex, R.GATEWAY_TIMEOUT, [], b"no answer from upstream", now)
            return
        opts = self._response_opts(cur)
        if opts is None:
            self.stats["unsafe_response"] += 1
            self.down.reply(ex, R.BAD_GATEWAY, [], b"unsafe option in the response", now)
            return
        self.stats["responses"] += 1
        self.down.reply(ex, cur.code, opts, bytes(cur.payload()) if cur.has_payload() else b"", now)

    def _response_opts(self, m, drop_observe=True):
        """The options of an upstream response that go on to the client (RFC 7252 §5.7.1): all but
        Observe (the proxy's own), MRFD (answered here, §5.1) and PM (per segment); None when it
        carries an unsafe option the proxy does not know (then 5.02)."""
        out = []
        pm = self.pm
        if pm is not None:
            pm.response(m)
        for num, val in m.items():
            if num == o.OBSERVE and drop_observe or num == o.MRFD:
                continue
            if num == o.PM:
                if pm is not None and pm.keep_in_response:  # PM forwarded as safe (§4.3.1)
                    out.append((num, val))
                continue
            if o.unsafe(num) and num not in (o.OBSERVE, o.BLOCK1, o.BLOCK2, o.NO_RESPONSE):
                return None
            out.append((num, val))
        return out

    # ------------------------------------------------------------------ observation
    def _register(self, ex, r, now):
        self.stats["registrations"] += 1
        t = self.targets.get(r.key)
        if t is None:
            if len(self.targets) >= self.cfg.max_targets:
                self._bad("overload", ex.peer, "too many observed targets", now)
                self.down.reply(ex, msg.SERVICE_UNAVAILABLE, [], b"proxy: too many observed targets", now)
                return
            t = Target(r)
            try:
                t.up = self.up.observe(r.dest, r.opts, lambda p, cf, v, via: self._upstream_cb(t, v),
                                       now, lambda ob, why: self._upstream_end(t, why))
            except ValueError as e:
                self._bad("bad_target", ex.peer, str(e), now)
                self.down.reply(ex, R.PROXYING_NOT_SUPPORTED, [], str(e)[:80].encode(), now)
                return
            self.targets[r.key] = t
            log.info("observing %s for %s:%d", t.uri, ex.peer[0], ex.peer[1])
        elif ex.peer not in t.observers and len(t.observers) >= self.cfg.max_observers:
            self._bad("overload", ex.peer, "%s: observer table full" % t.uri, now)
            self.down.reply(ex, msg.SERVICE_UNAVAILABLE, [], b"proxy: observer table full", now)
            return
        st = t.up.state
        if st == cc.TRAD and t.last is not None and now < t.fresh_until:
            # RFC 7641 §5: served from the proxy's observation while fresh, Max-Age the time left (§5.6.1)
            code, opts, payload, seq = t.last
            self._add_observer(t, ex, now)
            opts = [kv for kv in opts if kv[0] != o.MAX_AGE] + [(o.MAX_AGE, (t.fresh_until - now) // 1000)]
            self.down.reply(ex, code, opts + [(o.OBSERVE, seq)], payload, now)
            return
        t.waiting = [w for w in t.waiting if w.peer != ex.peer]  # a re-registration replaces (RFC 7641 §4.1)
        t.waiting.append(ex)
        self.down.hold(ex, now, self.cfg.wait_ms)
        if st != cc.REG and not self.up.pending(t.up):
            # §8: the new client's registration is forwarded; the answer is the server's informative
            # response, which goes to the waiting clients (the observation itself goes on meanwhile).
            # Traditional: the latest notification is stale, the registration refreshes it (RFC 7641 §3.3.1)
            self.up.reregister(t.up, now)

    def _add_observer(self, t, ex, now):
        ob = t.observers.get(ex.peer)
        if ob is None:
            ob = t.observers[ex.peer] = Observer(ex.peer, ex.token)
        else:  # RFC 7641 §4.1: the same client again: its new token replaces the old one
            ob.token = ex.token
        return ob

    def _deregister(self, ex, r, m, now):
        """RFC 7641 §3.6: GET with Observe 1 ends the client's observation; the GET itself is forwarded."""
        t = self.targets.get(r.key)
        if t is not None:
            ob = t.observers.get(ex.peer)
            if ob is not None and ob.token == ex.token:
                self.stats["deregistrations"] += 1
                self._remove_observer(t, ob, now, "deregistered")
        self._forward(ex, r, m, now)

    def _remove_observer(self, t, ob, now, why):
        if t.observers.get(ob.peer) is not ob:
            return
        del t.observers[ob.peer]
        self.down.cancel(ob.tx)
        ob.tx = None
        self.stats["observers_removed"] += 1
        log.info("%s:%d no longer observes %s (%s)", ob.peer[0], ob.peer[1], t.uri, why)
        if not t.observers and not t.waiting and self.targets.get(t.key) is t:
            del self.targets[t.key]
            if t.up is None:  # §9: a ticket target (ticket.py)
                self.tickets.ended(t, now)
            else:
                self.up.cancel(t.up, now)  # TRAD: deregistration; group: T forgotten, group left (§3.4)
            log.info("no observers left: %s cancelled upstream", t.uri)

    # ------------------------------------------------------------------ upstream events
    def _upstream_cb(self, t, v):
        """The upstream core delivered something for t: self._cur is the datagram it came in."""
        cur = self._cur
        now = self._now
        if self.targets.get(t.key) is not t or cur is None:
            return
        if cur.code == msg.SERVICE_UNAVAILABLE and cur.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE:
            self._informative(t, cur, now)  # §3.2 step 5 (last_notif) is not considered by a proxy (§8)
            return
        opts = self._response_opts(cur)
        if opts is None:
            self.stats["unsafe_response"] += 1
            return
        payload = bytes(cur.payload()) if cur.has_payload() else b""
        if v < 0:  # not observable: a plain answer to the waiting clients; the target ends
            waiting, t.waiting = t.waiting, []
            for ex in waiting:
                self.stats["responses"] += 1
                self.down.reply(ex, cur.code, opts, payload, now)
            return
        t.forwarded += 1
        self.stats["notifications_in"] += 1
        if t.offset is not None:
            seq = (v + t.offset) & _OBS_MASK
        else:
            t.seq = (t.seq + 1) & _OBS_MASK
            seq = t.seq
        t.last = (cur.code, opts, payload, seq)
        t.fresh_until = now + 1000 * _max_age(cur)
        answered = self._answer_waiting(t, now)
        con = cur.type == msg.CON  # the origin wanted it reliable (multicast ones are NON, §2.3)
        for ob in list(t.observers.values()):
            if ob.peer not in answered:  # (a registration's answer is its first notification)
                self._notify(t, ob, cur.code, opts, payload, seq, now, con)

    def _answer_waiting(self, t, now):
        """The waiting registrations get t's latest notification and become observers."""
        code, opts, payload, seq = t.last
        waiting, t.waiting = t.waiting, []
        answered = set()
        for ex in waiting:
            if ex.done:
                continue
            self._add_observer(t, ex, now)
            answered.add(ex.peer)
            self.stats["responses"] += 1
            self.down.reply(ex, code, opts + [(o.OBSERVE, seq)], payload, now)
        return answered

    def _unchanged(self, cur, src, now):
        """A unicast 2.xx the upstream core took as no news (the Observe it already had: the answer to
        a re-registration of an unchanged resource, RFC 7641 §3.3.1): the proxy's latest notification is
        fresh again, and answers the registrations that waited for it."""
        for t in list(self.targets.values()):
            if t.waiting and t.up.state == cc.TRAD and t.last is not None and src == t.dest \
                    and cur.token_is(t.up.token):
                opts = self._response_opts(cur)
                if opts is not None:  # its representation, under the Observe number it had
                    t.last = (cur.code, opts, bytes(cur.payload()) if cur.has_payload() else b"", t.last[3])
                t.fresh_until = now + 1000 * _max_age(cur)
                self._answer_waiting(t, now)

    def _informative(self, t, cur, now):
        """§8: the upstream core accepted an informative response for t. It goes, unmodified, to the
        clients whose registration is waiting; when the group observation changed under existing
        observers (a restarted server: new T), to them too (their new reordering baseline)."""
        self.stats["informative_in"] += 1
        up = t.up
        ident = (bytes(up.token), up.grp)
        changed = t.group is not None and t.group != ident
        t.group = ident
        if t.offset is None or changed:
            t.offset = observe_offset(self.rng)
        opts = self._response_opts(cur) or [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)]
        payload = bytes(cur.payload())
        targets = [(ex, None) for ex in t.waiting if not ex.done]
        t.waiting = []
        if changed:
            log.info("%s: the upstream group observation changed (T=%s, %s): observers re-informed",
                     t.uri, ident[0].hex(), ident[1])
            targets += [(None, ob) for ob in t.observers.values() if all(e.peer != ob.peer for e, _ in targets)]
        for ex, ob in targets:
            self.stats["informative_out"] += 1
            if ex is not None:
                ob = self._add_observer(t, ex, now)
                self.down.reply(ex, msg.SERVICE_UNAVAILABLE, opts, payload, now, separate=True,
                                done=self._reply_done(t, ob))
            else:
                buf = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, self.down.next_mid(), ob.token, opts, payload)
                self.down.con(buf, ob.peer, now, self._reply_done(t, ob))

    def _reply_done(self, t, ob):
        def done(ok, why):
            if not ok:
                self._remove_observer(t, ob, self._now, "informative response " + why)
        return done

    def _notify(self, t, ob, code, opts, payload, seq, now, con):
        """One notification to one observer (RFC 7641 §4.5): NON, or CON every con_every-th (the
        client is still there?) or when the origin sent CON; a newer one replaces an outstanding CON."""
        ob.sent += 1
        con = con or ob.sent % self.cfg.con_every == 0 or ob.tx is not None
        o2 = opts + [(o.OBSERVE, seq)]
        if self.pm is not None:
            v = self.pm.mark(ob.peer, now, None)
            if v is not None:
                o2.append((o.PM, v))
        mid = self.down.next_mid()
        buf = msg.encode(msg.CON if con else msg.NON, code, mid, ob.token, o2, payload)
        self.stats["notifications_out"] += 1
        if con:
            def done(ok, why, t=t, ob=ob):
                if ob.tx is not None and ob.tx.mid == mid:
                    ob.tx = None
                if not ok:
                    self._remove_observer(t, ob, self._now, "CON notification " + why)
            ob.tx = self.down.con(buf, ob.peer, now, done, carry=ob.tx)
        else:
            self.down.non(buf, ob.peer, lambda t=t, ob=ob: self._remove_observer(t, ob, self._now, "RST"))

    def _upstream_end(self, t, why):
        """The upstream observation ended: the clients are told (RFC 7641 §3.2, §4.2; draft §2.5, §3.4)."""
        if self.targets.get(t.key) is not t:
            return
        cur = self._cur
        if why and why.startswith("not observable"):
            code, opts, payload = None, [], b""
        elif cur is not None and cur.code >= 0x80 and why and why.startswith("error response"):
            code, opts, payload = cur.code, self._response_opts(cur) or [], bytes(cur.payload()) if cur.has_payload() else b""
        elif why and "cancelled by the server" in why:
            code, opts, payload = msg.SERVICE_UNAVAILABLE, [], b""  # §2.5 through the proxy (§3.4)
        elif why == "timeout":
            self.stats["gateway_timeouts"] += 1
            code, opts, payload = R.GATEWAY_TIMEOUT, [], b"no answer from upstream"
        else:
            self.stats["upstream_errors"] += 1
            code, opts, payload = R.BAD_GATEWAY, [], (why or "upstream ended")[:80].encode()
        log.info("%s ended upstream (%s)", t.uri, why)
        self._finish(t, code, opts, payload, self._now)

    def _finish(self, t, code, opts, payload, now, cancel=False):
        if self.targets.get(t.key) is t:
            del self.targets[t.key]
        if cancel and t.up is not None:
            self.up.cancel(t.up, now)
        waiting, t.waiting = t.waiting, []
        if code is None:
            code, payload = R.BAD_GATEWAY, b"upstream ended"
        for ex in waiting:
            if not ex.done:
                self.down.reply(ex, code, opts, payload, now)
        for ob in list(t.observers.values()):
            self.down.cancel(ob.tx)
            ob.tx = None
            # the end of the observation: a response without Observe (the client ends it, §3.4 / RFC 7641 §3.2)
            buf = msg.encode(msg.NON, code, self.down.next_mid(), ob.token, opts, payload)
            self.down.send(buf, ob.peer)
        t.observers.clear()

    def _wait_timeout(self, ex, now):
        """A client waited wait_ms for the upstream answer: 5.04 (RFC 7252 §5.9.3.5)."""
        self.stats["gateway_timeouts"] += 1
        for t in list(self.targets.values()):
            if ex in t.waiting:
                t.waiting.remove(ex)
                if not t.waiting and not t.observers and self.targets.get(t.key) is t:
                    del self.targets[t.key]
                    self.up.cancel(t.up, now)
        self.down.reply(ex, R.GATEWAY_TIMEOUT, [], b"no answer from upstream", now)
