# coap:// URI parsing for the app API (RFC 7252 §6.4, the subset a board needs).
from coap import uri
from coap import options as o
from tu import raises


def test_host_port_path_query():
    assert uri.parse("coap://192.0.2.10/r") == ("192.0.2.10", 5683, [(o.URI_PATH, "r")])
    assert uri.parse("coap://192.0.2.10:5684/a/b?x=1&y") == (
        "192.0.2.10", 5684, [(o.URI_PATH, "a"), (o.URI_PATH, "b"), (o.URI_QUERY, "x=1"), (o.URI_QUERY, "y")])
    assert uri.parse("coap://[ff05::fd]:7777/time") == ("ff05::fd", 7777, [(o.URI_PATH, "time")])
    assert uri.parse("coap://[2001:db8::1]") == ("2001:db8::1", 5683, [])
    assert uri.parse("coap://host.example/a%20b") == ("host.example", 5683, [(o.URI_PATH, "a b")])


def test_bad_uris():
    for bad in ("http://x/r", "coap://", "coap://[::1/r", "coap://h:0/r", "coap://h:99999/", "coap://[::1]x/"):
        raises(ValueError, uri.parse, bad)
