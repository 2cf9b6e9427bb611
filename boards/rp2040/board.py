# Raspberry Pi Pico W glue: Wi-Fi station bring-up (CYW43), the join address, the LED.
import network
import wifi

_sta = network.WLAN(network.STA_IF)

# CYW43 power management words (Raspberry Pi's Pico W docs): 0xa11140 turns power saving off.
_PM = {"performance": 0xA11140, "balanced": 0xA11142, "powersave": 0xA11C82}


def connect(cfg, secrets):
    """Join Wi-Fi; return the station's IPv4 address (also where the multicast join goes out)."""
    return wifi.connect(_sta, cfg, secrets, _PM.get(getattr(cfg, "WIFI_PM", "performance"), 0xA11140))


def connected():
    return _sta.isconnected()


def led(on):
    wifi.led("LED", on)  # the Pico W's LED hangs off the CYW43
