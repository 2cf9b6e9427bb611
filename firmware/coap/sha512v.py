# SHA-512 compression (FIPS 180-4 §6.4.2) as MicroPython viper code: 64-bit words as (high, low) pairs
# of 32-bit machine words. About 50 times fewer Cortex-M0 instructions per block than coap.sha512's
# Python ints (tools/bench/bench_sig.py). coap.sha512 imports this only under MicroPython, checks it
# against a known digest, and keeps its Python compression where this does not compile or run (a port
# without a native emitter, a bytecode build: tools/mpy.py --bytecode). Never imported by CPython (the
# viper types are not Python). Words are masked with m after left shifts and additions, so the same
# code is right on 64-bit ports (unix x64) where a machine word is wider than 32 bits.
import micropython


@micropython.viper
def compress(st: ptr32, blk: ptr8, off: int, w: ptr32, k: ptr8):
    """st: the state, 8 words as 16 uint32 (high, low, ...); blk[off:off+128] the block; w: 160 uint32
    of scratch (the message schedule); k: the 80 round constants, 640 bytes big-endian."""
    m = (uint(0xFFFF) << 16) | uint(0xFFFF)
    i = 0
    while i < 32:
        p = off + i * 4
        w[i] = (uint(blk[p]) << 24) | (uint(blk[p + 1]) << 16) | (uint(blk[p + 2]) << 8) | uint(blk[p + 3])
        i += 1
    # §6.4.2 step 1: W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16
    t = 32
    while t < 160:
        xh = uint(w[t - 30])
        xl = uint(w[t - 29])
        # σ0 = ROTR1 ^ ROTR8 ^ SHR7
        s0h = (((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)) & m
        s0l = (((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))) & m
        xh = uint(w[t - 4])
        xl = uint(w[t - 3])
        # σ1 = ROTR19 ^ ROTR61 ^ SHR6
        s1h = (((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)) & m
        s1l = (((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))) & m
        lo = (uint(w[t - 31]) + s0l) & m
        hi = uint(w[t - 32]) + s0h + (uint(1) if lo < s0l else uint(0))
        x = lo
        lo = (lo + uint(w[t - 13])) & m
        hi += uint(w[t - 14]) + (uint(1) if lo < x else uint(0))
        x = lo
        lo = (lo + s1l) & m
        hi += s1h + (uint(1) if lo < x else uint(0))
        w[t] = hi & m
        w[t + 1] = lo
        t += 2
    ah = uint(st[0])
    al = uint(st[1])
    bh = uint(st[2])
    bl = uint(st[3])
    ch = uint(st[4])
    cl = uint(st[5])
    dh = uint(st[6])
    dl = uint(st[7])
    eh = uint(st[8])
    el = uint(st[9])
    fh = uint(st[10])
    fl = uint(st[11])
    gh = uint(st[12])
    gl = uint(st[13])
    hh = uint(st[14])
    hl = uint(st[15])
    t = 0
    while t < 160:
        # T1 = h + Σ1(e) + Ch(e, f, g) + K_t + W_t; Σ1 = ROTR14 ^ ROTR18 ^ ROTR41
        s1h = (((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))) & m
        s1l = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))) & m
        lo = (hl + s1l) & m
        hi = hh + s1h + (uint(1) if lo < s1l else uint(0))
        x = (gl ^ (el & (fl ^ gl)))
        lo = (lo + x) & m
        hi += (gh ^ (eh & (fh ^ gh))) + (uint(1) if lo < x else uint(0))
        p = t * 4
        x = (uint(k[p + 4]) << 24) | (uint(k[p + 5]) << 16) | (uint(k[p + 6]) << 8) | uint(k[p + 7])
        lo = (lo + x) & m
        hi += ((uint(k[p]) << 24) | (uint(k[p + 1]) << 16) | (uint(k[p + 2]) << 8) | uint(k[p + 3])) + \
            (uint(1) if lo < x else uint(0))
        x = uint(w[t + 1])
        lo = (lo + x) & m
        hi += uint(w[t]) + (uint(1) if lo < x else uint(0))
        t1h = hi & m
        t1l = lo
        # T2 = Σ0(a) + Maj(a, b, c); Σ0 = ROTR28 ^ ROTR34 ^ ROTR39
        s0h = (((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))) & m
        s0l = (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))) & m
        x = (al & bl) | (cl & (al | bl))
        lo = (s0l + x) & m
        t2h = s0h + ((ah & bh) | (ch & (ah | bh))) + (uint(1) if lo < x else uint(0))
        t2l = lo
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        el = (dl + t1l) & m
        eh = (dh + t1h + (uint(1) if el < t1l else uint(0))) & m
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        al = (t1l + t2l) & m
        ah = (t1h + t2h + (uint(1) if al < t2l else uint(0))) & m
        t += 2
    # H_i += the working variables (through w, free again)
    w[0] = ah
    w[1] = al
    w[2] = bh
    w[3] = bl
    w[4] = ch
    w[5] = cl
    w[6] = dh
    w[7] = dl
    w[8] = eh
    w[9] = el
    w[10] = fh
    w[11] = fl
    w[12] = gh
    w[13] = gl
    w[14] = hh
    w[15] = hl
    i = 0
    while i < 16:
        x = uint(w[i + 1])
        lo = (uint(st[i + 1]) + x) & m
        st[i] = uint(st[i]) + uint(w[i]) + (uint(1) if lo < x else uint(0))
        st[i + 1] = lo
        i += 2
