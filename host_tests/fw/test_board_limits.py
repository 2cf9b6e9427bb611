# The boards' limits in the socket driver (README "Per-board limits"): a datagram as long as a board
# can receive (1472 B: lwIP does not reassemble fragments) arrives whole, and on a port that joins
# IPv4 groups only (ESP32, RP2040) an IPv6 group is refused with one clear line, counted, and the
# loop goes on. Real UDP on 127.0.0.1; CPython and the unix ports (the M0 has no socket module).
import socket
from coap import driver, addr
from tu_driver import Core, driver_on_free_port as _driver


def test_a_1472_byte_datagram_arrives_whole():
    core = Core()
    d, p = _driver(core, lambda s: None)
    try:
        big = bytes((0x50, 0x45, 0x00, 0x01)) + bytes(range(256)) * 5 + bytes(1468 - 1280)
        assert len(big) == 1472
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(big, addr.sockaddr("127.0.0.1", p))
        s.close()
        for _ in range(40):
            d.service(25)
            if core.got:
                break
        assert core.got == [big] and d.rxsize == 1472
    finally:
        d.close()


def test_ipv6_group_refused_where_the_port_joins_ipv4_only():
    was = driver.IPV6_GROUPS
    driver.IPV6_GROUPS = False  # what sys.platform "esp32" / "rp2" sets
    logs = []
    core = Core({("ff05::fd", 5683): 1})
    d, p = _driver(core, logs.append)
    try:
        try:
            driver.join(("ff05::fd", 5683))
            raise AssertionError("joined an IPv6 group")
        except OSError as e:
            assert "IPv4 groups only" in str(e), e
        d.sync_groups()
        assert d.errors == 1 and d.mc == {} and len(logs) == 1
        assert "cannot join ff05::fd:5683" in logs[0] and "IPv4 groups only" in logs[0], logs
        d.service(0)  # the loop goes on (and tries again: counted again, one line each)
        assert d.errors == len(logs) > 1 and d.mc == {}
    finally:
        driver.IPV6_GROUPS = was
        d.close()
