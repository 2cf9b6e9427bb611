# Board glue (boards/esp32, boards/rp2040, boards/common/wifi.py) against a fake `network`
# module: retries, timeout, power mode, failure. Runs where time.ticks_ms exists (MicroPython).
import sys
import time

from tu import skip, raises

_ROOT = __file__.rsplit("/host_tests/", 1)[0]


class FakeWLAN:
    STA_IF = 0
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2
    connect_after = 2        # isconnected() turns True on this attempt
    polls_needed = 3

    def __init__(self, *a):
        self.on = False
        self.attempts = 0
        self.polls = 0
        self.pm = None

    def active(self, on):
        self.on = on

    def config(self, pm=None):
        self.pm = pm

    def connect(self, ssid, pw):
        self.attempts += 1
        self.polls = 0

    def disconnect(self):
        pass

    def status(self):
        return -1

    def isconnected(self):
        if self.attempts >= FakeWLAN.connect_after:
            self.polls += 1
            return self.polls >= FakeWLAN.polls_needed
        return False

    def ifconfig(self):
        return ("192.0.2.23", "255.255.255.0", "192.0.2.1", "192.0.2.1")


class Cfg:
    WIFI_TIMEOUT_S = 0.01
    WIFI_RETRIES = 3
    WIFI_BACKOFF_S = 0.01
    WIFI_PM = "performance"


class Secrets:
    WIFI_SSID = "lab"
    WIFI_PASSWORD = "pw"


def _board(name):
    if not hasattr(time, "ticks_ms"):
        skip("board glue uses MicroPython's time.ticks_ms/sleep_ms")
    class network:  # stands in for the port's module
        WLAN = FakeWLAN
        STA_IF = 0
    sys.modules["network"] = network
    for m in ("board", "wifi"):
        sys.modules.pop(m, None)
    sys.path.insert(0, _ROOT + "/boards/common")
    sys.path.insert(0, _ROOT + "/boards/" + name)
    try:
        import board
    finally:
        sys.path.pop(0)
        sys.path.pop(0)
    sys.modules.pop("board", None)
    return board


def test_esp32_connects_after_a_failed_attempt_with_power_saving_off():
    FakeWLAN.connect_after = 2
    b = _board("esp32")
    assert b.connect(Cfg, Secrets) == "192.0.2.23"
    assert b._sta.attempts == 2 and b._sta.pm == FakeWLAN.PM_NONE and b._sta.on
    b.led(1)  # no machine.Pin on the unix port: must not raise


def test_rp2040_power_word_and_give_up():
    FakeWLAN.connect_after = 99
    b = _board("rp2040")
    Cfg.WIFI_PM = "powersave"
    try:
        raises(OSError, b.connect, Cfg, Secrets)
        assert b._sta.attempts == 3 and b._sta.pm == 0xA11C82
    finally:
        Cfg.WIFI_PM = "performance"
        FakeWLAN.connect_after = 2


def test_missing_secrets_is_a_clear_error():
    b = _board("esp32")
    e = raises(OSError, b.connect, Cfg, None)
    assert "secrets.py" in str(e)
