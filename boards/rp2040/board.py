# Raspberry Pi Pico W glue: Wi-Fi station bring-up (CYW43), the join address, the LED.
import time
import network

_sta = network.WLAN(network.STA_IF)
_led = None

# CYW43 power management words (Raspberry Pi's Pico W docs): 0xa11140 turns power saving off.
_PM = {"performance": 0xA11140, "balanced": 0xA11142, "powersave": 0xA11C82}


def connect(cfg, secrets):
    """Join Wi-Fi (timeout and retries from cfg); return the station's IPv4 address."""
    _sta.active(True)
    try:
        _sta.config(pm=_PM.get(getattr(cfg, "WIFI_PM", "performance"), 0xA11140))
    except (ValueError, OSError) as e:
        print("wifi: cannot set power mode:", e)
    for attempt in range(1, getattr(cfg, "WIFI_RETRIES", 5) + 1):
        if _sta.isconnected():
            break
        print("wifi: connecting to %r (attempt %d)" % (secrets.WIFI_SSID, attempt))
        _sta.connect(secrets.WIFI_SSID, secrets.WIFI_PASSWORD)
        t0 = time.ticks_ms()
        while _sta.status() not in (network.STAT_GOT_IP,) and _sta.status() >= 0 and \
                time.ticks_diff(time.ticks_ms(), t0) < cfg.WIFI_TIMEOUT_S * 1000:
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
            _led = Pin("LED", Pin.OUT)
        _led.value(1 if on else 0)
    except Exception:
        pass
