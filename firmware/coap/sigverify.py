# Signature verification for Group OSCORE group mode (the server's countersignature on multicast
# notifications): COSE algorithms -8 EdDSA (Ed25519, RFC 8032 §5.1.7) and -7 ES256 (ECDSA P-256 with
# SHA-256, FIPS 186-4 §6.4 / RFC 9053 §2.1). Only the curve module of the algorithm asked for is imported.
#
#   v = verifier(alg, public_key)  # ValueError for an unknown alg or a key that is not a curve point
#   v.verify(msg, sig) -> bool     # never raises on bad input: False
#   job = v.start(msg, sig)        # the same, stepwise, for a poll loop:
#   job.step(n) -> None | bool     #   at most n units (one point operation or one hash block each),
#                                  #   None while running, then the result (again on later calls)
#   v.prepare() -> job             # the per-key tables alone (the first verification builds them if not)
#
# The server's key is fixed for a group, so by default a verifier builds fixed-base comb tables for the
# generator (shared by all keys of the curve) and for its key (coap.comb), once, on first use:
# verifier(alg, key, tables=True) the curve's default comb shape, (h, v) another (2 <= h <= 8, 1 <= v
# <= 8: v * 2**(h-1) + 1 entries per table, fewer point operations for more entries), False none: the
# table-less double-and-add (a smaller heap, several times slower). Figures: tools/bench/bench_sig.py.
from coap.compat import const

EDDSA = const(-8)
ES256 = const(-7)


def verifier(alg, key, tables=True):
    if alg == EDDSA:
        from coap import ed25519 as m
    elif alg == ES256:
        from coap import p256 as m
    else:
        raise ValueError("signature algorithm %r not supported (-8 EdDSA, -7 ES256)" % (alg,))
    return m.Verifier(key, tables)


class Job:
    """A verification in progress (Verifier.start)."""

    def __init__(self, gen):
        self._g = gen
        self.result = None

    def step(self, budget=1):
        g = self._g
        if g is not None:
            for _ in range(budget):
                r = next(g)
                if r is not None:
                    self._g = None
                    self.result = r
                    return r
        return self.result


class Verifier:
    """Base of the curve modules' verifiers. A subclass provides _steps(msg, sig) (a generator yielding
    None per unit of work, then True or False), OPS (its coap.comb point operations), BITS (its scalars'
    size), SHAPE (its default comb shape), GTAB (a dict: shape -> the generator's table), and _bases()
    -> (the generator, the point its own table is for), projective."""

    def __init__(self, tables):
        if tables is True:
            tables = self.SHAPE
        if tables:
            h, v = tables
            if not (2 <= h <= 8 and 1 <= v <= 8):
                raise ValueError("comb shape (h, v) out of range: %r" % (tables,))
            tables = (h, v)
        self._shape = tables or None
        self._tab = None

    def _prep_steps(self):
        sh = self._shape
        if sh is None or self._tab is not None:
            return
        from coap import comb
        g, p = self._bases()
        t = []
        if sh not in self.GTAB:
            yield from comb.build_steps(self.OPS, g, sh[0], sh[1], self.BITS, t)
            self.GTAB[sh] = t.pop()
        yield from comb.build_steps(self.OPS, p, sh[0], sh[1], self.BITS, t)
        self._tab = t[0]

    def _mul2_steps(self, a, b, res):
        """res[0] = [a] generator + [b] the table's point, with the tables (built first if need be)."""
        from coap import comb
        yield from self._prep_steps()
        sh = self._shape
        yield from comb.mul2_steps(self.OPS, (self.GTAB[sh], self._tab), (a, b), sh[0], sh[1], self.BITS, res)

    def verify(self, msg, sig):
        for r in self._safe(msg, sig):
            if r is not None:
                return r

    def start(self, msg, sig):
        return Job(self._safe(msg, sig))

    def prepare(self):
        return Job(self._safe(None, None))

    def _safe(self, msg, sig):
        try:
            if msg is None and sig is None:
                yield from self._prep_steps()
                yield True
            elif not isinstance(msg, (bytes, bytearray, memoryview)) or \
                    not isinstance(sig, (bytes, bytearray, memoryview)):
                yield False
            else:
                yield from self._steps(msg, sig)
        except (TypeError, ValueError, IndexError):  # a malformed input the checks above let through
            yield False
