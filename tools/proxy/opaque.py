"""Observations the proxy cannot read, relayed as they are (draft -04 §9.2 through a chain of proxies;
RFC 8613 §4.1.3.5 and RFC 7641 §5 for OSCORE-protected observations).

  what                                   relayed to                     the client
  a ticket request at a proxy with a     the next hop (§9.2: "every     an observer at once (empty ACK); the
  next hop (not adjacent to the origin)  proxy in the chain forwards    next hop's notifications on its token,
                                         it"), LTMR, Proxy-Scheme,      its errors as the end
                                         Uri-Host, Uri-Port kept; the
                                         same ticket from several
                                         clients goes once
  a protected request with Observe       the server (or next hop) with  the first answer (piggybacked within
  (OSCORE option, outer FETCH: the       its outer Observe (Appendix    ack_delay, else separate); with Observe
  registration whose informative         D: "Observe: 0" on P -> S)     it becomes an observer; without (the
  response is protected, §9)                                            informative response: outer 2.04) done

Upstream: a CON with the proxy's own token, retransmitted by the proxy's exchange layer (exchange.py,
RFC 7252 §4.2); the answers on that token from that peer: CON ones ACKed, duplicates dropped, stale
notifications dropped (RFC 7641 §3.4), the others relayed with the proxy's Observe (the upstream's + a
per-relay offset, as core.py does for group observations). A Reset or no answer ends it with 5.02 /
5.04 to the clients. The last client gone: forgotten (the next notification from upstream is Reset by
the proxy's upstream core).

A Relay is the .relay of a Target in core.targets (key ("opaque", ...)), .up None.
"""
import logging

from coap import client as cc
from coap import msg
from coap import optinfo as o

from tools.proxy import route as R
from tools.proxy.ticket import observe_offset, refuse_full

log = logging.getLogger("coapcast.proxy")

_DEDUP = 16


class Relay:
    def __init__(self, dest, data, token, mid):
        self.dest = dest
        self.data = data        # the request as sent upstream
        self.token = token
        self.mid = mid
        self.tx = None          # the CON in flight (exchange.Tx; None: acknowledged or answered)
        self.mids = []          # Message IDs of the latest answers (RFC 7252 §4.5)
        self.v = None           # the latest Observe relayed, and when
        self.t = 0
        self.ticket = False     # a forwarded ticket request (its clients are observers at once)
        self.waiting = []       # [Exchange]: clients waiting for the first answer
        self.over = False


def _token(core):
    """A token for upstream no observation of the upstream core nor relay has."""
    while True:
        tok = bytes(core.rng.getrandbits(8) for _ in range(core.cfg.token_len))
        if all(bytes(ob.token) != tok for ob in core.up.obs) and \
                all(t.relay is None or t.relay.token != tok for t in core.targets.values()):
            return tok


def start(core, ex, r, m, now, ticket=False):
    """Relay ex's request m (routed: r) upstream, or join the same relay in flight (a forwarded ticket)."""
    opts = [kv for kv in r.opts]
    opts.append((o.OBSERVE, r.observe))
    if ticket:
        opts.append((o.LTMR, r.ltmr))
    payload = bytes(m.payload()) if m.has_payload() else b""
    sig = tuple(sorted((n, o.encode_value(n, v)) for n, v in opts if n != R.HOP_LIMIT))
    key = ("opaque", r.dest, m.code, sig, payload) + (() if ticket else (ex.peer, ex.token))
    t = core.targets.get(key)
    if refuse_full(core, ex, t, now):
        return
    if t is None:
        if not ticket:  # the client's new request on the same token replaces its old one (RFC 7641 §4.1)
            for old in list(core.targets.values()):
                if old.relay is not None and not old.relay.ticket and old.key[-2:] == (ex.peer, ex.token):
                    end(core, old, now)
        from tools.proxy.core import Target
        t = Target(r)
        t.key = key
        t.offset = observe_offset(core.rng)
        tok = _token(core)
        mid = core.up._next_mid()  # the upstream core's Message ID space: one per peer
        rl = t.relay = Relay(r.dest, msg.encode(msg.CON, m.code, mid, tok, opts, payload), tok, mid)
        rl.ticket = ticket
        core.targets[key] = t
        core.tickets.relays += 1
        rl.tx = core.down.con(rl.data, rl.dest, now, lambda ok, why: _acked(core, t, ok, why))
        log.info("%s relayed to %s:%d%s", "ticket request" if ticket else "protected observation", r.dest[0],
                 r.dest[1], " (token %s)" % tok.hex())
    rl = t.relay
    ex.what = t.uri
    if ticket:
        core._add_observer(t, ex, now)
        core.down.ack(ex)
        ex.done = True
    else:
        rl.waiting.append(ex)
        core.down.hold(ex, now, core.cfg.wait_ms)


def _acked(core, t, ok, why):
    """The upstream CON's fate (exchange.Downstream): acknowledged, or Reset / no answer (the end)."""
    rl = t.relay
    rl.tx = None
    if ok or rl.over:
        return
    if why == "timeout":
        core.stats["gateway_timeouts"] += 1
        end(core, t, core._now, (R.GATEWAY_TIMEOUT, [], b"no answer from upstream"))
    else:
        end(core, t, core._now, (R.BAD_GATEWAY, [], b"reset by upstream"))


def upstream(core, um, src, now):
    """A unicast response from upstream: True if it was on a relay's token (the empty ACK / RST of its
    CON is exchange.Downstream's: _acked)."""
    if um.code < 64:
        return False
    for t in list(core.targets.values()):
        rl = t.relay
        if rl is None or rl.dest != src or not um.token_is(rl.token):
            continue
        if um.type == msg.ACK and um.mid != rl.mid:
            continue
        if rl.tx is not None:  # answered (piggybacked, or a separate response: the request arrived)
            core.down.cancel(rl.tx)
            rl.tx = None
        if um.type != msg.ACK:
            if um.type == msg.CON:
                core.down.send(msg.empty(msg.ACK, um.mid), src)
            if um.mid in rl.mids:
                core.stats["dup"] += 1
                return True
            rl.mids.append(um.mid)
            if len(rl.mids) > _DEDUP:
                rl.mids.pop(0)
        _answer(core, t, um, now)
        return True
    return False


def _answer(core, t, um, now):
    rl = t.relay
    opts = core._response_opts(um)
    payload = bytes(um.payload()) if um.has_payload() else b""
    if opts is None:
        core.stats["unsafe_response"] += 1
        end(core, t, now, (R.BAD_GATEWAY, [], b"unsafe option in the response"))
        return
    v = um.observe
    if v is None:
        core.stats["responses"] += 1
        end(core, t, now, (um.code, opts, payload))
        return
    if rl.v is not None and not cc.fresher(rl.v, rl.t, v, now):
        core.stats["ticket_stale"] += 1
        return
    rl.v, rl.t = v, now
    seq = (v + t.offset) & 0xFFFFFF
    t.forwarded += 1
    core.stats["notifications_in"] += 1
    t.last = (um.code, opts, payload, seq)
    answered = set()
    waiting, rl.waiting = rl.waiting, []
    for ex in waiting:
        if not ex.done:
            core._add_observer(t, ex, now)
            answered.add(ex.peer)
            core.stats["responses"] += 1
            core.down.reply(ex, um.code, opts + [(o.OBSERVE, seq)], payload, now)
    for ob in list(t.observers.values()):
        if ob.peer not in answered:
            core._notify(t, ob, um.code, opts, payload, seq, now, um.type == msg.CON)


def end(core, t, now, final=None):
    """t's relay is over: out of the table; final (code, opts, payload) to the waiting clients and the
    observers (RFC 7641 §3.2: a response without Observe ends it)."""
    rl = t.relay
    if core.targets.get(t.key) is t:
        del core.targets[t.key]
    if not rl.over:
        rl.over = True
        core.tickets.relays -= 1
    core.down.cancel(rl.tx)
    rl.tx = None
    waiting, rl.waiting = rl.waiting, []
    if final is not None:
        code, opts, payload = final
        for ex in waiting:
            if not ex.done:
                core.down.reply(ex, code, opts, payload, now)
        core._finish(t, code, opts, payload, now)
    for ob in list(t.observers.values()):
        core.down.cancel(ob.tx)
        ob.tx = None
    t.observers.clear()
