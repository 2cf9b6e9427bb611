# Rough counting, client side (draft -04 §5.1, Appendix B.1 and B.2): P(respond) = 2**-Q.
from tu import Rng
import random
from coap import feedback, msg
from coap import options as o

N = 8000


def respond_b1(q, rng):
    """Appendix B.1, the reference the board's B.2 (feedback.respond_to) is checked against (the board
    does not ship it: RAM): I = randomInteger(0, 2**q - 1); respond if I == 0 (drawn in 32-bit words)."""
    i = 0
    while q > 0:
        k = 32 if q > 32 else q
        i = (i << k) | rng.getrandbits(k)
        q -= k
    return i == 0


def _count(fn, q, seed):
    r = Rng(seed)
    n = 0
    for _ in range(N):
        if fn(q, r):
            n += 1
    return n


def _check(fn, name):
    for q in range(6):
        n = _count(fn, q, 1234 + q)
        exp = N / (1 << q)
        sd = (N * (1.0 / (1 << q)) * (1 - 1.0 / (1 << q))) ** 0.5
        # 5 standard deviations: a seeded run passes; 2**-(Q±1) is more than 8 sd away for Q >= 1
        assert abs(n - exp) <= 5 * sd + 0.5, "%s Q=%d: %d of %d, expected %.0f" % (name, q, n, N, exp)


def test_b2_bitmask_probability_is_2_pow_minus_q():
    _check(feedback.respond_to, "B.2")


def test_b1_probability_is_2_pow_minus_q():
    _check(respond_b1, "B.1")


def test_q0_always_responds_and_b1_b2_agree():
    assert _count(feedback.respond_to, 0, 7) == N and _count(respond_b1, 0, 7) == N
    for q in range(1, 6):
        a = _count(feedback.respond_to, q, 99)
        b = _count(respond_b1, q, 99)
        sd = (N / (1 << q)) ** 0.5
        assert abs(a - b) <= 6 * sd, (q, a, b)


class Fixed:
    def __init__(self, vals):
        self.vals = list(vals)
        self.asked = []

    def getrandbits(self, k):
        self.asked.append(k)
        return self.vals.pop(0)


def test_b2_q_at_or_above_word_size_consumes_whole_words():
    r = Fixed([0, 0])
    assert feedback.respond_to(32, r) and r.asked == [32, 32]   # one whole word, then mask 0
    r = Fixed([5])
    assert not feedback.respond_to(40, r) and r.asked == [32]  # a non-zero whole word: no
    r = Fixed([0, 0x100])
    assert feedback.respond_to(40, r)                           # then 8 low bits are 0
    r = Fixed([0, 0x80])
    assert not feedback.respond_to(40, r)
    r = Fixed([0x7FFFFFFF])
    assert not feedback.respond_to(31, r)
    r = Fixed([0x80000000])
    assert feedback.respond_to(31, r)


def test_delay_is_a_fraction_of_the_leisure():
    r = Rng(5)
    ds = [feedback.delay_ms(5000, r) for _ in range(500)]
    assert min(ds) >= 0 and max(ds) < 5000
    assert min(ds) < 500 and max(ds) > 4500  # spread over the whole interval
    assert feedback.delay_ms(5000, Fixed([0])) == 0 and feedback.delay_ms(1000, Fixed([0x8000])) == 500


def test_feedback_request_format():
    b = feedback.request(0x1234, b"\x4a", [(o.URI_PATH, "r")])
    m = msg.decode(b)
    assert m.type == msg.NON and m.code == msg.GET and m.mid == 0x1234 and m.token_is(b"\x4a")
    assert m.uint(o.OBSERVE) == 0 and m.uint(o.NO_RESPONSE) == 26
    assert m.opt_len(o.MRFD) == 0 and m.path() == "/r" and not m.has_payload()
