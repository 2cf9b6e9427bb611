# The board CBOR codec against CPython's cbor2, both directions, with hypothesis (CPython only).
import cbor2
from hypothesis import given, settings, strategies as st

from coap import cbor, cborenc

ints = st.integers(min_value=-(2 ** 64), max_value=2 ** 64 - 1)
leaves = st.one_of(ints, st.binary(max_size=40), st.text(max_size=20), st.booleans(), st.none())
keys = st.one_of(ints, st.binary(max_size=8), st.text(max_size=8))


def values(leaf):
    return st.recursive(leaf, lambda c: st.one_of(
        st.lists(c, max_size=5), st.dictionaries(keys, c, max_size=5),
        st.builds(lambda t, v: ("tag", t, v), st.integers(6, 2 ** 16).filter(lambda t: t not in (24, 25, 28, 29, 30, 35, 36, 37, 52, 54, 55799, 256, 258, 260, 261, 1004, 1002, 1003, 100, 103, 26, 27, 21, 22, 23, 32, 33, 34, 42)), c)),
        max_leaves=12)


def retag(v, split, make):
    """v with every tag, split(x) -> (number, content) or None, rebuilt as make(number, content), through
    arrays and maps."""
    t = split(v)
    if t is not None:
        return make(t[0], retag(t[1], split, make))
    if isinstance(v, list):
        return [retag(x, split, make) for x in v]
    if isinstance(v, dict):
        return {k: retag(x, split, make) for k, x in v.items()}
    return v


def _generated(v):   # a tag as values() writes it: ("tag", number, content)
    return v[1:] if isinstance(v, tuple) else None


def to_ours(v):
    return retag(v, _generated, cbor.Tag)


def to_cbor2(v):
    return retag(v, _generated, cbor2.CBORTag)


def from_cbor2(v):
    return retag(v, lambda x: (x.tag, x.value) if isinstance(x, cbor2.CBORTag) else None, cbor.Tag)


@settings(max_examples=400, deadline=None)
@given(values(leaves))
def test_ours_decodes_cbor2(v):
    assert cbor.loads(cbor2.dumps(to_cbor2(v))) == to_ours(v)


@settings(max_examples=400, deadline=None)
@given(values(leaves))
def test_cbor2_decodes_ours(v):
    assert from_cbor2(cbor2.loads(cborenc.dumps(to_ours(v)))) == to_ours(v)


@settings(max_examples=400, deadline=None)
@given(values(st.one_of(ints, st.binary(max_size=8))))
def test_deterministic_maps_match_cbor2_canonical(v):
    # RFC 8949 §4.2.1 sorts keys bytewise, cbor2 sorts length-first (RFC 7049); for maps with
    # unsigned int keys (what the draft uses) both agree.
    def uint_keys(x):
        if isinstance(x, dict):
            return {abs(k) % 2 ** 64 if isinstance(k, int) else len(k): uint_keys(y) for k, y in x.items()}
        if isinstance(x, list):
            return [uint_keys(y) for y in x]
        if isinstance(x, tuple):
            return (x[0], x[1], uint_keys(x[2]))
        return x
    v = uint_keys(v)
    assert cborenc.dumps(to_ours(v)) == cbor2.dumps(to_cbor2(v), canonical=True)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False))
def test_floats_from_cbor2_all_widths(x):
    for canonical in (False, True):  # canonical picks the shortest float width
        assert cbor.loads(cbor2.dumps(x, canonical=canonical)) == x
