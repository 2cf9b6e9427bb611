# Rough counting of the clients in a group observation (draft -04 §5.2, Appendix B.3).
# Sans-I/O: the owner tells it when a notification goes out, when a confirmation arrives and
# what time it is; it answers with the MRFD value to put in a notification and the new COUNT.
#
# Decision: COUNT is kept as a float. B.3 writes `int NEW_COUNT = COUNT' + ((E - N) / D)`;
# truncating (E-N)/D would stall the estimate whenever |E-N| < D and would make the 0.2
# cancel threshold meaningless. COUNT is shown rounded.
import math

MAX_CONFIRMATION_WAIT_MS = 452000   # §5.2.2: MAX_RTT 202 s + MAX_CLIENT_REQUEST_DELAY 250 s
RETRY_NEXT_THRESHOLD = 4            # B.3
CANCEL_THRESHOLD = 0.2              # B.3
DEFAULT_D = 4                       # B.3 dampener
DEFAULT_M = 32                       # §5.2.1: application policy (M=8 of §5.2.3 leaves ~18% noise, see sim)
EVERY = 10                          # B.3: "next count update after 10 multicast notifications"


def q_for(count, m):
    """§5.2.1: Q = max(ceil(log2(N / M)), 0) with N = max(COUNT, 1)."""
    n = max(count, 1)
    if n <= m:
        return 0
    q = math.ceil(math.log2(n / m))
    # guard the float log against an exact power of two landing one above
    if q > 0 and n <= m * (1 << (q - 1)):
        q -= 1
    return max(int(q), 0)


class RoughCounter:
    """COUNT and the state of one feedback round (B.3). Times in ms."""

    def __init__(self, m=DEFAULT_M, d=DEFAULT_D, wait_ms=MAX_CONFIRMATION_WAIT_MS,
                 every=EVERY, first_after=1, retry_next=RETRY_NEXT_THRESHOLD,
                 cancel_below=CANCEL_THRESHOLD):
        if m < 1 or d <= 0 or wait_ms < 0 or every < 1 or first_after < 1:
            raise ValueError("rough counting: need M >= 1, D > 0, wait >= 0, every >= 1")
        self.m = m
        self.d = d
        self.wait_ms = wait_ms
        self.every = every
        self.retry_next = retry_next
        self.cancel_below = cancel_below
        self.count = 0.0          # COUNT, the observer counter (§2)
        self.until_next = first_after  # notifications until the next round starts
        self.open = False         # a round is collecting feedback (between t1 and t2)
        self.t1 = 0
        self.n = 1                # N of the open round
        self.q = 0                # Q of the open round
        self.r = 0                # R: confirmations in the open round
        self.rounds = 0
        self.late = 0             # confirmations outside a round
        self.history = []         # (round, N, Q, R, E, new COUNT) per closed round

    # --- §2: every new client increments COUNT ---
    def add(self, k=1):
        self.count += k

    # --- evidence that k counted registrations joined no group (core: ServerCore._not_in_group) ---
    def remove(self, k=1):
        """Take back the +k those registrations added (§2.2); True when COUNT is now below the cancel
        threshold of B.3 (the group observation has no observer left to serve, §2.5)."""
        self.count = max(self.count - k, 0.0)
        return self.count < self.cancel_below

    # --- §5.2.1: request for feedback ---
    def on_notification(self, now):
        """Called for each multicast notification about to be built. Returns Q when this
        notification must carry MRFD (first of a round, so only the first of a burst), else None."""
        if self.open:
            return None
        self.until_next -= 1
        if self.until_next > 0:
            return None
        self.open = True
        self.t1 = now
        self.n = max(self.count, 1)
        self.q = q_for(self.count, self.m)
        self.r = 0
        return self.q

    # --- §5.2.2: collection ---
    def confirm(self, now):
        """A registration with an empty MRFD. True if counted as R (a round is open)."""
        if self.open and now - self.t1 <= self.wait_ms:
            self.r += 1
            return True
        self.late += 1
        return False

    def deadline(self):
        return self.t1 + self.wait_ms if self.open else None

    def due(self, now):
        return self.open and now - self.t1 >= self.wait_ms

    # --- §5.2.3 / B.3: processing (atomic: the caller runs it in one step) ---
    def close(self, now=None):
        """End the round: returns (new COUNT, cancel?)."""
        n, q, r = self.n, self.q, self.r
        e = r * (1 << q)
        if r == 0 or max(e / n, n / e) > self.retry_next:
            self.until_next = 1
        else:
            self.until_next = self.every
        new = self.count + (e - n) / self.d     # COUNT' + (E - N) / D
        self.open = False
        self.rounds += 1
        cancel = new < self.cancel_below
        self.count = 0.0 if cancel or new < 0 else new
        self.history.append((self.rounds, n, q, r, e, self.count))
        return self.count, cancel

    def estimate(self):
        return int(round(self.count))
