"""coapcast desktop server: group observations (draft-tiloca-core-observe-multicast-notifications-04),
informative responses, multicast notifications, rough counting, traditional observation (RFC 7641).

It reuses the firmware's codec and option table (`coap.*`, installed from firmware/ by `make setup`)."""
