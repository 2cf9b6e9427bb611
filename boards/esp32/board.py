# ESP32 glue: Wi-Fi station bring-up, the address for the multicast join, the LED.
import network
import wifi

_sta = network.WLAN(network.STA_IF)
_led = None


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
    global _led
    try:
        if _led is None:
            from machine import Pin
            _led = Pin(2, Pin.OUT)  # most ESP32 dev boards
        _led.value(1 if on else 0)
    except Exception:
        pass
