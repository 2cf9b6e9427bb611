# Glue shared by the Wi-Fi boards (ESP32, Pico W): station bring-up (timeout, retries with back-off,
# status) and the on-board LED.
import time


def connect(sta, cfg, secrets, pm=None):
    """Activate sta, set its power mode (pm: port-specific value or None), join secrets.WIFI_SSID
    with cfg.WIFI_TIMEOUT_S per attempt and cfg.WIFI_RETRIES attempts; return the IPv4 address."""
    if secrets is None or not hasattr(secrets, "WIFI_SSID"):
        raise OSError("wifi: no secrets.py with WIFI_SSID / WIFI_PASSWORD on the board")
    sta.active(True)
    if pm is not None:
        try:
            sta.config(pm=pm)
        except (ValueError, OSError) as e:
            print("wifi: cannot set power mode:", e)
    for attempt in range(1, getattr(cfg, "WIFI_RETRIES", 5) + 1):
        if sta.isconnected():
            break
        print("wifi: connecting to %r (attempt %d)" % (secrets.WIFI_SSID, attempt))
        sta.connect(secrets.WIFI_SSID, secrets.WIFI_PASSWORD)
        t0 = time.ticks_ms()
        while not sta.isconnected() and time.ticks_diff(time.ticks_ms(), t0) < getattr(cfg, "WIFI_TIMEOUT_S", 20) * 1000:
            time.sleep_ms(200)
        if not sta.isconnected():
            print("wifi: status", sta.status())
            sta.disconnect()
            time.sleep(attempt * getattr(cfg, "WIFI_BACKOFF_S", 1))
    if not sta.isconnected():
        raise OSError("wifi: not connected")
    ip = sta.ifconfig()[0]
    print("wifi: connected, address", ip)
    return ip


_led = None


def led(pin, on):
    """Set the on-board LED (machine.Pin(pin)); a port or board without it: nothing happens."""
    global _led
    try:
        if _led is None:
            from machine import Pin
            _led = Pin(pin, Pin.OUT)
        _led.value(1 if on else 0)
    except Exception:
        pass
