"""The proxy's server side towards its clients: RFC 7252 messaging without resources.

  Exchange   one request from a client: duplicate detection (§4.5: the same replies again), the
             piggybacked response when the answer comes within `ack_delay_ms`, else an empty ACK and
             a separate response (§5.2.2), No-Response (RFC 7967) applied to what the proxy sends
  Tx         a CON the proxy sent a client (separate response, notification), retransmitted with
             exponential back-off until ACK, RST or MAX_RETRANSMIT (§4.2); done(ok, why) tells the owner
  Downstream the table of both, the NON notifications' Message IDs (a RST to one ends the
             observation, RFC 7641 §3.6), the timers

Times are ms; parameters come from coap.params through the proxy's configuration.
"""
from collections import OrderedDict

from coap import msg, params
from coap import options as o

RST_MIDS_MAX = 4096     # NON notifications remembered for RST matching


class Exchange:
    """A client's request being answered."""
    __slots__ = ("peer", "mid", "token", "con", "nr", "acked", "done", "replies", "ack_at", "wait_until",
                 "expires", "pm", "what")

    def __init__(self, peer, mid, token, con, now, lifetime):
        self.peer = peer
        self.mid = mid
        self.token = token
        self.con = con
        self.nr = 0            # No-Response value of the request
        self.acked = False     # the empty ACK went out (a separate response follows)
        self.done = False      # answered
        self.replies = []      # datagrams sent in reply, replayed to duplicates (§4.5)
        self.ack_at = None     # CON: when to stop waiting for a piggybacked answer
        self.wait_until = None  # when the proxy gives up waiting upstream (5.04)
        self.expires = now + lifetime
        self.pm = None         # the request's PM value (segment measurement)
        self.what = ""         # for logs


class Tx:
    __slots__ = ("buf", "peer", "mid", "next_at", "timeout", "tries", "done")

    def __init__(self, buf, peer, now, timeout, done):
        self.buf = buf
        self.peer = peer
        self.mid = (buf[2] << 8) | buf[3]
        self.timeout = timeout
        self.next_at = now + timeout
        self.tries = 0
        self.done = done       # done(ok, why) or None


def suppressed(nr, code):
    """RFC 7967 §2: No-Response bit 2 suppresses 2.xx, bit 8 4.xx, bit 16 5.xx."""
    cls = code >> 5
    return bool(nr & (2 if cls == 2 else 8 if cls == 4 else 16 if cls == 5 else 0))


class Downstream:
    def __init__(self, rng, out, stats, ack_timeout_ms=params.ACK_TIMEOUT,
                 ack_random_factor=params.ACK_RANDOM_FACTOR, max_retransmit=params.MAX_RETRANSMIT,
                 ack_delay_ms=500, dedup_max=20000, max_pending=20000, mark=None):
        self.rng = rng
        self.out = out              # the core's output list: (bytes, (host, port))
        self.stats = stats
        self.ack_timeout_ms = ack_timeout_ms
        self.ack_random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.ack_delay_ms = ack_delay_ms
        self.dedup_max = dedup_max
        self.max_pending = max_pending
        self.mark = mark            # mark(peer, now, request_pm) -> PM value or None (coap-pm segment)
        self.exchanges = OrderedDict()   # (peer, mid) -> Exchange
        self.open = {}                   # (peer, mid) -> Exchange still waiting for its answer
        self.pending = {}                # (peer, mid) -> Tx
        self.non_mids = OrderedDict()    # (peer, mid) of NON notifications -> on_rst()
        self.exchange_lifetime = params.EXCHANGE_LIFETIME
        self.non_lifetime = params.NON_LIFETIME
        self._mid = rng.getrandbits(16)

    def next_mid(self):
        self._mid = (self._mid + 1) & 0xFFFF
        return self._mid

    def send(self, buf, peer):
        self.out.append((buf, peer))
        self.stats["tx"] += 1

    # ------------------------------------------------------------ requests in
    def duplicate(self, peer, m, now, pm=None):
        """RFC 7252 §4.5: a request seen before gets the same replies (an empty ACK if only that
        went out; nothing while a piggybacked answer is still awaited). True if it was one. With PM
        marking a replayed reply is one more packet of the flow: marked afresh, echoing `pm`."""
        ex = self.exchanges.get((peer, m.mid))
        if ex is None or ex.expires <= now:
            return False
        self.stats["dup"] += 1
        for buf in ex.replies:
            self.send(self._remark(buf, peer, now, pm) if self.mark is not None else buf, peer)
        return True

    def begin(self, peer, m, now):
        ex = Exchange(peer, m.mid, m.token_bytes(), m.type == msg.CON, now,
                      self.exchange_lifetime if m.type == msg.CON else self.non_lifetime)
        key = (peer, m.mid)
        self.exchanges[key] = ex
        self.exchanges.move_to_end(key)
        while len(self.exchanges) > self.dedup_max:
            self.exchanges.popitem(last=False)
        return ex

    def hold(self, ex, now, wait_ms):
        """The answer comes from upstream: piggyback it if it comes within ack_delay_ms."""
        if ex.con:
            ex.ack_at = now + self.ack_delay_ms
        ex.wait_until = now + wait_ms
        self.open[(ex.peer, ex.mid)] = ex

    def ack(self, ex):
        """The empty ACK of a CON request (a separate response follows, §5.2.2)."""
        if ex.con and not ex.acked:
            ex.acked = True
            ex.ack_at = None
            buf = msg.empty(msg.ACK, ex.mid)
            ex.replies.append(buf)
            self.send(buf, ex.peer)

    def reply(self, ex, code, opts, payload, now, separate=False, done=None):
        """Answer ex: piggybacked in the ACK, or a separate CON (after the empty ACK) when the ACK
        already went out or `separate` (the informative response MUST be Confirmable, draft §2.2),
        or NON for a NON request. done(ok, why) when a CON reply is acknowledged or given up.
        Returns False when No-Response suppressed it."""
        ex.done = True
        ex.ack_at = None
        ex.wait_until = None
        self.open.pop((ex.peer, ex.mid), None)
        if suppressed(ex.nr, code):
            self.ack(ex)
            if done is not None:
                done(True, "suppressed")
            return False
        opts = list(opts)
        v = self.mark(ex.peer, now, ex.pm) if self.mark is not None else None
        if v is not None:
            opts.append((o.PM, v))
        if ex.con and not ex.acked and not separate:
            buf = msg.encode(msg.ACK, code, ex.mid, ex.token, opts, payload)
            ex.replies.append(buf)
            self.send(buf, ex.peer)
            if done is not None:
                done(True, "piggybacked")
            return True
        if ex.con or separate:
            self.ack(ex)
            buf = msg.encode(msg.CON, code, self.next_mid(), ex.token, opts, payload)
            self.con(buf, ex.peer, now, done)
            return True
        buf = msg.encode(msg.NON, code, self.next_mid(), ex.token, opts, payload)
        ex.replies.append(buf)
        self.send(buf, ex.peer)
        if done is not None:
            done(True, "non")
        return True

    # ------------------------------------------------------------ CONs out
    def con(self, buf, peer, now, done=None, carry=None):
        """Send a CON and retransmit it (§4.2). carry: a Tx whose counter and timeout continue
        (RFC 7641 §4.5.2: a newer notification replaces an outstanding one). False when the table
        is full (the datagram then goes as it is, unretransmitted: counted)."""
        if carry is not None:
            self.pending.pop((carry.peer, carry.mid), None)
            t = Tx(buf, peer, now, carry.timeout, done)
            t.tries = carry.tries
            t.next_at = carry.next_at
        else:
            if len(self.pending) >= self.max_pending:
                self.stats["overload"] += 1
                self.send(buf, peer)
                return None
            span = int(self.ack_timeout_ms * (self.ack_random_factor - 1))
            t = Tx(buf, peer, now, self.ack_timeout_ms + ((self.rng.getrandbits(16) * span) >> 16), done)
        self.pending[(peer, t.mid)] = t
        self.send(buf, peer)
        return t

    def _remark(self, buf, peer, now, request_pm=None):
        """A retransmission (or a replay) is one more packet of the PM flow: a fresh mark (coap-pm
        §2), same MID."""
        m = msg.Msg().decode(buf)
        if not m.has(o.PM):
            return buf
        v = self.mark(peer, now, request_pm)
        opts = [kv for kv in m.items() if kv[0] != o.PM] + ([(o.PM, v)] if v is not None else [])
        return msg.encode(m.type, m.code, m.mid, m.token_bytes(), opts, bytes(m.payload()))

    def non(self, buf, peer, on_rst):
        """Send a NON notification; a RST to it calls on_rst() (RFC 7641 §3.6)."""
        key = (peer, (buf[2] << 8) | buf[3])
        self.non_mids[key] = on_rst
        while len(self.non_mids) > RST_MIDS_MAX:
            self.non_mids.popitem(last=False)
        self.send(buf, peer)

    def cancel(self, t):
        """Stop retransmitting t (its owner is gone)."""
        if t is not None:
            self.pending.pop((t.peer, t.mid), None)

    def ack_rst(self, peer, mid, rst):
        """An empty ACK or RST from a client. True if it matched something of ours."""
        t = self.pending.pop((peer, mid), None)
        if t is not None:
            if rst:
                self.stats["rst"] += 1
            if t.done is not None:
                t.done(not rst, "reset" if rst else "acknowledged")
            return True
        if rst:
            f = self.non_mids.pop((peer, mid), None)
            if f is not None:
                self.stats["rst"] += 1
                f()
                return True
        return False

    # ------------------------------------------------------------ timers
    def tick(self, now, on_wait_timeout):
        for key, t in list(self.pending.items()):
            if t.next_at > now:
                continue
            if t.tries >= self.max_retransmit:
                del self.pending[key]
                self.stats["client_timeouts"] += 1
                if t.done is not None:
                    t.done(False, "timeout")
                continue
            t.tries += 1
            t.timeout *= 2
            t.next_at = now + t.timeout
            self.stats["retransmissions"] += 1
            if self.mark is not None:
                t.buf = self._remark(t.buf, t.peer, now)
            self.send(t.buf, t.peer)
        for ex in list(self.open.values()):
            if ex.done:
                self.open.pop((ex.peer, ex.mid), None)
                continue
            if ex.ack_at is not None and ex.ack_at <= now:
                self.ack(ex)
            if ex.wait_until is not None and ex.wait_until <= now:
                on_wait_timeout(ex)
        while self.exchanges:
            k, ex = next(iter(self.exchanges.items()))
            if ex.expires > now or not ex.done:
                break
            self.exchanges.popitem(last=False)

    def next_deadline(self):
        d = None
        for t in self.pending.values():
            if d is None or t.next_at < d:
                d = t.next_at
        for ex in self.open.values():
            for x in (ex.ack_at, ex.wait_until):
                if x is not None and (d is None or x < d):
                    d = x
        if self.exchanges:
            ex = next(iter(self.exchanges.values()))
            if ex.done and (d is None or ex.expires < d):
                d = ex.expires
        return d
