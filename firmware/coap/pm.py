# CoAP Performance Measurement option (draft-ietf-core-coap-pm): value codec, markers, PMEndpoint.
#
# Value (§3.1), a 1-byte uint:  pattern 0 |0|Q|S|Event(5)|   pattern 1 |1|C|Event(6)|
# The option number is options.PM (elective, unsafe; default 65006, see options.configure()).
#
# Q (§2.1, RFC 9506 §3.1): square wave per flow (peer and direction), toggled every n packets.
# S (§2.1): a client sets S opposite to the S of its previous request to the same server; a server
#   echoes the request's S in the response. (The wave has the RTT as period when requests go one at a
#   time back to back, NSTART=1; on an application-limited flow a period is the gap between requests,
#   RFC 9312: a server or probe takes it as an RTT only inside the range the client's own delay
#   level stands for, its Event bits below, else counts it apart, pmmeasure._spin. The client's own
#   sample, request to echo, is always one RTT.)
# C (§2.2): C = Q xor D: the Q wave with one packet per RTT set to the opposite value. The client
#   generates a D packet (and regenerates one when none came back, RFC 9506 §4.2.1); the server
#   reflects a received D; the client, when its D comes back, takes one RTT sample and sends the
#   next D (reflection). Our D placement rule, so D never destroys the Q wave nor looks like a block
#   edge or a late packet of the previous block, also under reordering (a packet overtaken by up to
#   2x later ones) and on sparse flows (one request per RTT, NSTART=1: request, response, ...):
#   - a D goes only on a packet with at least 2x+1 packets of its block before it (the first 2x
#     after an edge are where late packets of the previous block land) and x+1 after it (a D near
#     the block end is known once x+1 packets of its marking follow it, more than reordering puts
#     behind an edge); a reflection x packets or more after the previous D of the flow, a
#     generation 2x+1 or more (on a slow flow regenerations could otherwise come every few
#     packets: the previous D's x+1 and room for x losses, so Ds never look like the x+1 flips
#     of an edge);
#   - an endpoint reflects a D the Meter took at once (D_NOW: well before the expected edge) and
#     forgets the reflection if the next packet shows it was the next block's start; the sample
#     counts once the D is confirmed (pmmeasure);
#   - the server reflects on its very next packet to the peer when that packet may carry a D, else
#     drops the D (a held reflection would stretch the client's sample); likewise a D it could only
#     recognise packets later (near a block end) unless that came in the same ms;
#   - the client holds the reflection at most srtt/8 ms for an allowed packet, else drops it (a
#     hold lengthens the D-to-D period the server and probes measure);
#   - the client regenerates when no D came back for t_max + t_max/8 ms after its last D (the 1/8
#     margin keeps a regeneration gap above the t_max that observers reject, under jitter).
#   A D that cannot be placed or reflected costs samples, never a wrong one: each break of the D
#   chain waits t_max + t_max/8, so pick t_max a few times the path's RTT, not much more.
#   What each vantage point measures from C:
#   - client: D sent -> D back = one RTT (request -> echo: the server reflects on the response);
#     on sparse flows at most one sample per t_max + t_max/8 (fewer when a D is lost or cannot be
#     reflected by the server), as any sooner D would give observers a wrong D-to-D period;
#   - server, probe: D-to-D period on one direction = one RTT on dense flows (several packets per
#     RTT); on sparse flows the client cannot reflect within srtt/8, Ds come once per
#     t_max + t_max/8 + RTT, and observers take no RTT sample (the periods exceed t_max) rather
#     than a wrong one: only the client measures RTT there, and tells its delay level in the Event
#     bits. Loss from the Q wave is exact at all of them on both kinds of flows.
#
# Block lengths (n; like x and the Event thresholds, configured alike at both ends and at probes,
# RFC 9506 §3.1, draft §3.1): a loss figure needs a closed block, so n decides how soon a flow has
# one (about n + x packets). n is fitted to the flow's rate by flow kind, a rule both ends apply to
# the same flow with nothing signalled:
#   - unicast request/response flows: n (default 64, RFC 9506's example; dense flows);
#   - a multicast group flow (the notifications a server sends to a group, measured by each board;
#     a peer whose host is a multicast address): n_group (default N_GROUP = 16: notifications come
#     seconds apart, and 64 of them would take minutes).
#   Slower flows take smaller blocks on both sides (pattern 1 needs n >= 3x+3: 8 at least).
#
# Event bits (our encoding; "Event bits MAY encode loss and delay information", §3.1). What the
# sender measured on the flow it RECEIVES from that peer, so the peer and any probe learn it:
#   pattern 0: Event = |E|L1 L0|D1 D0|      pattern 1: Event = |E|L1 L0|D2 D1 D0|
#   E = 1 once the sender has a loss figure (>= 1 closed block) and an RTT figure; E = 0 makes the
#   whole field 0, which receivers ignore (§3.1).
#   L = loss level: number of LOSS_PERMILLE thresholds (1%, 5%, 10%) the loss reaches -> 0..3.
#   D = delay level: number of DELAY_MS thresholds the smoothed RTT reaches; pattern 1 uses all
#   7 thresholds (25 50 100 200 400 800 1600 ms -> 0..7), pattern 0 the odd ones (50 200 800 -> 0..3).
#   Thresholds are constructor arguments (both ends and probes must agree, like n).
from coap.compat import ticks_diff
from coap.pmmeasure import Meter, D_NOW, D_DEFERRED, DELAY_MS, tolerance  # noqa: F401 (DELAY_MS: coap.pm's name)

CLIENT = 0
SERVER = 1

LOSS_PERMILLE = (10, 50, 100)
N_GROUP = 16  # block length of a multicast group flow (see "Block lengths")


# --- value codec ---
def encode(pattern, q=0, s=0, c=0, event=0):
    """Option value (int) for pattern 0 (q, s, 5-bit event) or pattern 1 (c, 6-bit event)."""
    if pattern == 0:
        if not 0 <= event <= 0x1F:
            raise ValueError("pattern 0 event is 5 bits")
        return ((q & 1) << 6) | ((s & 1) << 5) | event
    if pattern == 1:
        if not 0 <= event <= 0x3F:
            raise ValueError("pattern 1 event is 6 bits")
        return 0x80 | ((c & 1) << 6) | event
    raise ValueError("pattern is 0 or 1")


def decode(v):
    """(pattern, q_or_c, s_or_None, event) of a value (int 0..255). Raises ValueError."""
    if v is None or not 0 <= v <= 255:
        raise ValueError("PM value is one byte")
    if v & 0x80:
        return 1, (v >> 6) & 1, None, v & 0x3F
    return 0, (v >> 6) & 1, (v >> 5) & 1, v & 0x1F


def value_of(m, num=None):
    """PM value of a decoded msg.Msg, None when absent, -1 when malformed (longer than 1 byte)."""
    if num is None:
        from coap import options
        num = options.PM
    ln = m.opt_len(num)
    if ln < 0:
        return None
    if ln > 1:
        return -1
    return m.uint(num, 0)


def _level(x, thr, step):
    k = 0
    i = step - 1
    while i < len(thr) and x >= thr[i]:
        k += 1
        i += step
    return k


def event_encode(pattern, loss_permille, rtt_ms, loss_thr=LOSS_PERMILLE, delay_thr=DELAY_MS):
    """Event field for a loss (1/1000) and an RTT (ms); 0 when either is unknown (< 0)."""
    if loss_permille < 0 or rtt_ms < 0:
        return 0
    lv = _level(loss_permille, loss_thr, 1)
    if lv > 3:
        lv = 3
    if pattern == 0:
        dv = _level(rtt_ms, delay_thr, 2)
        return 0x10 | (lv << 2) | (dv if dv < 3 else 3)
    dv = _level(rtt_ms, delay_thr, 1)
    return 0x20 | (lv << 3) | (dv if dv < 7 else 7)


def event_decode(v):
    """(loss_level, delay_level) carried by a whole option value, or None (no event info)."""
    if v & 0x80:
        if not v & 0x20:
            return None
        return (v >> 3) & 3, v & 7
    if not v & 0x10:
        return None
    return (v >> 2) & 3, v & 3


def _is_group(peer):
    # a (host, port) key whose host is a multicast address literal (checked once per new peer)
    try:
        h = peer[0]
        if h[:2] in ("ff", "FF"):
            return True
        i = h.find(".")
        return i > 0 and 224 <= int(h[:i]) <= 239
    except (TypeError, ValueError, IndexError, AttributeError):
        return False


class _Peer:
    # Sender state of the flow to one peer plus the Meter of the flow from it.
    def __init__(self, meter):
        self.meter = meter
        self.q = 0          # current Q (block marking)
        self.qpos = 0       # packets sent in the current block
        self.s = 1          # client: S of the previous request (first request carries 0)
        self.s_t = 0        # client: send time of the previous request
        self.s_wait = False  # client: its echo has not come back yet
        self.s_rx = 0       # server: S of the last request received
        self.d_pend = False  # a D to reflect on the next packet
        self.d_out = False   # client: a D sent and not yet back
        self.d_t = 0        # send time of the last D
        self.d_back = 0     # arrival time of the D being held for reflection
        self.d_wait = False  # a D taken at once (D_NOW) awaits its confirming packet
        self.d_samp = 0     # client: the RTT sample that D gives once confirmed
        self.d_gap = 255    # packets sent since the last D (counted up to 2x+1)
        self.d_ever = False
        self.tx = 0


class PMEndpoint:
    """PM marking and measurement for a client or a server (the hook of the client and server cores).

    role: "client" / "server" (or CLIENT / SERVER); pattern: 0 (Q+S) or 1 (C); n: block length of
    unicast flows; n_group: block length of a multicast group flow (a peer whose host is a multicast
    address: the notifications a server sends to a group, as each board receives them), see
    "Block lengths" above; x: reordering tolerance (< n/2; the group flow takes its default);
    t_max: ms before a client regenerates a lost D, and the longest RTT sample kept; max_peers:
    flows kept (new peers beyond are counted in 'overflow', not marked).
    Peers are keys as given (normalise with addr.norm first). For a message received through a
    multicast group, pass the (group, port) it was sent to as peer: that is the flow the sender marks.
    """

    def __init__(self, role, pattern=0, n=64, x=0, t_max=1000, max_peers=16, ring=16,
                 loss_thr=LOSS_PERMILLE, delay_thr=DELAY_MS, events=True, n_group=N_GROUP):
        if role in ("client", CLIENT):
            role = CLIENT
        elif role in ("server", SERVER):
            role = SERVER
        else:
            raise ValueError("role is 'client' or 'server'")
        if pattern not in (0, 1):
            raise ValueError("pattern is 0 or 1")
        self.role = role
        self.pattern = pattern
        self.n = n
        self.t_max = t_max
        self.t_regen = t_max + (t_max >> 3)
        self.max_peers = max_peers
        self.ring = ring
        self.loss_thr = loss_thr
        self.delay_thr = delay_thr
        self.events = events
        self.x = tolerance(n, x)
        xg = tolerance(n_group)
        if pattern and (n < 3 * self.x + 3 or n_group < 3 * xg + 3):
            raise ValueError("pattern 1 needs n >= 3x+3 (room for a D)")
        self.n_group = n_group
        self._x = x
        self.peers = {}
        self.overflow = 0
        self.d_sent = 0
        self.d_rx = 0
        self.d_dropped = 0  # Ds not reflected in time (placement rule)

    def _peer(self, peer):
        st = self.peers.get(peer)
        if st is None:
            if len(self.peers) >= self.max_peers:
                self.overflow += 1
                return None
            # a client times its own marks; a server measures periods (like a probe)
            # a group flow is joined while the server's wave runs: its first block is partial
            grp = _is_group(peer)
            st = _Peer(Meter(self.n_group if grp else self.n, 0 if grp else self._x, self.t_max,
                             periods=self.role == SERVER, skip_first=grp, ring=self.ring,
                             delay_thr=self.delay_thr))
            self.peers[peer] = st
        return st

    def tx(self, peer, now_ms, request_value=None):
        """PM option value for the next message to peer (request_value: PM value of the request a
        server answers, or None). None when the peer table is full (send no PM option)."""
        st = self._peer(peer)
        if st is None:
            return None
        m = st.meter
        n = m.n
        pos = st.qpos
        q = st.q
        pos1 = pos + 1
        if pos1 >= n:  # RFC 9506 §3.1: toggle after n packets
            pos1 = 0
            st.q = q ^ 1
        st.qpos = pos1
        st.tx += 1
        if self.pattern == 0:
            if self.role == CLIENT:
                s = st.s ^ 1
                st.s = s
                st.s_t = now_ms
                st.s_wait = True
            elif request_value is not None and 0 <= request_value < 128:
                s = (request_value >> 5) & 1
            else:
                s = st.s_rx
            v = (q << 6) | (s << 5)
        else:
            c = q
            x = m.x
            gap = st.d_gap
            if gap <= 2 * x:
                st.d_gap = gap + 1
            # the D placement rule (see the header): 2x+1 packets into the block, x+1 before its
            # end, x packets (a reflection) or 2x+1 (a generation) after the last D
            ok = 2 * x < pos < n - x - 1 and gap >= x
            mark = False
            if st.d_pend:
                # a reflection: the server's on its very next packet (its hold would stretch the
                # client's own sample), the client's on the first packet allowed to carry it within
                # srtt/8 of the D's arrival; else it is dropped (the client regenerates later)
                if ticks_diff(now_ms, st.d_back) <= (m.srtt8 >> 6 if self.role == CLIENT else 0) and ok:
                    mark = True
                elif self.role == SERVER or ticks_diff(now_ms, st.d_back) > (m.srtt8 >> 6):
                    st.d_pend = False
                    self.d_dropped += 1
            elif ok and gap > 2 * x and self.role == CLIENT:
                # generation, and regeneration when none came back (RFC 9506 §4.2.1)
                mark = not st.d_ever or ticks_diff(now_ms, st.d_t) > self.t_regen
            if mark:
                c ^= 1
                st.d_pend = False
                st.d_out = True
                st.d_ever = True
                st.d_t = now_ms
                st.d_gap = 0
                self.d_sent += 1
            v = 0x80 | (c << 6)
        if self.events and m.blocks and m.rn:
            v |= event_encode(self.pattern, m.loss_permille(), m.srtt8 >> 3, self.loss_thr, self.delay_thr)
        return v

    def rx(self, peer, value, now_ms):
        """Feed the PM value of a message received from peer (None when it had none)."""
        st = self._peer(peer)
        if st is None:
            return
        m = st.meter
        r = m.rx(value, now_ms)
        if value is None or not 0 <= value <= 255:
            return
        if value < 128:
            if self.role == CLIENT:
                # §2.1: the response echoes the request's S: request -> echo is one RTT
                if st.s_wait and ((value >> 5) & 1) == st.s:
                    st.s_wait = False
                    m.add_rtt(ticks_diff(now_ms, st.s_t))
            else:
                st.s_rx = (value >> 5) & 1
        elif r == D_NOW:
            # a D far from the block's edge: reflected at once (on a sparse flow the packet that
            # confirms it comes an RTT later); the client's sample counts once it is confirmed
            if self.role == SERVER or st.d_out:  # (a D we did not send: do not multiply Ds)
                self.d_rx += 1
                st.d_pend = True
                st.d_back = now_ms
                st.d_wait = True
                if self.role == CLIENT:
                    st.d_out = False
                    st.d_samp = ticks_diff(now_ms, st.d_t)
        elif r == D_DEFERRED:
            if m.dnow:  # the D_NOW above is confirmed
                if st.d_wait:
                    st.d_wait = False
                    if self.role == CLIENT and st.d_samp <= self.t_max:
                        m.add_rtt(st.d_samp)  # our D came back: one RTT (RFC 9506 §4.2)
            elif self.role == SERVER or st.d_out:
                # recognised packets later (near the block end): reflected only if still within
                # srtt/8 of its arrival (a late reflection would stretch the client's sample)
                self.d_rx += 1
                st.d_pend = True
                st.d_back = m.pend_t
                if self.role == CLIENT:
                    st.d_out = False
                    p = ticks_diff(m.pend_t, st.d_t)
                    if p <= self.t_max:
                        m.add_rtt(p)
        elif st.d_wait and not m.pend:
            # that D_NOW was the start of the next block: no sample, no reflection (if not sent yet)
            st.d_wait = False
            if st.d_pend:
                st.d_pend = False
                if self.role == CLIENT:
                    st.d_out = True  # our own D may still come back

    def meter(self, peer):
        st = self.peers.get(peer)
        return st.meter if st else None

    def stats(self):
        """A JSON-able dict: per peer ("host:port") the figures of the flow received from it."""
        out = {}
        for k in self.peers:
            st = self.peers[k]
            d = st.meter.summary()
            d["tx"] = st.tx
            ev = d["event"]
            if ev:
                d["peer_event"] = event_decode(ev | (0x80 if d["pattern"] == 1 else 0))
            if isinstance(k, tuple) and len(k) == 2:
                k = "%s:%s" % k
            out[str(k)] = d
        return {"role": "client" if self.role == CLIENT else "server", "pattern": self.pattern,
                "n": self.n, "x": self.x, "peers": out, "overflow": self.overflow,
                "d_sent": self.d_sent, "d_rx": self.d_rx, "d_dropped": self.d_dropped}

    def lines(self):
        """Report lines, one per peer."""
        out = []
        for k in self.peers:
            lab = ("%s:%s" % k) if isinstance(k, tuple) and len(k) == 2 else str(k)
            out.append(self.peers[k].meter.line(lab))
        return out
