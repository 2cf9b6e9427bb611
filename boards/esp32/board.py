# ESP32 glue: Wi-Fi station bring-up, the address for the multicast join, the LED.
import time
import network

_sta = network.WLAN(network.STA_IF)
_led = None


def _pm_value(name):
    W = network.WLAN
    # MicroPython >= 1.20 exposes PM_NONE / PM_PERFORMANCE / PM_POWERSAVE (NOTES.md)
    if name == "performance":
        return getattr(W, "PM_NONE", None)
    if name == "balanced":
        return getattr(W, "PM_PERFORMANCE", None)
    return getattr(W, "PM_POWERSAVE", None)


def connect(cfg, secrets):
    """Join Wi-Fi (timeout and retries from cfg); return the station's IPv4 address."""
    _sta.active(True)
    pm = _pm_value(getattr(cfg, "WIFI_PM", "performance"))
    if pm is not None:
        try:
            _sta.config(pm=pm)
        except (ValueError, OSError) as e:
            print("wifi: cannot set power mode:", e)
    for attempt in range(1, getattr(cfg, "WIFI_RETRIES", 5) + 1):
        if _sta.isconnected():
            break
        print("wifi: connecting to %r (attempt %d)" % (secrets.WIFI_SSID, attempt))
        _sta.connect(secrets.WIFI_SSID, secrets.WIFI_PASSWORD)
        t0 = time.ticks_ms()
        while not _sta.isconnected() and time.ticks_diff(time.ticks_ms(), t0) < cfg.WIFI_TIMEOUT_S * 1000:
            time.sleep_ms(200)
        if not _sta.isconnected():
            print("wifi: status", _sta.status())
            _sta.disconnect()
            time.sleep(attempt)
    if not _sta.isconnected():
        raise OSError("wifi: not connected")
    ip = _sta.ifconfig()[0]
    print("wifi: connected, address", ip)
    return ip


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
