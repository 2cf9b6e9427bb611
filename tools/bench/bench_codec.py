# Codec figures (foundation issue): µs and heap bytes per full decode of the §4 notification.
from tools.bench.run import figure_table, run_mp, run_cpy


def run():
    mp = run_mp("mp_codec.py")
    cp = run_cpy("mp_codec.py")
    print("== codec: full decode of the 14-byte §4 notification (header, token, Observe, CF, payload)")
    figure_table([("unix port, 192k heap: us/decode", mp.get("decode_us", "?"), "<= 3 us"),
                  ("unix port: heap bytes allocated/decode", mp.get("decode_alloc_bytes", "?"), "<= 96 B"),
                  ("CPython: us/decode", cp.get("decode_us", "?"), "")], 44)
