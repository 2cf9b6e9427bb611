"""The seeded xorshift32 random source of the simulations, benches and tests (a `getrandbits` for
a core's `rng=`). Imports under MicroPython too, at ~0.8 KiB of heap: keep it this small."""


class Rng:
    """A seeded getrandbits source with the same sequence on both runtimes (xorshift32, k <= 32);
    random.seed is global on both, this keeps simulations and tests apart."""

    def __init__(self, seed=12345):
        self.s = seed & 0xFFFFFFFF or 1

    def getrandbits(self, k):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s >> (32 - k) if k < 32 else s
