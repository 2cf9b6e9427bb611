# Fixed-base scalar multiplication shared by the curve modules (ed25519, p256): a Lim-Lee comb with
# signed all-odd digits, so a table of v * 2**(h-1) points per base gives [k]P in d/v - 1 doublings and
# d additions, d = ceil(bits/h) (Lim, Lee, CRYPTO '94; Hedabou, Pinel, Bénéteau, "Countermeasures for
# preventing comb method against SCA attacks", 2005, for the signed odd recoding).
#
# Recoding: an odd k < 2**(h*d) is sum(s_i * 2**i), s_i = +-1, with s_i = +1 iff bit i of
# c = (k + 2**(h*d) - 1) / 2 is set. Column j (0 <= j < d) adds sum_i s_(j+i*d) * 2**(i*d) * P; its sign
# is that of the top tooth, so table entry u (h-1 bits) holds 2**((h-1)d)P + sum_i (+-)2**(i*d)P with
# + where bit i of u is set. With v sub-tables, sub-table t is 2**(t*e) times table 0, e = d/v, and
# column j + t*e is read from sub-table t at doubling step j. Even k: [k+1]P - P.
#
# A curve supplies an object `c` with: c.dbl(Q), c.add(Q, R) (projective), c.neg(Q); c.norm(points,
# table, i) (the points affine, in the curve's addition-friendly form, packed into the table from entry
# i on, c.ENTRY bytes each); c.madd(Q, table, i, neg, dbl_next) (Q + or - entry i; dbl_next: only a
# doubling reads the result, which may skip what doublings do not use); c.lift(table, i, neg).
from coap.compat import micropython


def shape(bits, h, v):
    """(d, e) for scalars below 2**bits: d columns, a multiple of v, h*d >= bits; e = d // v."""
    d = (bits + h - 1) // h
    d = (d + v - 1) // v * v
    return d, d // v


@micropython.native  # small-int bit picking: machine code on a board (tools/mpy.py)
def recode(k, h, d):
    """Column codes of the odd scalar k: bytearray(d), entry index | 0x80 when the column is negated."""
    n = h * d
    cb = ((k + (1 << n) - 1) >> 1).to_bytes(n // 8 + 1, "little")
    out = bytearray(d)
    top = (h - 1) * d
    mask = (1 << (h - 1)) - 1
    for j in range(d):
        u = 0
        pos = j
        for i in range(h - 1):
            u |= ((cb[pos >> 3] >> (pos & 7)) & 1) << i
            pos += d
        pos = j + top
        out[j] = u if (cb[pos >> 3] >> (pos & 7)) & 1 else (u ^ mask) | 0x80
    return out


def build_steps(c, p, h, v, bits, out):
    """Generator (None per point operation) that appends to the list out the table of the projective
    point p: v * 2**(h-1) entries, sub-table after sub-table, then p itself; c.ENTRY bytes each. The
    table's buffer is allocated first (one block while the heap is tidy) and each sub-table is made
    affine on its own (one inversion each), so the projective points held at once are one sub-table's."""
    d, e = shape(bits, h, v)
    half = 1 << (h - 1)
    buf = bytearray(c.ENTRY * (v * half + 1))
    # the bases 2**(t*e + i*d) P (i < h) and their doubles (i < h - 1), from one doubling chain
    want = {}
    for t in range(v):
        for i in range(h):
            want[t * e + i * d] = None
            if i < h - 1:
                want[t * e + i * d + 1] = None
    q = p
    top = max(want)
    for j in range(top + 1):
        if j in want:
            want[j] = q
        if j < top:
            q = c.dbl(q)
            yield None
    for t in range(v):
        base = t * e
        s = want[base + (h - 1) * d]
        for i in range(h - 1):
            s = c.add(s, c.neg(want[base + i * d]))
            yield None
        tab = [s]
        for i in range(h - 1):
            two = want[base + i * d + 1]
            for u in range(1 << i):
                tab.append(c.add(tab[u], two))
                yield None
        c.norm(tab, buf, t * half)
        tab = None
        yield None
    want = None
    c.norm([p], buf, v * half)
    out.append(buf)
    yield None


def mul2_steps(c, tabs, ks, h, v, bits, res):
    """Generator (None per point operation): res[0] = sum of [k]P over the pairs (table of P, k) in
    zip(tabs, ks), each table from build_steps with the same h, v, bits, each k an int in [0, 2**bits)."""
    d, e = shape(bits, h, v)
    half = 1 << (h - 1)
    codes = []
    fix = []
    for k in ks:
        odd = k & 1
        codes.append(recode(k if odd else k + 1, h, d))
        fix.append(not odd)
    q = None
    nb = len(ks)
    last = (nb - 1, v - 1)
    for j in range(e - 1, -1, -1):
        if q is not None:
            q = c.dbl(q)
            yield None
        for b in range(nb):
            tab = tabs[b]
            cd = codes[b]
            for t in range(v):
                x = cd[j + t * e]
                if q is None:
                    q = c.lift(tab, t * half + (x & 0x7F), x & 0x80)
                else:
                    q = c.madd(q, tab, t * half + (x & 0x7F), x & 0x80, j and (b, t) == last)
                yield None
    for b in range(nb):
        if fix[b]:
            q = c.madd(q, tabs[b], v * half, 1, False)
            yield None
    res[0] = q
