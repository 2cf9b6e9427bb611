# The address normaliser: text <-> raw, sockaddr bytes (unix port) and tuples (both runtimes).
from tu import raises, h
from coap import addr


def test_ipv4():
    assert addr.parse_ip("192.0.2.10") == h("c000020a") and addr.ip_str(h("c000020a")) == "192.0.2.10"
    for bad in ("1.2.3", "1.2.3.256", "a.b.c.d", "1..2.3", "1.2.3.4.5"):
        raises(ValueError, addr.parse_ip, bad)


def test_ipv6():
    cases = [("::", "00" * 16), ("::1", "00" * 15 + "01"), ("2001:db8::1", "20010db8" + "00" * 11 + "01"),
             ("ff05::fd", "ff05" + "00" * 13 + "fd"), ("ff35:30:2001:db8::1234", "ff35003020010db8" + "00" * 6 + "1234"),
             ("1:2:3:4:5:6:7:8", "00010002000300040005000600070008"), ("2001:db8:0:1:1:1:1:1", "20010db8000000010001000100010001")]
    for s, hx in cases:
        assert addr.parse_ip(s) == h(hx), s
        assert addr.ip_str(h(hx)) == s, s
    assert addr.parse_ip("::ffff:192.0.2.1") == h("00" * 10 + "ffff c0000201")
    assert addr.parse_ip("fe80::1%eth0") == h("fe80" + "00" * 13 + "01")
    for bad in ("1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7"):
        raises(ValueError, addr.parse_ip, bad)
    raises(ValueError, addr.ip_str, b"\x01\x02")


def test_classes():
    assert addr.is_multicast(addr.parse_ip("224.0.1.187")) and addr.is_multicast(addr.parse_ip("ff05::fd"))
    assert not addr.is_multicast(addr.parse_ip("192.0.2.1"))
    assert addr.is_link_local(addr.parse_ip("169.254.1.1")) and addr.is_link_local(addr.parse_ip("fe80::1"))
    assert addr.is_link_local(addr.parse_ip("ff02::fd")) and not addr.is_link_local(addr.parse_ip("ff05::fd"))


def test_norm_tuples_and_sockaddr_bytes():
    assert addr.norm(("127.0.0.1", 5683)) == ("127.0.0.1", 5683)
    assert addr.norm(("fe80::1%lo", 5683, 0, 1)) == ("fe80::1", 5683)
    sin = h("0200 1633 7f000001 0000000000000000")          # AF_INET little-endian family, port 5683
    assert addr.norm(sin) == ("127.0.0.1", 5683)
    assert addr.norm(sin) is addr.norm(bytes(sin))           # cached: no allocation on repeats
    sin6 = h("0a00 1634 00000000") + addr.parse_ip("2001:db8::1") + h("00000000")
    assert addr.norm(sin6) == ("2001:db8::1", 5684)
    raises(ValueError, addr.norm, h("0200"))
    raises(ValueError, addr.norm, h("0900 1633 7f000001"))
