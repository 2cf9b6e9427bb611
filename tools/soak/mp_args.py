# The k=v arguments of the soak boards' MicroPython programs (mp_board.py, mp_oscore_board.py, which
# import it from their own folder): a number where the value is one, None for "none", else the text.
def config(args):
    cfg = {}
    for kv in args:
        k, v = kv.split("=")
        try:
            cfg[k] = int(v)
        except ValueError:
            cfg[k] = None if v == "none" else v
    return cfg
