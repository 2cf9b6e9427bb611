"""coapcast forward proxy: RFC 7252 §5.7 forwarding, RFC 7641 §5 observation through a proxy, and
group observations through proxies (draft-tiloca-core-observe-multicast-notifications-04 §8, §9).

  route.py     where a request goes, which options travel (Proxy-Uri / Proxy-Scheme, unsafe options)
  exchange.py  the server side towards clients: dedup, piggybacked/separate answers, CON retransmission
  core.py      ProxyCore (sans-I/O): the upstream coap.client.Client, targets and their observers
  ticket.py    §9.2: ticket requests (Listen-To-Multicast-Responses) consumed, the group listened to for them
  opaque.py    requests it cannot read (OSCORE) relayed as they are; ticket requests along a chain
  driver.py    asyncio: one socket, one per joined group, the clock, names
  __main__.py  the CLI
"""
