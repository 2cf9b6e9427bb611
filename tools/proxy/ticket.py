"""Intermediaries together with end-to-end security (draft-tiloca-core-observe-multicast-notifications-04
§9): the ticket request (§9.2) and the Listen-To-Multicast-Responses option (§9.1) at the proxy.

When the informative response is protected end to end (OSCORE), the proxy cannot read it: it forwards
the registration and the response untouched (core._forward; the outer code is 2.04, the proxy does
not even see an informative response). The client then sends the ticket request: the protected phantom
request (its code, outer options, ciphertext and signature) + outer Observe 0 + Proxy-Scheme / Uri-Host
/ Uri-Port + LTMR = the serialized tp_info (coap/ticket.py builds it on a board).

    t = Tickets(core)          # the ProxyCore's helper (core.tickets)

    event at the proxy                             what it does
    ticket request, adjacent to the origin         consumed, never forwarded (§9.2): Proxy-Scheme, Uri-Host,
      (no next hop)                                Uri-Port and LTMR removed, the phantom request rebuilt
                                                   with T from the rest, a group observation configured
                                                   from tp_info (joins cli_addr:cli_port: core.groups,
                                                   matches T from srv_addr:srv_port); the client becomes an
                                                   observer on the ticket request's token; empty ACK
    ticket request, next hop set (a chain)         forwarded to the next hop (§9.2 "every proxy in the
                                                   chain forwards it"): tools/proxy/opaque.py
    the same ticket again (another client: only    one more observer of the same target (srv_addr,
      token and Message ID differ, §9.2)           srv_port, T)
    bad LTMR value (tp_info)                       4.02 Bad Option (RFC 7252 §5.4.3: a malformed value of
                                                   a critical option), counted (ltmr_refused)
    no Group OSCORE protection, no Observe 0,      4.00 Bad Request, counted
      tp_info's server not the request's target
    a group the driver cannot join                 join_failed(): the observers of every target on it get
                                                   5.03 with the reason (an unprotected error: the client
                                                   takes it as the proxy's answer to its open ticket
                                                   request), the group is dropped (nothing leaks)
    multicast datagram on T from srv_addr:srv_port relayed to every observer on its token (core._notify:
                                                   the proxy's Observe, NON / every con_every-th CON),
                                                   still protected end to end; stale or repeated ones
                                                   dropped (RFC 7641 §3.4, RFC 7252 §4.5)
    a response on T without Observe (the §2.5      relayed to every observer as the end, the target ends
      cancellation, protected: outer 2.04)
    last observer gone (RST, CON timeout)          the target ends, the group is left
    silence longer than any client waits before    the target ends quietly (the proxy cannot re-register:
      it registers again (a day; --max-silence)    no keys; the clients do, and their tickets come again)

Target keys are ("ltmr", (SRV_ADDR, SRV_PORT), T); the Target (tools.proxy.core) carries .ticket
(a Listen). Counters: ltmr (ticket requests), tickets (consumed), tickets_forwarded (chain),
ltmr_refused, join_failed, ticket_stale (also relays'), ticket_ended.
"""
import logging

from coap import addr, cbor, cose, inforesp, msg
from coap import client as cc
from coap import optinfo as o

from tools.proxy import route as R

log = logging.getLogger("coapcast.proxy")

STATS = ("tickets", "tickets_forwarded", "ltmr_refused", "join_failed", "ticket_stale", "ticket_ended")
BAD_OPTION = 0x82                 # 4.02
LINGER_MS = 86400 * 1000          # coap.client caps a silence (Max-Age) at a day: every client registers
                                  # again within that
_DEDUP = 16
_OFFSET_BITS = 20


def observe_offset(rng):
    """The proxy's Observe numbers for an observation it relays are the upstream's plus this offset,
    drawn in [1, 2**20) per observation: always fresher than the client's baseline (RFC 7641 §3.4),
    also through a chain (core.py's docstring)."""
    return 1 + rng.getrandbits(_OFFSET_BITS) % ((1 << _OFFSET_BITS) - 1)


def refuse_full(core, ex, t, now):
    """True (and 5.03 to ex, counted) when a new target (t None) or a new observer of t does not fit
    (--max-targets, --max-observers)."""
    if t is None:
        if len(core.targets) < core.cfg.max_targets:
            return False
        what = "too many observed targets"
    elif ex.peer in t.observers or len(t.observers) < core.cfg.max_observers:
        return False
    else:
        what = "observer table full"
    core._bad("overload", ex.peer, "%s: %s" % (t.uri if t is not None else ex.what or "?", what), now)
    core.down.reply(ex, msg.SERVICE_UNAVAILABLE, [], b"proxy: " + what.encode(), now)
    return True
_STRIP = (o.PROXY_URI, o.PROXY_SCHEME, o.URI_HOST, o.URI_PORT, o.LTMR, R.HOP_LIMIT, o.PM)


class Bad(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, why)
        self.code = code
        self.why = why


class Listen:
    """The proxy's own group observation from a ticket request (§9.2)."""

    def __init__(self, srv, token, grp, ph, now):
        self.srv = srv          # (SRV_ADDR, SRV_PORT): multicast notifications come from it ...
        self.token = token      # ... on T
        self.grp = grp          # (GRP_ADDR, GRP_PORT) = cli_addr, cli_port of tp_info
        self.ph = ph            # the rebuilt phantom request (with T), as the proxy keeps it
        self.mids = []          # Message IDs of the latest multicast datagrams (RFC 7252 §4.5)
        self.v = None           # the latest Observe forwarded, and when (RFC 7641 §3.4)
        self.t = 0
        self.heard = now        # the latest notification or ticket request
        self.over = False


def parse_ltmr(value):
    """The LTMR option's value (§9.1) -> (token T, (SRV_ADDR, SRV_PORT), (GRP_ADDR, GRP_PORT)). Bad(4.02)
    when it is no tp_info (§2.2.2.1) a proxy can listen with."""
    try:
        r = inforesp.InfoResp()
        inforesp.read_tp(r, cbor.loads(value))
    except ValueError as e:
        raise Bad(BAD_OPTION, "Listen-To-Multicast-Responses: %s" % e)
    if not addr.is_multicast(r.cli_addr) or addr.is_link_local(r.cli_addr):
        raise Bad(BAD_OPTION, "Listen-To-Multicast-Responses: cli_addr is not a multicast group a proxy can join")
    if addr.is_multicast(r.srv_addr) or addr.is_link_local(r.srv_addr):
        raise Bad(BAD_OPTION, "Listen-To-Multicast-Responses: srv_addr is multicast or link-local")
    return bytes(r.token), (addr.ip_str(r.srv_addr), r.srv_port), (addr.ip_str(r.cli_addr), r.cli_port)


def phantom(m, token):
    """§9.2: the phantom request rebuilt from a ticket request m: its code, options without
    Proxy-Scheme, Uri-Host, Uri-Port and LTMR (nor the hop-by-hop Hop-Limit, PM), payload; token T."""
    return msg.encode(msg.NON, m.code, 0, token, [kv for kv in m.items() if kv[0] not in _STRIP],
                      bytes(m.payload()) if m.has_payload() else b"")


class Tickets:
    def __init__(self, core):
        self.core = core
        for k in STATS:
            core.stats.setdefault(k, 0)
        self.n = 0              # targets with a Listen (a fast "none" for the hot paths)
        self.relays = 0         # targets with an opaque.Relay

    # ------------------------------------------------------------------ the core's hooks
    def groups(self, up):
        """The groups the driver must have joined: the upstream core's (§8) and the tickets' (§9)."""
        if not self.n:
            return up
        g = dict(up)
        for t in self.core.targets.values():
            lt = t.ticket
            if lt is not None:
                g[lt.grp] = g.get(lt.grp, 0) + 1
        return g

    def request(self, ex, r, m, now):
        """A request with LTMR (routed: r)."""
        core = self.core
        core.stats["ltmr"] += 1
        if core.cfg.next_hop is not None:  # not adjacent to the origin: on to the next hop (§9.2)
            try:
                parse_ltmr(r.ltmr)
            except Bad as e:
                core._bad("ltmr_refused", ex.peer, e.why, now)
                core.down.reply(ex, e.code, [], e.why.encode(), now)
                return
            core.stats["tickets_forwarded"] += 1
            from tools.proxy import opaque
            opaque.start(core, ex, r, m, now, ticket=True)
            return
        try:
            T, srv, grp = self._check(r, m)
        except Bad as e:
            core._bad("ltmr_refused", ex.peer, e.why, now)
            core.down.reply(ex, e.code, [], e.why.encode(), now)
            return
        key = ("ltmr", srv, T)
        t = core.targets.get(key)
        if refuse_full(core, ex, t, now):
            return
        if t is None:
            t = self._target(r, key, srv, T, grp, phantom(m, T), now)
        else:
            lt = t.ticket
            if lt.grp != grp:  # the same T of the same server on another group: a restarted server
                log.info("%s: T=%s now on %s:%d", t.uri, T.hex(), grp[0], grp[1])
                lt.grp = grp
                t.group = (T, grp)
            lt.ph = phantom(m, T)
            lt.heard = now
        core._add_observer(t, ex, now)
        core.stats["tickets"] += 1
        core.down.ack(ex)  # the answers are the notifications (Appendix D: no response of its own)
        ex.done = True
        log.info("ticket request from %s:%d: %s observed on %s:%d (T=%s, %d observer(s))", ex.peer[0], ex.peer[1],
                 t.uri, grp[0], grp[1], T.hex(), len(t.observers))

    def _check(self, r, m):
        T, srv, grp = parse_ltmr(r.ltmr)  # first: a malformed critical option is 4.02 (RFC 7252 §5.4.1)
        if r.observe != 0:
            raise Bad(msg.BAD_REQUEST, "a ticket request registers (Observe 0)")
        if not m.has(cose.OSCORE) or not m.has_payload():
            raise Bad(msg.BAD_REQUEST, "a ticket request carries the protected phantom request (OSCORE, section 9.2)")
        try:
            group_mode = cose.parse_option(m.opt(cose.OSCORE))[3]
        except ValueError:
            group_mode = False
        if not group_mode:
            raise Bad(msg.BAD_REQUEST, "a ticket request carries a Group OSCORE group-mode phantom request")
        if srv != r.dest:
            raise Bad(msg.BAD_REQUEST, "tp_info's server %s:%d is not the request's target %s:%d" % (srv + r.dest))
        return T, srv, grp

    def _target(self, r, key, srv, T, grp, ph, now):
        from tools.proxy.core import Target
        core = self.core
        t = Target(r)
        t.key = key
        t.dest = srv
        t.uri = "coap://%s:%d (T=%s)" % (srv[0] if ":" not in srv[0] else "[%s]" % srv[0], srv[1], T.hex())
        t.ticket = Listen(srv, T, grp, ph, now)
        t.group = (T, grp)
        t.offset = observe_offset(core.rng)
        core.targets[key] = t
        self.n += 1
        return t

    def protected(self, ex, r, m, now):
        """A request the proxy cannot read (OSCORE) with Observe: relayed with its outer Observe (opaque.py)."""
        from tools.proxy import opaque
        opaque.start(self.core, ex, r, m, now)

    def upstream(self, um, src, now, group):
        """A datagram from upstream (um: decoded, or None; group: the group socket it came on): True if
        it was for a ticket target (multicast) or a relay (unicast)."""
        if um is None:
            return False
        if group is None:
            if not self.relays:
                return False
            from tools.proxy import opaque
            return opaque.upstream(self.core, um, src, now)
        return self.multicast(um, src, now, group)

    def multicast(self, um, src, now, group):
        if not self.n or um.code < 64:
            return False
        core = self.core
        t = core.targets.get(("ltmr", src, um.token_bytes()))
        if t is None or t.ticket is None or t.ticket.grp != group:
            return False
        lt = t.ticket
        st = core.stats
        if um.type != msg.NON:  # multicast responses are NON (§2.3)
            core._bad("unexpected", src, "a %s on a group" % ("CON" if um.type == msg.CON else "ACK/RST"), now)
            return True
        if um.mid in lt.mids:
            st["dup"] += 1
            return True
        lt.mids.append(um.mid)
        if len(lt.mids) > _DEDUP:
            lt.mids.pop(0)
        opts = core._response_opts(um)
        if opts is None:
            st["unsafe_response"] += 1
            return True
        payload = bytes(um.payload()) if um.has_payload() else b""
        v = um.observe
        if v is None:  # the end of the group observation (§2.5; protected, the outer code is 2.04)
            log.info("%s ended at the server (%s)", t.uri, msg.code_str(um.code))
            self.ended(t, now, (um.code, opts, payload))
            return True
        if lt.v is not None and not cc.fresher(lt.v, lt.t, v, now):
            st["ticket_stale"] += 1
            return True
        lt.v, lt.t, lt.heard = v, now, now
        seq = (v + t.offset) & 0xFFFFFF
        t.forwarded += 1
        st["notifications_in"] += 1
        t.last = (um.code, opts, payload, seq)
        for ob in list(t.observers.values()):
            core._notify(t, ob, um.code, opts, payload, seq, now, False)
        return True

    def tick(self, now):
        if not self.n:
            return
        linger = self.core.cfg.max_silence_ms or LINGER_MS
        for t in list(self.core.targets.values()):
            if t.ticket is not None and now - t.ticket.heard >= linger:
                log.info("%s: nothing for %d s: no longer listening", t.uri, linger // 1000)
                self.ended(t, now)

    def next_deadline(self):
        if not self.n:
            return None
        linger = self.core.cfg.max_silence_ms or LINGER_MS
        d = [t.ticket.heard + linger for t in self.core.targets.values() if t.ticket is not None]
        if not d:
            self.n = 0  # (the core dropped them all at once: shutdown)
            return None
        return min(d)

    def ended(self, t, now, final=None):
        """t (a ticket target) is over: out of the table (its group is left), its observers dropped; final:
        (code, opts, payload) of the upstream's last response, relayed to them (RFC 7641 §3.2), else
        nothing (an unprotected word from the proxy would only be dropped by them)."""
        if t.relay is not None:
            from tools.proxy import opaque
            opaque.end(self.core, t, now, final)
            return
        core = self.core
        if core.targets.get(t.key) is t:
            del core.targets[t.key]
        if t.ticket is not None and not t.ticket.over:
            t.ticket.over = True
            self.n -= 1
            core.stats["ticket_ended"] += 1
        if final is not None:
            core._finish(t, *final, now=now)
        for ob in list(t.observers.values()):
            core.down.cancel(ob.tx)
            ob.tx = None
        t.observers.clear()

    def join_failed(self, group, why, now):
        """The driver could not join `group`: every target on it ends with 5.03 and the reason (the §9
        observers take it as the proxy's answer to their ticket request; §8 observers as the end)."""
        core = self.core
        text = ("proxy cannot listen to %s:%d: %s" % (group[0], group[1], why))[:120].encode()
        for t in list(core.targets.values()):
            lt = t.ticket
            if lt is not None and lt.grp == group:
                core.stats["join_failed"] += 1
                self.ended(t, now, (msg.SERVICE_UNAVAILABLE, [], text))
            elif lt is None and t.up is not None and t.up.grp == group:
                core.stats["join_failed"] += 1
                core._finish(t, msg.SERVICE_UNAVAILABLE, [], text, now, cancel=True)
