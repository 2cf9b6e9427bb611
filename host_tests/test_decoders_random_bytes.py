# Random and mutated bytes reach the decoders (message, informative response, CBOR): only the codecs' own
# exceptions may come out.
from hypothesis import given, settings, strategies as st

from coap import cbor, msg, inforesp
from coap.msg import DecodeError

SEEDS = [bytes.fromhex(x) for x in (
    "51451234" "7b610b613cff35363738",
    "410100014a605172",
    "41a300024ac2fde8ff" "a301440160517202" "4b45610a613cff6431323334" "03860141" "7bd9010444c000020a191633d9010444e9fc0017191633",
)]


def only_own_errors(decode, error, max_size, examples):
    """A test: random bytes (up to max_size) into decode raise nothing but its own error."""
    @settings(max_examples=examples, deadline=None)
    @given(st.binary(max_size=max_size))
    def test(b):
        try:
            decode(b)
        except error:
            pass
    return test


test_msg_decode_random = only_own_errors(msg.decode, DecodeError, 80, 5000)
test_inforesp_random = only_own_errors(inforesp.parse, inforesp.InfoRespError, 80, 3000)
test_cbor_random = only_own_errors(cbor.loads, cbor.CBORDecodeError, 64, 3000)


@settings(max_examples=5000, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       st.integers(0, 120))
def test_msg_and_inforesp_mutated(seed, flips, cut):
    b = bytearray(seed)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    b = bytes(b[:cut])
    try:
        m = msg.decode(b)
        if m.has_payload():
            inforesp.parse(bytes(m.payload()))
    except (DecodeError, inforesp.InfoRespError):
        pass
