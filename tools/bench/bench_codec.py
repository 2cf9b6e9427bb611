# Codec figures (foundation issue): µs and heap bytes per full decode of the §4 notification.
from tools.bench.run import run_mp, run_cpy


def run():
    mp = run_mp("mp_codec.py")
    cp = run_cpy("mp_codec.py")
    print("== codec: full decode of the 14-byte §4 notification (header, token, Observe, CF, payload)")
    print("  %-44s %10s   target" % ("", "figure"))
    print("  %-44s %10s   <= 3 us" % ("unix port, 192k heap: us/decode", mp.get("decode_us", "?")))
    print("  %-44s %10s   <= 96 B" % ("unix port: heap bytes allocated/decode", mp.get("decode_alloc_bytes", "?")))
    print("  %-44s %10s" % ("CPython: us/decode", cp.get("decode_us", "?")))
