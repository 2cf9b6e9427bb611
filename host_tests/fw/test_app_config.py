# The board app's configuration (firmware/app.py, config.py): OBSERVE missing, None, [None], one string,
# bad URIs; each problem said once in plain words (no raw int()/getaddrinfo text), permanent errors not
# retried, the rest keeps running. app.py is loaded from its file with fake `board` and `config` modules.
import sys
import time

from tu import skip

_ROOT = __file__.rsplit("/host_tests/", 1)[0]
RAW = ("invalid syntax", "invalid literal", "addrinfo", "Traceback", "gaierror")


class FakeBoard:
    @staticmethod
    def connect(cfg, secrets):
        return "127.0.0.1"

    @staticmethod
    def connected():
        return True

    @staticmethod
    def led(on):
        pass


def load_app(cfg):
    """app.py run as a module with config=cfg; returns (its namespace, the lines it printed)."""
    lines = []

    def out(*a):
        lines.append(" ".join(str(x) for x in a))
    sys.modules["board"] = FakeBoard
    sys.modules["config"] = cfg
    ns = {"__name__": "app", "print": out}
    try:
        with open(_ROOT + "/firmware/app.py") as f:
            src = f.read()
        exec(src, ns)
    finally:
        sys.modules.pop("board", None)
        sys.modules.pop("config", None)
    ns["print"] = out
    return ns, lines


def targets(observe, set_it=True):
    class Cfg:
        pass
    if set_it:
        Cfg.OBSERVE = observe
    ns, lines = load_app(Cfg)
    got = ns["targets"](Cfg, lines.append)
    return got, lines


def plain(lines):
    for ln in lines:
        for r in RAW:
            assert r not in ln, ln


def test_observe_missing_or_none_is_one_clear_line():
    for set_it, v in ((False, None), (True, None), (True, 5), (True, {"coap://h/r": 1})):
        got, lines = targets(v, set_it)
        assert got == [] and len(lines) == 1, lines
        assert "OBSERVE" in lines[0] and "expected a list of coap:// URIs" in lines[0], lines


def test_observe_none_entry_and_a_single_string():
    got, lines = targets([None])
    assert got == [] and lines == ["config: OBSERVE[0] is None, expected a coap:// URI string; skipped"], lines
    got, lines = targets("coap://192.0.2.10/r")   # one string is one URI, not its characters
    assert got == ["coap://192.0.2.10/r"] and lines == [], lines


def test_bad_entries_are_named_and_skipped_the_rest_kept():
    got, lines = targets(["coap://192.0.2.10/r", "http://192.0.2.10/r", "coap://h:abc/r", "coap://a b/r", 7,
                          "coap://192.0.2.10/r", "coap://fd00::1/r", "coap://192.0.2.10:70000/r", "coap://[::1]/t"])
    assert got == ["coap://192.0.2.10/r", "coap://[::1]/t"], got
    assert len(lines) == 7, lines
    want = ["OBSERVE[1] only coap:// URIs", "OBSERVE[2] bad port 'abc'", "OBSERVE[3] bad host 'a b'", "OBSERVE[4] is 7",
            "OBSERVE[5] repeats OBSERVE[0]", "OBSERVE[6] an IPv6 address goes in brackets", "OBSERVE[7] bad port '70000'"]
    for w, ln in zip(want, lines):
        assert w in ln and ln.endswith("; skipped"), (w, ln)
    plain(lines)


def test_telemetry_and_pm_pattern_checked_once():
    class Cfg:
        OBSERVE = []
        TELEMETRY_S = 2
        TELEMETRY_URI = "coap://h:x/telemetry"
        PM_PATTERN = 2
    ns, lines = load_app(Cfg)
    assert ns["telemetry_uri"](Cfg, lines.append) is None and ns["pm_pattern"](Cfg, lines.append) is None
    assert lines == ["config: TELEMETRY_URI bad port 'x' in 'coap://h:x/telemetry' (expected 1..65535); telemetry off",
                     "config: PM_PATTERN is 2, expected None, 0 or 1; PM off"], lines
    Cfg.TELEMETRY_URI = None
    del lines[:]
    assert ns["telemetry_uri"](Cfg, lines.append) is None and lines == ["config: TELEMETRY_URI is not set; telemetry off"]
    Cfg.TELEMETRY_S = 0
    del lines[:]
    assert ns["telemetry_uri"](Cfg, lines.append) is None and lines == []


def test_app_runs_what_it_can_and_does_not_retry_permanent_errors():
    if not hasattr(time, "ticks_ms"):
        skip("the app runs on MicroPython's time.ticks_ms")

    class Cfg:
        OBSERVE = ["coap://127.0.0.1:9/r", "coap://h:abc/r", None, "coap://nonexistent-host.invalid/r",
                   "coap://224.0.1.187/r"]
        JOIN_IFACE = "127.0.0.1"
        STATUS_S = 3600
    ns, lines = load_app(Cfg)
    ns["RETRY_S"] = 0     # every retry due at once: a permanent error would show up again at each step
    a = ns["App"]()
    a.start()
    try:
        for _ in range(3):
            a.client.run(10)
            a.step()
    finally:
        a.client.close()
    text = "\n".join(lines)
    assert "coap://127.0.0.1:9/r" in a.obs and a.uris == ["coap://127.0.0.1:9/r", "coap://nonexistent-host.invalid/r"]
    assert text.count("bad port 'abc'") == 1 and text.count("OBSERVE[2] is None") == 1, text
    # a multicast destination is permanent: said once, not retried
    assert text.count("observe coap://224.0.1.187/r:") == 1 and "not retried" in text, text
    assert "coap://224.0.1.187/r" not in a.retry
    # a name that does not resolve may be a DNS outage: retried, in plain words
    assert text.count("cannot resolve host 'nonexistent-host.invalid'; re-registering in 0 s") >= 3, text
    plain(lines)
