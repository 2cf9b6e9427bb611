# The option table: properties from the number (RFC 7252 §5.4.6), the draft options, overrides.
# coap.options is what a board holds; coap.optinfo (host side) is the whole table and reaches options.
from tu import raises
from coap import options, optinfo
from coap import optinfo as o


def test_properties_from_number():
    assert o.critical(o.URI_PATH) and o.unsafe(o.URI_HOST) and o.unsafe(o.OBSERVE) and not o.unsafe(o.ETAG)
    assert o.no_cache_key(o.SIZE1) and not o.no_cache_key(o.URI_PATH)
    assert o.unsafe(o.PROXY_URI) and o.critical(o.PROXY_URI)


def test_draft_defaults_obey_number_rules():
    assert (o.MRFD, o.LTMR, o.PM, o.CF_INFORMATIVE) == (65002, 65003, 65006, 65000)
    assert not o.critical(o.MRFD) and o.unsafe(o.MRFD)        # elective, unsafe (§5)
    assert o.critical(o.LTMR) and o.unsafe(o.LTMR)            # critical, unsafe (§9.1)
    assert not o.critical(o.PM) and o.unsafe(o.PM)            # elective, unsafe (coap-pm §3)
    assert optinfo.name(o.MRFD) == "Multicast-Response-Feedback-Divider"
    assert optinfo.info(o.NO_RESPONSE)[1] == o.UINT and o.NO_RESPONSE == 258


def test_length_bounds():
    assert o.check_length(o.OBSERVE, 3) and not o.check_length(o.OBSERVE, 4)
    assert o.check_length(o.MRFD, 0) and o.check_length(o.MRFD, 1) and not o.check_length(o.MRFD, 2)
    assert not o.check_length(o.URI_HOST, 0) and o.check_length(60000, 999)
    assert not o.check_length(o.LTMR, 2) and o.check_length(o.LTMR, 3)


def test_configure_overrides_and_restores():
    try:
        o.configure(mrfd=65010, pm=65014, cf_informative=65001)
        assert o.MRFD == 65010 and o.PM == 65014 and o.CF_INFORMATIVE == 65001
        assert o.known(65010) and not o.known(65002)
        raises(ValueError, o.configure, mrfd=o.URI_PATH)
        raises(ValueError, o.configure, pm=0)
    finally:
        o.configure(mrfd=65002, ltmr=65003, pm=65006, cf_informative=65000)
    assert o.known(65002) and not o.known(65010)


def test_encode_value():
    assert o.encode_value(6, 0) == b"" and o.encode_value(11, "r") == b"r"
    assert o.encode_value(4, b"\x01\x02") == b"\x01\x02" and o.encode_value(65002, None) == b""
    raises(ValueError, o.uint_bytes, -1)


def test_packed_table_entries():
    # one name per 6-byte entry, and every entry decodes to what RFC 7252 §5.10 / the drafts say
    assert len(optinfo._NAMES.split()) * 6 == len(o._T)
    for num, nm in ((o.IF_MATCH, "If-Match"), (o.SIZE1, "Size1"), (o.NO_RESPONSE, "No-Response"),
                    (o.LTMR, "Listen-To-Multicast-Responses"), (o.PM, "PM"), (o.ACCEPT, "Accept")):
        assert optinfo.name(num) == nm, (num, optinfo.name(num))
    assert optinfo.info(o.PROXY_URI) == ("Proxy-Uri", o.STRING, 1, 1034, False)
    assert optinfo.info(o.URI_PATH) == ("Uri-Path", o.STRING, 0, 255, True)
    assert optinfo.info(o.IF_NONE_MATCH) == ("If-None-Match", o.EMPTY, 0, 0, False)
    assert optinfo.info(o.LTMR) == ("Listen-To-Multicast-Responses", o.OPAQUE, 3, 1024, False)
    assert optinfo.info(2) is None and optinfo.name(2) == "Option-2" and not o.known(0)


def test_optinfo_reaches_options_and_not_the_other_way():
    # a board holds coap.options only (no table queries, no names it never uses); optinfo reaches
    # every name of options, the configurable numbers as configured now
    assert o.URI_PATH == options.URI_PATH and o.configure is options.configure and o.NO_RESPONSE_ALL == 26
    assert not hasattr(options, "check_length") and not hasattr(options, "ETAG") and not hasattr(options, "optinfo")
    try:
        options.configure(mrfd=65010)
        assert o.MRFD == 65010 and o.known(65010)
    finally:
        options.configure(mrfd=65002)
    assert o.MRFD == 65002
    raises(AttributeError, getattr, o, "no_such_query")
    assert not hasattr(o, "__wrapped__")
