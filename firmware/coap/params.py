# RFC 7252 §4.8 transmission parameters and the §4.8.2 times derived from them: the one definition.
# Every core (coap.client.Client, the server core, the proxy) takes the parameters as constructor
# keywords with these defaults; nothing patches this module. Times are in ms (the cores' clock).
# The derived times are written out for the defaults (const() takes no float expression);
# host_tests/fw/test_params.py checks them against the §4.8.2 formulas.
from coap.compat import const

ACK_TIMEOUT = const(2000)      # ms
ACK_RANDOM_FACTOR = 1.5        # (a float: not a const())
MAX_RETRANSMIT = const(4)
NSTART = const(1)              # outstanding interactions with one server
DEFAULT_LEISURE = const(5000)  # ms (§8.2: the spread of the answers to a multicast request)
PROBING_RATE = const(1)        # bytes per second towards a peer that does not answer

# §4.8.2, for the defaults above (MAX_LATENCY 100 s, PROCESSING_DELAY = ACK_TIMEOUT,
# MAX_TRANSMIT_SPAN = ACK_TIMEOUT * (2 ** MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR = 45 s)
MAX_TRANSMIT_WAIT = const(93000)   # ACK_TIMEOUT * (2 ** (MAX_RETRANSMIT + 1) - 1) * ACK_RANDOM_FACTOR
EXCHANGE_LIFETIME = const(247000)  # MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY
NON_LIFETIME = const(145000)       # MAX_TRANSMIT_SPAN + MAX_LATENCY
