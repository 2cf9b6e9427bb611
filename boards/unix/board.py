# Unix port glue (virtual boards): no Wi-Fi; the "interface" is loopback or a namespace address.
import os


def connect(cfg, secrets):
    ip = getattr(cfg, "JOIN_IFACE", None) or os.getenv("COAPCAST_IFACE") or "127.0.0.1"
    print("net: unix port, interface", ip)
    return ip


def connected():
    return True


def led(on):
    pass  # notifications are printed by main.py
