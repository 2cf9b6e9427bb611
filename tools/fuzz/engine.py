"""A small mutation fuzzer (seeded, deterministic): byte flips, inserts, deletes, truncations,
splices and "interesting" values, over a corpus of valid messages. Each target is a function of
bytes that may raise only its declared exceptions; anything else is a crash, saved to
build/fuzz/crashes/<target>-<n>.bin for a regression test.
mutate() also runs under MicroPython (pass the random module as rng): the corpus replay.
"""
import os
import random
import time

INTERESTING = (0x00, 0x01, 0x0C, 0x0D, 0x0E, 0x0F, 0x18, 0x19, 0x1A, 0x1B, 0x1F, 0x40, 0x7F, 0x80,
               0xC0, 0xD0, 0xD9, 0xE0, 0xF0, 0xFF)


def _rand_bytes(rng, n):
    b = bytearray(n)
    for i in range(n):
        b[i] = rng.randrange(256)
    return bytes(b)


def mutate(rng, data, corpus):
    """1-4 random edits of data (slicing only: CPython and MicroPython give the same result for
    the same random draws)."""
    b = bytes(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(b)
        if op == 0 and n:
            i = rng.randrange(n)
            b = b[:i] + bytes([b[i] ^ (1 << rng.randrange(8))]) + b[i + 1:]
        elif op == 1 and n:
            i = rng.randrange(n)
            b = b[:i] + bytes([rng.choice(INTERESTING)]) + b[i + 1:]
        elif op == 2:
            i = rng.randint(0, n)
            b = b[:i] + bytes([rng.randrange(256)]) + b[i:]
        elif op == 3 and n:
            i = rng.randrange(n)
            b = b[:i] + b[i + 1:]
        elif op == 4 and n:
            b = b[:rng.randint(0, n)]
        elif op == 5:
            other = rng.choice(corpus)
            i = rng.randint(0, n)
            j = rng.randint(0, len(other))
            b = b[:i] + bytes(other[j:])
        elif op == 6 and n:
            i = rng.randrange(n)
            b = b[:i] + _rand_bytes(rng, rng.randint(1, 8)) + b[i + 1:]
        else:
            b = b + _rand_bytes(rng, rng.randint(0, 4))
    return b


def signature(tb):
    """Where a crash happened: the exception line and the innermost frame (dedups crash files)."""
    lines = [l for l in tb.strip().splitlines() if l.strip()]
    frames = [l.strip() for l in lines if l.strip().startswith("File ")]
    return (lines[-1].split(":")[0] if lines else "?") + " @ " + (frames[-1] if frames else "?")


def run(name, target, allowed, corpus, n, seed=1, crash_dir=None, budget_s=None):
    """Feed n inputs (the corpus first, then mutants); return dict(target, inputs, crashes,
    unique: {signature: first input hex}, first: (hex, traceback), seconds)."""
    import traceback
    rng = random.Random(seed)
    crashes = 0
    first = None
    unique = {}
    valid = 0       # inputs the target accepted (went past the decoders)
    t0 = time.time()
    done = 0
    for k in range(n):
        if budget_s and time.time() - t0 > budget_s:
            break
        data = rng.choice(corpus) if k < len(corpus) else mutate(rng, rng.choice(corpus), corpus)
        if rng.random() < 0.02:
            data = _rand_bytes(rng, rng.randint(0, 40))
        done += 1
        try:
            target(data)
            valid += 1
        except allowed:
            pass
        except Exception:
            crashes += 1
            tb = traceback.format_exc()
            if first is None:
                first = (data.hex(), tb)
            sig = signature(tb)
            if sig not in unique:
                unique[sig] = data.hex()
                if crash_dir:
                    os.makedirs(crash_dir, exist_ok=True)
                    with open(os.path.join(crash_dir, "%s-%d.bin" % (name, len(unique))), "wb") as f:
                        f.write(data)
                    with open(os.path.join(crash_dir, "%s-%d.txt" % (name, len(unique))), "w") as f:
                        f.write(tb)
    return {"target": name, "inputs": done, "crashes": crashes, "valid": valid, "unique": unique, "first": first,
            "seconds": round(time.time() - t0, 2)}
