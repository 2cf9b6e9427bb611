# ESP32 glue: Wi-Fi station bring-up, the address for the multicast join, the LED.
import network
import wifi

_sta = network.WLAN(network.STA_IF)


def _pm_value(name):
    # MicroPython >= 1.20: PM_NONE / PM_PERFORMANCE / PM_POWERSAVE (docs/environment.md)
    W = network.WLAN
    return getattr(W, {"performance": "PM_NONE", "balanced": "PM_PERFORMANCE"}.get(name, "PM_POWERSAVE"), None)


def connect(cfg, secrets):
    """Join Wi-Fi; return the station's IPv4 address (also where the multicast join goes out)."""
    return wifi.connect(_sta, cfg, secrets, _pm_value(getattr(cfg, "WIFI_PM", "performance")))


def connected():
    return _sta.isconnected()


def led(on):
    wifi.led(2, on)  # GPIO 2 on most ESP32 dev boards
