# Sans-I/O CoAP client core for group observation (draft-tiloca-core-observe-multicast-notifications-04
# §3, §5.1, §8, App. A.1; RFC 7641; RFC 7252 §4).
#
#     c = Client(rng=..., pm=..., sec=..., ack_timeout_ms=params.ACK_TIMEOUT, ...)
#
# Inputs:
#     c.receive(data, src, now, group=None)  one datagram `data` (bytes/memoryview) from `src` (host, port)
#                                            at `now` (ms ticks); `group` is the (GRP_ADDR, GRP_PORT) socket
#                                            it came on, None for unicast
#     c.tick(now)                            run the timers due at `now`: CON retransmission, MRFD
#                                            feedback, re-registration, request timeouts, sec's steps
#     c.observe(), c.request(), c.cancel(), c.join(), c.reregister()   the app's (or the proxy's) actions
# Outputs:
#     c.take()            [(bytes, (host, port))] to send (the queue is emptied)
#     c.next_deadline()   the earliest time tick() has work, or None
#     c.groups            {(GRP_ADDR, GRP_PORT): n}: the groups the driver must have joined
#     callbacks           observation cb(payload, content_format, observe, via), on_end(observation, reason);
#                         request cb(code, payload, content_format)
#     c.stats             counters (received, delivered, dropped per reason...)
# No sockets, no clock, no sleeps: the driver (coap.driver) feeds it; randomness comes from `rng`.
# RFC 7252 §4.8 transmission parameters are constructor keywords with the coap.params defaults.
# The notification path (receive -> _duplicate -> _find -> _response -> _notify) is compiled to machine
# code on the board build (@micropython.native/viper, tools/mpy.py; issue 15): a multicast notification
# costs about 2.2x a bare parse, and allocates nothing with observe(view=False).
#
# Observation states (Observation.state); an event not listed leaves the state as it is:
#
#     state  event                                                   next
#     REG    2.xx with Observe (piggybacked or separate)             TRAD
#     REG    5.03 informative response, tp_info accepted (§3.2)      GROUP (PROXY: registered via a proxy, §8)
#     REG    5.03 informative response, malformed (first time)       REG (retry after retry_backoff_ms)
#     REG    timeout, Reset, error response, 2.xx without Observe    ENDED
#     TRAD   Max-Age expired (RFC 7641 §3.3.1)                       REG (re-registration, same token)
#     TRAD   informative response for this resource (§3.2 step 6)   ENDED (replaced by the group observation)
#     GROUP  informative response again (new T or group)             GROUP
#     GROUP  silence past Max-Age (§3.3; RFC 7641 §3.3.1)            REG (fresh token; silence_end())
#     GROUP  5.03 without Observe or payload on T (§2.5, §3.4)       ENDED
#     PROXY  the same, from the proxy (§8)                           REG / ENDED
#     any    cancel()                                                ENDED
#     REQ    (a plain request) response, timeout or Reset            ENDED
#     (join(): GROUP at once, from discovery data, App. A.1)
#
# (comments, not a docstring: compiling this module from source on a board-sized heap costs less)
import random

from coap import msgcore, options, inforesp, addr, feedback, params
from coap.compat import const, ticks_diff, ticks_add  # (and the emitter names, see there)

# RFC 7252 §3 message types and the two codes used here (same values as in coap.msgcore), as
# compile-time constants: no RAM, no lookup on the hot path
_CON = const(0)
_NON = const(1)
_ACK = const(2)
_RST = const(3)
_GET = const(0x01)
_UNAVAILABLE = const(0xA3)  # 5.03 Service Unavailable

# observation states (the table above)
REG = const(0)     # (re-)registration sent, waiting for the response
TRAD = const(1)    # traditional observation (RFC 7641)
GROUP = const(2)   # group observation: multicast notifications from SRV on token T (§3.3)
PROXY = const(3)   # group observation behind a proxy: unicast from the proxy, own token (§8)
ENDED = const(4)
REQ = const(5)     # a plain request (Client.request) waiting for its response

# how a notification arrived (last argument of the callback)
VIA_UNICAST = const(0)
VIA_GROUP = const(1)

# A CON in flight (Client.txs): a list [observation, Message ID, bytes, retransmissions, due, timeout]
_TX_OBS = const(0)
_TX_MID = const(1)
_TX_DATA = const(2)
_TX_SENT = const(3)     # retransmissions so far (RFC 7252 §4.2)
_TX_DUE = const(4)      # when the next one is due
_TX_TIMEOUT = const(5)  # the current timeout, doubled at each retransmission

# Duplicate detection (RFC 7252 §4.5): a ring of _DEDUP Message IDs (Client._dm: 16-bit big-endian in
# a bytearray, scanned as machine words) and, beside it, _DD_W fields per slot in Client._dd (one flat
# list: no per-slot object; an empty slot has no source). Two halves of _DEDUP_HALF slots: unicast
# (0..) and multicast (_DEDUP_HALF..), so that a stream of multicast notifications never pushes out a
# unicast CON before its retransmission (a CON informative response whose ACK was lost must get the
# same ACK again, not a Reset: the server would take the Reset as "not in the group").
_DEDUP = const(16)
_DEDUP_HALF = const(8)
_DD_SRC = const(0)      # the source (host, port)
_DD_T = const(1)        # when it came
_DD_REPLY = const(2)    # the empty ACK/RST type it got (a duplicate gets the same), or 0 (none)
_DD_W = const(3)

# Client.forgotten: (token, source) of observations cancelled with rst=True (RFC 7641 §3.6)
_FG_TOKEN = const(0)
_FG_SRC = const(1)
_FORGET_MAX = const(4)

_HALF = const(0x800000)     # 2**23: half the 24-bit Observe space (RFC 7641 §3.4)
_FRESH_MS = const(128000)   # after 128 s any notification is fresh (RFC 7641 §3.4)
_NONE = None  # (viper reads a literal None as 0)
_MAX_AGE_DEFAULT = const(60)  # s (RFC 7252 §5.10.5)
_MAX_AGE_CAP = const(86400)   # s: longer Max-Ages time out after a day (ticks arithmetic spans 6 days)


def fresher(v1, t1, v2, t2):
    """RFC 7641 §3.4 reordering: True if (v2, t2) is newer than (v1, t1). Observe values are 24-bit
    serial numbers; after 128 seconds any notification is taken as fresh. Times: ticks in ms."""
    if v1 < v2:
        if v2 - v1 < _HALF:
            return True
    elif v1 > v2:
        if v1 - v2 > _HALF:
            return True
    return ticks_diff(t2, t1) > _FRESH_MS


def _max_age_ms(m):
    """RFC 7252 §5.10.5 Max-Age of a response in ms (60 s when absent; at most _MAX_AGE_CAP)."""
    ma = m.max_age
    return (_MAX_AGE_DEFAULT if ma is None else ma if ma < _MAX_AGE_CAP else _MAX_AGE_CAP) * 1000


class Stats:
    def __init__(self):
        self.received = 0      # datagrams fed in
        self.delivered = 0     # notifications/responses handed to the app
        self.duplicates = 0    # same (source, Message ID) again (RFC 7252 §4.5)
        self.reordered = 0     # older than the baseline (RFC 7641 §3.4), dropped
        self.feedback = 0      # MRFD re-registrations sent (§5.1)
        self.dropped = {}      # per reason
        for r in ("malformed", "token", "source", "code", "type", "stale", "inforesp", "security", "internal"):
            self.dropped[r] = 0

    def __repr__(self):
        return "received=%d delivered=%d duplicates=%d reordered=%d feedback=%d dropped=%r" % (
            self.received, self.delivered, self.duplicates, self.reordered, self.feedback, self.dropped)


class Observation:
    """One observed resource. The app reads .state, .value (Observe baseline), .error."""
    # Class-level defaults: an instance stores only what it uses (RAM per observation).
    src = None          # accepted source (SRV_ADDR, SRV_PORT) (§3.2 step 1) when not dest (§2.3;
                        # the proxy in §8): notifications come from `src or dest`
    grp = None          # (GRP_ADDR, GRP_PORT) of a group observation
    ph_req = None       # rebuilt phantom registration request (§3.2 steps 2-3)
    timer = None        # due time: MRFD feedback (GROUP, PROXY) or re-registration (REG, TRAD)
    ma = _MAX_AGE_DEFAULT  # GROUP, PROXY: Max-Age (s) of the latest notification (Client.silence_end)
    on_end = None       # on_end(observation, reason)
    proxied = False     # registered through a proxy (§8)
    retried = False     # a malformed informative response already caused one retry (§3.2)
    error = None
    view = True         # the callback gets the payload as a memoryview (False: None, no allocation)
    non = False         # a NON plain request (REQ)
    code = None         # REQ: the response code once answered

    def __init__(self, dest, opts, cb, token):
        self.dest = dest        # (host, port) the registration goes to (server, or proxy §8)
        self.opts = opts        # request options besides Observe (Uri-Path, Uri-Query, Proxy-Uri...),
                                # encoded (one bytes object, RAM; see _opts)
        self.cb = cb            # cb(payload, content_format, observe, via)
        self.state = REG
        self.token = token      # local token: our own, or T of the group observation (§3.2 step 3),
                                # then a view into ph_req (which holds T)
        self.value = -1         # Observe baseline (-1: none yet)
        self.t = 0              # time of the baseline


class Client:
    def __init__(self, token_len=4, ack_timeout_ms=params.ACK_TIMEOUT, ack_random_factor=params.ACK_RANDOM_FACTOR,
                 max_retransmit=params.MAX_RETRANSMIT, leisure_ms=params.DEFAULT_LEISURE, retry_backoff_ms=10000,
                 rng=None, pm=None, sec=None, log=print, feedback_method=None, max_silence_ms=None):
        if not 1 <= token_len <= 8:
            raise ValueError("token_len must be 1..8")
        self.token_len = token_len
        self.ack_timeout_ms = ack_timeout_ms
        self.ack_random_factor = ack_random_factor
        self.max_retransmit = max_retransmit
        self.leisure_ms = leisure_ms
        self.retry_backoff_ms = retry_backoff_ms
        self.rng = rng or random
        self.pm = pm
        self.sec = sec          # the security seam (Group OSCORE, draft §6-7): see receive/_send
        if sec is not None:
            sec.attach(self)
        self.log = log
        self.respond_to = feedback_method or feedback.respond_to
        self.max_silence_ms = max_silence_ms  # cap on the Max-Age silence of a group observation
        self.stats = Stats()
        self.obs = []
        self.txs = []           # CONs in flight (_TX_* fields)
        self.out = []           # [(bytes, (host, port))] to send
        self.groups = {}        # (GRP_ADDR, GRP_PORT) -> number of observations using it
        self.forgotten = []     # [(token, source)]: RST the next notification (RFC 7641 §3.6)
        self.deregs = []        # [(token, server)]: our deregistrations, their answer is expected (§3.6)
        self._m = msgcore.Msg()
        self._mid = self.rng.getrandbits(16)
        self._dm = bytearray(2 * _DEDUP)  # ring of Message IDs ...
        self._dd = [None, 0, 0] * _DEDUP     # ... and their _DD_* fields
        self._dk = 0                      # next slot in the unicast half ...
        self._dg = 0                      # ... and in the multicast half
        # the random part of a group observation's silence deadline (a fraction of the leisure, so
        # that a group does not re-register at once): drawn again after each re-registration, not
        # per notification (no random draw on the hot path)
        self._spread = feedback.delay_ms(leisure_ms, self.rng)

    # ---------------- app side ----------------

    def observe(self, dest, opts, cb, now, on_end=None, view=True):
        """Register (GET + Observe 0, §3.1) at dest=(host, port) with request options opts
        [(number, value)] (Uri-Path..., or Proxy-Uri/Proxy-Scheme for a proxy, §8). view=False: the
        callback gets None for the payload (a notification then allocates nothing)."""
        o = self._new(dest, opts, cb)
        if on_end is not None:
            o.on_end = on_end
        if not view:
            o.view = False
        self._register(o, now)
        return o

    def request(self, dest, code, opts, payload, cb, now, confirmable=True):
        """A plain request (the board's telemetry POST...) to dest=(host, port): method code (GET 1,
        POST 2, PUT 3, DELETE 4), options [(number, value)], payload bytes. Calls cb(code, payload,
        content_format) once (cb None: no callback): the response (payload a memoryview valid during the call), or code None
        on timeout / Reset (.error says which). CON: RFC 7252 §4.2 retransmission; NON: the answer
        is awaited MAX_TRANSMIT_WAIT. It is an Observation object in state REQ (shares the
        observations' token space, timers and PM marking: a fresh mark per transmission)."""
        if not 1 <= code <= 31:
            raise ValueError("not a method code")
        o = self._new(dest, opts, cb)
        o.state = REQ
        o.method = code
        o.payload = payload
        if not confirmable:
            o.non = True
        self._register(o, now)
        return o

    def _new(self, dest, opts, cb):
        raw = addr.parse_ip(dest[0])  # a numeric address, or ValueError("bad IP address ...")
        if addr.is_link_local(raw) or addr.is_multicast(raw):
            raise ValueError("link-local or multicast destination (§3.1)")
        proxied = False
        for num, _ in opts:
            if num == options.OBSERVE or num == options.MRFD:
                raise ValueError("Observe/MRFD are set by the client")
            if num == options.PROXY_URI or num == options.PROXY_SCHEME:
                proxied = True
        enc = bytes(msgcore.encode_options(opts))
        msgcore.Msg().decode(b"\x40\x01\x00\x00" + enc)  # more than the codec holds (msgcore.MAX_OPTS) fails here
        for x in self.obs:  # share an equal destination tuple (RAM per observation)
            if x.dest == dest:
                dest = x.dest
                break
        o = Observation(dest, enc, cb, self._new_token())
        if proxied:
            o.proxied = True
        self.obs.append(o)
        return o

    def cancel(self, o, now, rst=False):
        """Stop observing. Traditional: NON GET Observe 1 (RFC 7641 §3.6). Group: forget (§3.4),
        and with rst=True answer the next notification on T with a Reset."""
        if o.state == TRAD:
            self._send(msgcore.encode(_NON, _GET, self._next_mid(), o.token, self._opts(o, now, observe=1)), o.dest)
            d = self.deregs
            d.append((o.token, o.dest))
            if len(d) > _FORGET_MAX:
                d.pop(0)
        elif rst and o.state != ENDED:
            self.forgotten.append((o.token, o.src or o.dest))
            if len(self.forgotten) > _FORGET_MAX:
                self.forgotten.pop(0)
        self._end(o, "cancelled", quiet=True)

    def join(self, data, cb, now, on_end=None):
        """Appendix A.1: take part in a group observation from its data (an informative response's
        payload), with no registration; see coap.join.start (loaded only then)."""
        from coap import join
        return join.start(self, data, cb, now, on_end)

    def take(self):
        """What to send: [(bytes, (host, port))]; the queue is emptied."""
        out = self.out
        if out:
            self.out = []
        return out

    def pending(self, o):
        """True while o has a CON registration in flight."""
        for tx in self.txs:
            if tx[_TX_OBS] is o:
                return True
        return False

    def next_deadline(self):
        """Earliest time tick() has work, or None."""
        best = None if self.sec is None else self.sec.deadline()
        for tx in self.txs:
            if best is None or ticks_diff(tx[_TX_DUE], best) < 0:
                best = tx[_TX_DUE]
        for o in self.obs:
            t = o.timer
            if t is not None and (best is None or ticks_diff(t, best) < 0):
                best = t
            t = self.silence_end(o)
            if t is not None and (best is None or ticks_diff(t, best) < 0):
                best = t
        return best

    def silence_end(self, o):
        """A group observation (GROUP, PROXY) registers again when no notification came by then (RFC
        7641 §3.3.1, draft §3.3): the latest one's time + its Max-Age (capped by max_silence_ms) +
        this client's share of the leisure (_spread). None in other states. (Derived when asked: a
        notification only stores its Max-Age when it changes.)"""
        if o.state != GROUP and o.state != PROXY:
            return None
        ms = (o.ma if o.ma < _MAX_AGE_CAP else _MAX_AGE_CAP) * 1000
        cap = self.max_silence_ms
        if cap is not None and cap < ms:
            ms = cap
        return ticks_add(o.t, ms + self._spread)

    # ---------------- timers ----------------

    def tick(self, now):
        """Run the timers: CON retransmission (RFC 7252 §4.2), MRFD feedback (§5.1), re-registration."""
        if self.sec is not None:
            self.sec.tick(now)  # a step of a signature check; what finished is fed back (receive)
        if self.txs:
            self._retransmit(now)
        for o in list(self.obs) if self.obs else ():
            t = self.silence_end(o)
            if t is not None and ticks_diff(now, t) >= 0:
                # RFC 7641 §3.3.1 for a group observation (§3.3): the latest notification is stale
                # and nothing newer came (server restarted or gone, link down): register again with
                # our own token; a new informative response resumes it, a timeout ends it (on_end)
                o.timer = None
                o.state = REG
                o.src = None  # the response comes from where the registration goes (server or proxy)
                o.token = self._new_token()
                self._spread = feedback.delay_ms(self.leisure_ms, self.rng)
                self._register(o, now)
                continue
            t = o.timer
            if t is not None and ticks_diff(now, t) >= 0:
                o.timer = None
                if o.state == GROUP or o.state == PROXY:
                    self.stats.feedback += 1
                    # a fresh token: this registration is only counted (No-Response 26)
                    self._send(feedback.request(self._next_mid(), self._new_token(), self._opts(o, now)), o.dest)
                elif o.state == REQ:
                    self._end(o, "timeout")
                else:
                    self._register(o, now)

    def _retransmit(self, now):
        """RFC 7252 §4.2: a CON not acknowledged in time goes again with a doubled timeout, up to
        max_retransmit times; then its observation (or request) ends."""
        for tx in list(self.txs):
            if ticks_diff(now, tx[_TX_DUE]) >= 0:
                o = tx[_TX_OBS]
                if tx[_TX_SENT] >= self.max_retransmit:
                    self.txs.remove(tx)
                    self._end(o, "timeout")
                    continue
                tx[_TX_SENT] += 1
                tx[_TX_TIMEOUT] *= 2
                tx[_TX_DUE] = ticks_add(now, tx[_TX_TIMEOUT])
                if self.pm is not None:  # coap-pm: one more packet of the flow, a fresh mark (same MID)
                    tx[_TX_DATA] = self._req(o, tx[_TX_MID], now)
                self._send(tx[_TX_DATA], o.dest)

    # ---------------- datagrams in ----------------

    @micropython.native
    def receive(self, data, src, now, group=None):
        """One datagram from src=(host, port); group=(GRP_ADDR, GRP_PORT) if it came on a group socket."""
        st = self.stats
        st.received += 1
        m = self._m
        try:
            m.decode(data)
        except msgcore.DecodeError:
            st.dropped["malformed"] += 1
            return
        if self.sec is not None:
            try:
                m = self.sec.unprotect(m, src, group)
            except Exception:
                m = None
            if m is None or m is False:  # False: verified in steps, sec.tick() feeds it back
                if m is None:
                    st.dropped["security"] += 1
                return
        code = m.code
        if code and self.pm is not None:
            # coap-pm: multicast notifications are the server's flow to the GROUP (marked per
            # (GRP_ADDR, GRP_PORT)), measured apart from its unicast flow; empty ACK/RST are unmarked
            self.pm.rx(src if group is None else group, m.uint(options.PM), now)
        t = m.type
        if t >= _ACK:
            self._acknowledged(m, src, group, now)
            return
        if code == 0:  # CoAP ping or an empty NON: RFC 7252 §4.3
            if t == _CON and group is None:
                self._send(msgcore.empty(_RST, m.mid), src)
            else:
                st.dropped["type"] += 1
            return
        if self._duplicate(m.mid, src, now, 0 if group is None else _DEDUP_HALF):
            return
        if code < 64:  # a request: we are no server
            st.dropped["code"] += 1
            if t == _CON and group is None:  # (never a Reset to multicast, RFC 7252 §8.1)
                self._reply(_RST, m.mid, src)
            return
        o = self._find(m, src, group)
        if o is None:
            return
        if t == _CON:
            if group is not None:
                st.dropped["type"] += 1  # multicast notifications are NON (§2.3)
                return
            self._reply(_ACK, m.mid, src)
        self._response(o, m, src, now, group)

    def _acknowledged(self, m, src, group, now):
        """An ACK or RST: it matches the CON we have in flight by Message ID and source (RFC 7252 §4.2)."""
        if group is not None:
            self.stats.dropped["type"] += 1
            return
        mid = m.mid
        for tx in self.txs:
            o = tx[_TX_OBS]
            if tx[_TX_MID] == mid and src == o.dest:
                break
        else:
            self.stats.duplicates += 1  # a late or repeated ACK
            return
        self.txs.remove(tx)
        if m.type == _RST:
            self._end(o, "reset by the server")
        elif m.code == 0:  # empty ACK: a separate response follows (RFC 7252 §5.2.2) ...
            o.timer = ticks_add(now, params.EXCHANGE_LIFETIME)  # ... or we register again
        elif not m.token_is(o.token):
            self.stats.dropped["token"] += 1
        else:
            self._response(o, m, src, now, None)  # piggybacked response

    @micropython.viper  # machine words on the board: the ring scan is the hot path's (issue 15)
    def _duplicate(self, mid: int, src, now, half: int) -> bool:
        """RFC 7252 §4.5: True if (src, mid) came within NON_LIFETIME (counted, and answered with the
        same empty ACK/RST as the first time); else remembered in the next slot of its half of the ring
        (half: 0 unicast, _DEDUP_HALF multicast)."""
        p = ptr8(self._dm)
        dd = self._dd
        j = half
        while j < half + _DEDUP_HALF:
            if (p[2 * j] << 8 | p[2 * j + 1]) == mid:
                k = j * _DD_W
                if dd[k + _DD_SRC] == src and ticks_diff(now, dd[k + _DD_T]) < params.NON_LIFETIME:
                    st = self.stats
                    st.duplicates = int(st.duplicates) + 1
                    rep = dd[k + _DD_REPLY]
                    if rep:
                        self._send(msgcore.empty(rep, mid), src)
                    return True
            j += 1
        if half:
            j = int(self._dg)
            self._dg = (j + 1) % _DEDUP_HALF
        else:
            j = int(self._dk)
            self._dk = (j + 1) % _DEDUP_HALF
        j += half
        p[2 * j] = mid >> 8
        p[2 * j + 1] = mid & 0xFF
        k = j * _DD_W
        dd[k + _DD_SRC] = src
        dd[k + _DD_T] = now
        dd[k + _DD_REPLY] = 0
        return False

    def _reply(self, mtype, mid, src):
        """An empty ACK or RST to the message just remembered: a duplicate gets the same (§4.5)."""
        self._dd[((self._dk - 1) % _DEDUP_HALF) * _DD_W + _DD_REPLY] = mtype  # (unicast: CONs only come so)
        self._send(msgcore.empty(mtype, mid), src)

    def _deregistered(self, m, src):
        """RFC 7641 §3.6: after our deregistration (cancel(), GET with Observe 1) the server answers on
        that token, and notifications sent before it arrived may still come: expected, not drops. The
        answer (no Observe) closes the entry; a CON gets an ACK (a CON notification a Reset)."""
        d = self.deregs
        for k in range(len(d)):
            if d[k][_FG_SRC] == src and m.token_is(d[k][_FG_TOKEN]):
                last = m.uint(options.OBSERVE) is None
                if last:
                    d.pop(k)
                if m.type == _CON:
                    self._reply(_ACK if last else _RST, m.mid, src)
                return True
        return False

    @micropython.viper  # machine words on the board: the token compare is the hot path's (issue 15)
    def _find(self, m, src, group):
        """The observation a response belongs to (token and source, §2.3), or None (_unmatched)."""
        wrong_src = False
        tkl = int(m.tkl)
        p = ptr8(m.buf)
        for o in self.obs:
            tok = o.token  # (m.token_is(tok), inline)
            if int(len(tok)) == tkl:
                q = ptr8(tok)
                k = 0
                while k < tkl and p[4 + k] == q[k]:
                    k += 1
                if k == tkl:
                    s = o.src
                    if s is _NONE:
                        s = o.dest
                    if src == s:
                        return o
                    wrong_src = True
        self._unmatched(m, src, group, wrong_src)
        return _NONE

    def _unmatched(self, m, src, group, wrong_src):
        """A response no observation takes: counted (wrong source, or unknown token); the answer to
        our deregistration is expected (§3.6); an unknown CON gets a Reset, as does the next NON on a
        token cancelled with rst=True."""
        st = self.stats
        if wrong_src:
            st.dropped["source"] += 1
            return
        if self.deregs and group is None and self._deregistered(m, src):
            return
        st.dropped["token"] += 1
        f = self.forgotten
        for k in range(len(f)):
            if f[k][_FG_SRC] == src and m.token_is(f[k][_FG_TOKEN]):
                f.pop(k)
                if m.type == _NON:
                    self._send(msgcore.empty(_RST, m.mid), src)
                    return
                break
        if m.type == _CON and group is None:
            self._reply(_RST, m.mid, src)

    @micropython.native
    def _response(self, o, m, src, now, group):
        """A response (or notification) on o's token from o's source: by o's state (the table above)."""
        code = m.code
        v = m.observe
        state = o.state
        if state == GROUP:  # the notification hot path first
            if v is not None and code < 0x60:  # 2.xx notification (§3.3)
                self._notify(o, m, v, now, VIA_UNICAST if group is None else VIA_GROUP, True)
            elif code == _UNAVAILABLE and v is None and not m.has_payload():
                self._end(o, "group observation cancelled by the server")  # §2.5, §3.4
            elif code == _UNAVAILABLE and group is None and m.cf == options.CF_INFORMATIVE:
                self._untx(o)
                self._informative(o, m, src, now)  # the answer to a re-registration (a proxy's, §8)
            else:
                self.stats.dropped["code"] += 1
            return
        if state == REQ:
            if group is None:
                o.code = code
                self._end(o, None, response=m)
            else:
                self.stats.dropped["source"] += 1
            return
        if group is not None:  # a unicast observation's token on a group socket
            self.stats.dropped["source"] += 1
            return
        if state == PROXY and code == _UNAVAILABLE and v is None and not m.has_payload():
            self._end(o, "group observation cancelled by the server")  # §8 (as §2.5, §3.4)
            return
        if self.txs:
            self._untx(o)  # a (separate) response ends the exchange
        if code < 0x60:
            if v is None:
                if state == PROXY:
                    self._end(o, "proxy ended the observation")
                    return
                o.value = -1  # delivered as it is, whatever the baseline
                self._notify(o, m, -1, now, VIA_UNICAST)
                self._end(o, "not observable (no Observe in the response)")
                return
            if state == REG:
                o.state = TRAD
            if o.state == TRAD:  # Max-Age expiry -> re-register (RFC 7641 §3.3.1)
                o.timer = ticks_add(now, _max_age_ms(m) + 1000)
            self._notify(o, m, v, now, VIA_UNICAST, mrfd=o.state == PROXY)
        elif code == _UNAVAILABLE and m.cf == options.CF_INFORMATIVE:
            self._informative(o, m, src, now)
        else:
            o.error = "%d.%02d" % (code >> 5, code & 31)  # e.g. 4.04
            self._end(o, "error response " + o.error)

    @micropython.native
    def _notify(self, o, m, v, now, via, mrfd=False):
        """RFC 7641 §3.2/§3.4: drop a stale notification, else deliver; with mrfd=True answer an
        MRFD poll (§5.1)."""
        w = o.value
        if w >= 0 and not w < v < w + _HALF and not fresher(w, o.t, v, now):  # (the usual case first)
            st = self.stats
            st.reordered += 1
            st.dropped["stale"] += 1
            return
        o.value = v
        o.t = now
        state = o.state
        if state == GROUP or state == PROXY:
            ma = m.max_age  # the silence deadline (silence_end) follows from o.t and o.ma
            if ma is None:
                ma = _MAX_AGE_DEFAULT
            if ma != o.ma:
                o.ma = ma
            if mrfd and m.top >= options.MRFD and o.timer is None:
                q = m.uint(options.MRFD)
                if q is not None and self.respond_to(q, self.rng):
                    o.timer = ticks_add(now, feedback.delay_ms(self.leisure_ms, self.rng))
        self.stats.delivered += 1
        try:
            o.cb(m.payload() if o.view else None, m.cf, v, via)
        except Exception as e:  # the app's bug must not stop the other observations
            self.stats.dropped["internal"] += 1
            self.log("coapcast: callback raised %r" % (e,))

    def _informative(self, o, m, src, now):
        """The informative response (§3.2, all six steps; §8 behind a proxy)."""
        try:
            r = inforesp.parse(bytes(m.payload()))
            if self.sec is not None:
                self.sec.informative(o, r)  # §6.3.1: ph_req, last_notif verified (InfoRespError if not)
            if o.proxied:  # §8: the proxy's address and the client's own token; tp_info ignored
                tok, srv, grp = o.token, src, None
            else:  # step 1: endpoint SRV_ADDR:SRV_PORT -> GRP_ADDR:GRP_PORT (5683 default, parse())
                if not addr.is_multicast(r.cli_addr):
                    raise ValueError("tp_info: cli_addr is not a multicast address")
                if addr.is_link_local(r.srv_addr) or addr.is_link_local(r.cli_addr):
                    raise ValueError("tp_info: link-local address")
                tok = r.token
                srv = (addr.ip_str(r.srv_addr), r.srv_port)
                grp = (addr.ip_str(r.cli_addr), r.cli_port)
            ph = msgcore.from_tim(r.ph_req, tok)  # step 2: phantom request with token T
            p = msgcore.Msg(8).decode(ph)
            if p.code != _GET or p.observe != 0:
                raise ValueError("ph_req is not a GET with Observe 0")
            last = msgcore.Msg().decode(msgcore.from_tim(r.last_notif, tok, _NON))  # step 4
            lv = last.observe
            if lv is None or last.code >= 0x60:
                raise ValueError("last_notif is not a 2.xx with Observe")
        except (ValueError, msgcore.DecodeError) as e:  # InfoRespError, CBOR errors are ValueErrors
            self.stats.dropped["inforesp"] += 1
            self.log("coapcast: malformed informative response (%s): %s" % (
                e, "withdrawing" if o.retried else "re-registering"))
            if not o.retried:
                o.retried = True
                o.state = REG
                o.timer = ticks_add(now, self.retry_backoff_ms)
            else:
                o.error = "inforesp: %s" % (e,)
                self._end(o, o.error, quiet=True)
            return
        # share equal tuples with the other observations (RAM per observation)
        for x in self.obs:
            if x.src == srv:
                srv = x.src
        for g in self.groups:
            if g == grp:
                grp = g
        # step 6: an ongoing traditional observation of this resource is dropped silently (no
        # deregistration to the server): this object's own, or another one of the same resource
        for x in list(self.obs):
            if x is not o and x.state == TRAD and x.dest == o.dest and x.opts == o.opts:
                self._end(x, "replaced by a group observation")
        self._leave_group(o)  # (a repeated informative response: the previous group)
        o.token = memoryview(ph)[4:4 + len(tok)]  # step 3: T is our local token (held by ph_req)
        if srv != o.dest:
            o.src = srv
        elif o.src is not None:
            o.src = None
        o.ph_req = ph
        if o.timer is not None:
            o.timer = None
        o.value = -1
        o.state = PROXY if o.proxied else GROUP
        if grp is not None:
            o.grp = grp
            self.groups[grp] = self.groups.get(grp, 0) + 1
        self._notify(o, last, lv, now, VIA_GROUP)  # step 5: the baseline; its MRFD is ignored

    def _leave_group(self, o):
        """o no longer uses its group; the driver leaves the group when no observation does (§3.4)."""
        g = o.grp
        if g is None:
            return
        n = self.groups.get(g, 0) - 1
        if n > 0:
            self.groups[g] = n
        else:
            self.groups.pop(g, None)
        o.grp = None

    def _end(self, o, reason, quiet=False, response=None):
        """o is over (state ENDED): out of the group, its timers and CON gone, the app told once:
        a plain request's cb(code, payload, cf) (response: the answer, or None), else on_end(o, reason).
        quiet: o.error keeps what it was (None for a cancel)."""
        if o.state == ENDED:
            return
        req = o.state == REQ
        self._leave_group(o)
        o.state = ENDED
        if o.timer is not None:
            o.timer = None
        if self.txs:
            self._untx(o)
        if o in self.obs:
            self.obs.remove(o)
        if not quiet and o.error is None:
            o.error = reason
        try:
            if req:
                if o.cb is not None:
                    m = response
                    if m is None:
                        o.cb(None, b"", None)
                    else:
                        o.cb(m.code, m.payload(), m.cf)
            elif o.on_end is not None:
                o.on_end(o, reason)
        except Exception as e:  # counted like a notification callback's
            self.stats.dropped["internal"] += 1
            self.log("coapcast: callback raised %r" % (e,))

    # ---------------- datagrams out ----------------

    def _register(self, o, now):
        """CON GET Observe 0 (§3.1) (or o's plain request) with RFC 7252 §4.2 retransmission."""
        mid = self._next_mid()
        data = self._req(o, mid, now)
        self._untx(o)
        if o.non:  # RFC 7252 §4.8.2 MAX_TRANSMIT_WAIT for the answer
            o.timer = ticks_add(now, int(self.ack_timeout_ms * ((2 << self.max_retransmit) - 1)
                                         * self.ack_random_factor))
        else:
            # initial timeout: random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
            span = int(self.ack_timeout_ms * (self.ack_random_factor - 1))
            to = self.ack_timeout_ms + ((self.rng.getrandbits(16) * span) >> 16)
            self.txs.append([o, mid, data, 0, ticks_add(now, to), to])  # _TX_* fields
        self._send(data, o.dest)

    def _req(self, o, mid, now):
        """The bytes of o's registration (CON GET Observe 0) or plain request, PM-marked afresh."""
        if o.state == REQ:
            return msgcore.encode(_NON if o.non else _CON, o.method, mid, o.token, self._opts(o, now), o.payload)
        return msgcore.encode(_CON, _GET, mid, o.token, self._opts(o, now, observe=0))

    def _untx(self, o):
        for tx in self.txs:
            if tx[_TX_OBS] is o:
                self.txs.remove(tx)
                return

    def _opts(self, o, now, observe=None):
        """o's request options (decoded from o.opts), Observe unless None, and PM when a PM
        endpoint is set (coap-pm): what every request of this observation carries."""
        opts = msgcore.Msg().decode(b"\x40\x01\x00\x00" + o.opts).items()
        if observe is not None:
            opts.append((options.OBSERVE, observe))
        if self.pm is not None:
            v = self.pm.tx(o.dest, now)
            if v is not None:
                opts.append((options.PM, v))
        return opts

    def _next_mid(self):
        self._mid = (self._mid + 1) & 0xFFFF
        return self._mid

    def _new_token(self):
        while True:
            t = bytearray(self.token_len)
            for k in range(len(t)):
                t[k] = self.rng.getrandbits(8)
            t = bytes(t)
            for o in self.obs:
                if o.token == t:
                    break
            else:
                return t

    # ---- the security seam (Group OSCORE, draft §6-§7; coap.groupsec is the one in use) ----
    # sec.protect(bytes, dest) -> bytes (here); sec.unprotect(Msg, src, group) -> Msg (decoded plain)
    # or None (in receive(), right after the codec).
    def _send(self, data, dest):
        if self.sec is not None:
            data = self.sec.protect(data, dest)
        self.out.append((data, dest))
