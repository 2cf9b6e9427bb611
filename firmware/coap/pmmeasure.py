# Sans-I/O measurer of one PM-marked flow (one direction of one peer), draft-ietf-core-coap-pm §2,
# algorithms of RFC 9506 (Q bit §3.1, delay bit §4.2) and RFC 9312 §3.8 / §4.1.1 (spin bit).
# Fed (option value, now_ms); usable on a board, in the server and in an on-path probe.
# No allocation per packet: ints only, a preallocated ring of RTT samples.
from coap.compat import ticks_diff

# The Event bits' delay thresholds in ms (coap.pm: both ends and probes must agree, like n)
DELAY_MS = (25, 50, 100, 200, 400, 800, 1600)

# rx() results (pattern 1)
NOT_D = 0
D_NOW = 1       # this packet is taken as a delay (D) packet of the C bit at once (far from an edge),
#                 to be confirmed by the next packet: a reflecting endpoint may act on it now
D_DEFERRED = 2  # an earlier packet is confirmed as a D (arrival time in .pend_t; .dnow: it was
#                 announced as D_NOW): a D-to-D period or an endpoint's own sample counts only now


def tolerance(n, x=0):
    """The reordering tolerance x for block length n (0: the default, n/16, 2 below 32, 1 below 16);
    ValueError unless n is a power of two >= 4 and 1 <= x < n/2."""
    if n < 4 or n & (n - 1):
        raise ValueError("block length must be a power of two >= 4")
    if not x:
        x = n >> 4 if n >= 32 else (2 if n >= 16 else 1)
    if not 1 <= x < n // 2:
        raise ValueError("reordering tolerance must be 1 <= x < n/2")
    return x


class Meter:
    """Loss from Q (or C) blocks and RTT from S edges / C delay packets of one received flow.

    n: block length (power of two); x: reordering tolerance (< n/2, RFC 9506 §3.1.1);
    t_max: longest credible RTT sample in ms (RFC 9506 §4.2.1); periods: derive RTT from the
    period between edges (S) / between D packets (C) of this flow (a probe, a server); an endpoint
    that knows its own send times feeds samples with add_rtt() instead; skip_first: drop the first
    block (a probe that joined mid-block); ring: RTT samples kept for the median; delay_thr: the
    Event bits' delay thresholds (coap.pm.DELAY_MS): with them an S period counts as an RTT only
    inside the range the sender's own delay level stands for (see _spin)."""

    def __init__(self, n=64, x=0, t_max=1000, periods=True, skip_first=False, ring=16, min_rtt=1, delay_thr=DELAY_MS):
        x = tolerance(n, x)
        self.n = n
        self.x = x
        # pattern 1: an edge needs x+1 flipped packets (one more than a D candidate and the x a
        # reordering may interleave; 2x+1 packets or more between Ds, coap.pm)
        self.xc = x + 1
        self.lz = 2 * x  # late zone: the first 2x packets after an edge (see _q)
        self.t_max = t_max
        self.periods = periods
        self.skip_first = skip_first
        self.min_rtt = min_rtt
        self.ring = [0] * ring
        self.delay_thr = delay_thr
        self.absent = 0
        self.bad = 0
        self.switches = 0
        self.reset()

    def reset(self):
        """Forget the flow (its pattern changed, or on demand); bad/absent counters stay."""
        self.pattern = -1
        self.pkts = 0
        # Q / C block tracking
        self.mark = -1      # marking of the current block
        self.cnt = 0        # packets counted in the current block
        self.pend = 0       # packets of the other marking seen since a candidate edge
        self.pend_t = 0     # arrival time of the first flipped packet (a D candidate or an edge)
        self.back = 0       # packets of the block's marking after a D candidate
        self.dnow = False   # the candidate was announced as D_NOW
        self.late = 0       # late packets of the previous block seen after its edge
        self.blk8 = 0       # smoothed received block size x 8
        self.dlim = self.n >> 1  # a flip before this count is a D (pattern 1)
        self.first = True
        self.blocks = 0     # closed sender blocks accounted (a burst counts as several)
        self.lost = 0       # packets lost over the accounted blocks (may dip below 0 by reordering)
        self.bursts = 0
        self.last_blk = 0
        # edges (S) and D packets
        self.s_last = -1
        self.s_t = 0
        self.s_have = False
        self.d_t = 0
        self.d_have = False
        self.d_seen = 0
        self.spurious = 0
        self.stale = 0
        # RTT
        self.rn = 0         # samples taken
        self.ri = 0
        self.srtt8 = 0      # smoothed RTT x 8 (RFC 6298 style, integer)
        self.rmin = 0
        self.rmax = 0
        self.event = 0      # last non-zero Event field received (pattern-specific width)
        self.v_lo = 0       # an S period is an RTT sample in [v_lo, v_hi) (v_hi 0: none known)
        self.v_hi = 0
        self.idle = 0       # S periods not taken: not vouched for (request gaps, RFC 9312 §3.8)

    # --- per packet ---
    def rx(self, v, now):
        """Feed one option value (None when the message had no PM option). Returns NOT_D, D_NOW or D_DEFERRED."""
        if v is None:
            self.absent += 1
            return NOT_D
        if v < 0 or v > 255:
            self.bad += 1
            return NOT_D
        pat = v >> 7
        if pat != self.pattern:
            if self.pattern >= 0:
                self.switches += 1
                self.reset()
            self.pattern = pat
        self.pkts += 1
        ev = v & (0x3F if pat else 0x1F)
        if ev:  # all-zero Event bits are ignored on receipt (§3.1)
            if ev != self.event and self.delay_thr:
                self._vouch(ev, pat)
            self.event = ev
        r = self._q((v >> 6) & 1, now, pat)
        if self.periods and pat == 0:
            self._spin((v >> 5) & 1, now)
        return r

    def _q(self, b, now, pat):
        # RFC 9506 §3.1: count packets per block; an edge is confirmed after x packets of the new
        # marking, older-marking packets arriving meanwhile still count to the old block (§3.1.1).
        # Pattern 1 (draft §2.2): a D is one packet of the opposite marking inside a block. The
        # senders' D placement (coap.pm: 2x+1 <= position < n-x-1, x packets after the previous D)
        # keeps a D apart from what reordering and loss can make of an edge, and an ambiguous flip
        # costs the D chain, never a wrong sample:
        #   - a flip among the first 2x packets after an edge is a late packet of the closed block
        #     (not before the first edge: a board joining a group flow starts anywhere in a block)
        #     (overtaken by up to 2x packets; also what an early D after losses would look like:
        #     the D chain restarts);
        #   - a flip well before the expected edge (cnt < dlim) is a D at once (D_NOW, for a
        #     reflecting endpoint), confirmed by the next packet of the block's marking; a second
        #     flip first makes it the start of the next block;
        #   - a flip near the expected edge is a D once x+1 packets of the block's marking follow
        #     it (more than reordering can put behind an edge), the start of the next block when
        #     xc flips come first; flip, old, ..., flip is ambiguous (a D followed by the edge, or an
        #     edge with late packets): the D chain restarts;
        #   - flips among which more than x packets of the block's marking arrive are not an edge
        #     (on both patterns: late or early packets beyond the tolerance, or Ds of a sparse flow).
        if self.mark < 0:
            self.mark = b
            self.cnt = 1
            return NOT_D
        x = self.x
        if self.pend == 0:
            if b == self.mark:
                self.cnt += 1
                return NOT_D
            if self.cnt <= self.lz and self.late < self.lz and not self.first:
                self.late += 1
                if self.blocks:
                    self.lost -= 1  # it was counted lost in the block just closed
                self.d_have = False
                return NOT_D
            self.pend = 1
            self.back = 0
            self.pend_t = now
            if pat:
                if self.cnt < self.dlim:  # well before the expected edge: a D
                    self.dnow = True
                    return D_NOW
                self.dnow = False
            elif x == 1:
                self._edge(b)
            return NOT_D
        if b != self.mark:
            self.pend += 1
            if self.pend >= (self.xc if pat else x):
                if self.back:
                    self.d_have = False
                self._edge(b)
            return NOT_D
        self.cnt += 1  # a packet of the block's marking: late (edge pending) or after a D candidate
        self.back += 1
        if pat and self.pend == 1 and (self.dnow or self.back > x):
            self.cnt += 1  # the flipped packet was a D of this block
            self.pend = 0
            self.d_seen += 1
            if self.periods:
                self._dper(self.pend_t)
            return D_DEFERRED
        if self.back > x:
            # more than x packets of the block's marking around the flips: not the next block
            # (late or early packets, or Ds too close to tell apart: no D sample across them)
            self.cnt += self.pend
            self.pend = 0
            self.d_have = False
        return NOT_D

    def _edge(self, b):
        blk = self.cnt
        self.mark = b
        self.cnt = self.pend
        self.pend = 0
        self.late = 0
        self.last_blk = blk
        if self.first:
            self.first = False
            if self.skip_first:
                return
        n = self.n
        k = 1
        if blk > n + (n >> 1):
            # RFC 9506 §3.1.2: a block far longer than n means whole blocks vanished in a burst
            # between two blocks of the same marking: count it as 3 (5, ...) blocks.
            k = 3
            while k * n < blk:
                k += 2
            self.bursts += 1
        elif blk <= n:
            # expected edge from the received block sizes: avg - x - 2 sigma (sigma^2 ~ the losses)
            a8 = self.blk8 = (blk << 3) if not self.blk8 else self.blk8 + blk - (self.blk8 >> 3)
            miss = n - (a8 >> 3) + 1
            r = 1
            while r * r < miss:
                r += 1
            lim = (a8 >> 3) - self.x - 2 * r
            self.dlim = lim if lim > n >> 1 else n >> 1
        self.blocks += k
        self.lost += k * n - blk

    def _thresh(self):
        # RFC 9312 §4.1.1: reject edges arriving far sooner than the RTT seen so far (reordering)
        t = self.srtt8 >> 5  # a quarter of the smoothed RTT
        return t if t > self.min_rtt else self.min_rtt

    def _vouch(self, ev, pat):
        # The RTT range of the sender's delay level (coap.pm Event bits: its own request -> echo
        # RTT), widened x2 each way against jitter at a threshold: [lo/2, 2 hi).
        if pat:
            if not ev & 0x20:
                return
            lv, k, step = ev & 7, 7, 1
        else:
            if not ev & 0x10:
                return
            lv, k, step = ev & 3, 3, 2
        thr = self.delay_thr
        if k * step > len(thr):
            return
        self.v_lo = thr[step * lv - 1] >> 1 if lv else 0
        self.v_hi = thr[step * lv + step - 1] << 1 if lv < k else self.t_max + 1

    def _spin(self, s, now):
        # S edges: one per request of the client (draft §2.1), so the period between two is one RTT
        # only when the client sent its next request as the echo came back (NSTART=1, back to back);
        # on an application-limited flow it is the gap between requests (RFC 9312 §3.8: idle time).
        # A period counts as an RTT only when the client's own delay level vouches for it; else it is
        # counted apart (idle), never a sample: with NSTART=1 it is an RTT plus idle time, with
        # requests in flight together it is shorter than an RTT.
        if self.s_last < 0:
            self.s_last = s
            return
        if s == self.s_last:
            return
        self.s_last = s
        if not self.s_have:
            self.s_have = True
            self.s_t = now
            return
        p = ticks_diff(now, self.s_t)
        if p > self.t_max:
            self.stale += 1
            self.s_t = now
            return
        if p < self._thresh():
            self.spurious += 1  # keep the last good edge time
            return
        self.s_t = now
        if p >= self.v_hi:  # (v_hi 0: no delay level from the client yet)
            self.idle += 1
            return
        if p < self.v_lo:  # shorter than the client's RTT: requests in a burst, not a round trip
            self.spurious += 1
            return
        self.add_rtt(p)

    def _dper(self, t):
        # RFC 9506 §4.2: on one direction, the distance between two D packets is one RTT.
        if not self.d_have:
            self.d_have = True
            self.d_t = t
            return
        p = ticks_diff(t, self.d_t)
        if p > self.t_max:
            self.stale += 1
            self.d_t = t
            return
        if p < self._thresh():
            self.spurious += 1
            return
        self.d_t = t
        self.add_rtt(p)

    def add_rtt(self, p):
        """Record one RTT sample in ms (also used by endpoints that time their own marks)."""
        if p < 0:
            return
        r = self.ring
        r[self.ri] = p
        self.ri += 1
        if self.ri == len(r):
            self.ri = 0
        if self.rn == 0:
            self.srtt8 = p << 3
            self.rmin = p
            self.rmax = p
        else:
            self.srtt8 += p - (self.srtt8 >> 3)
            if p < self.rmin:
                self.rmin = p
            if p > self.rmax:
                self.rmax = p
        self.rn += 1

    # --- figures (allocate; not on the per-packet path) ---
    def loss_permille(self):
        """Loss over the closed blocks in 1/1000, or -1 before the first closed block."""
        if not self.blocks:
            return -1
        lost = self.lost if self.lost > 0 else 0
        return lost * 1000 // (self.blocks * self.n)

    def rtt(self):
        """Smoothed RTT in ms, or -1 with no sample yet (cheap; for the Event bits)."""
        return self.srtt8 >> 3 if self.rn else -1

    def samples(self):
        k = self.rn if self.rn < len(self.ring) else len(self.ring)
        return self.ring[:k]

    def rtt_median(self):
        s = sorted(self.samples())
        if not s:
            return -1
        k = len(s)
        return s[k // 2] if k & 1 else (s[k // 2 - 1] + s[k // 2]) / 2

    def event_levels(self):
        """[loss level, delay level] the sender announced in its Event bits, or None: read by
        coap.pm.event_decode, the one reading (imported on use: reports only, and pm is loaded
        wherever a Meter is fed)."""
        from coap.pm import event_decode
        lv = event_decode(self.event | (0x80 if self.pattern == 1 else 0))
        return None if lv is None else [lv[0], lv[1]]

    def summary(self, samples=False):
        """A JSON-able dict of this flow's figures."""
        exp = self.blocks * self.n
        d = {
            "pattern": self.pattern, "n": self.n, "pkts": self.pkts, "blocks": self.blocks, "expected": exp,
            "lost": self.lost, "loss_pct": (100.0 * self.lost / exp) if exp else None,
            "bursts": self.bursts, "open_block": self.cnt + self.pend,
            "rtt_ms": self.rtt_median() if self.rn else None,
            "srtt_ms": self.rtt() if self.rn else None,
            "rtt_min": self.rmin if self.rn else None, "rtt_max": self.rmax if self.rn else None,
            "rtt_n": self.rn, "d_pkts": self.d_seen, "spurious": self.spurious, "stale": self.stale,
            "absent": self.absent, "bad": self.bad, "switches": self.switches,
            "event": self.event, "event_levels": self.event_levels(),
            "idle": self.idle,
        }
        if samples:
            d["rtt_samples"] = self.samples()
        return d

    def line(self, label=""):
        """One report line."""
        exp = self.blocks * self.n
        loss = ("%.2f%%" % (100.0 * self.lost / exp)) if exp else "-"
        rtt = ("%sms" % self.rtt_median()) if self.rn else "-"
        ub = (" idle=%d (spin periods not taken: request gaps)" % self.idle) if self.idle else ""
        return "pm %s pat=%d pkts=%d loss=%s (%d/%d, %d bursts) rtt=%s (n=%d min=%s max=%s)%s spur=%d" % (
            label, self.pattern, self.pkts, loss, self.lost, exp, self.bursts, rtt, self.rn,
            self.rmin if self.rn else "-", self.rmax if self.rn else "-", ub, self.spurious)
