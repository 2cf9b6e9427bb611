# RFC 7252 §4.8: coap.params is the one definition of the transmission parameters; the derived
# times (§4.8.2) follow from the base ones; the client core takes them as constructor keywords.
from coap import params, client


def test_base_parameters_are_rfc7252_defaults():
    assert (params.ACK_TIMEOUT, params.ACK_RANDOM_FACTOR, params.MAX_RETRANSMIT) == (2000, 1.5, 4)
    assert (params.NSTART, params.DEFAULT_LEISURE, params.PROBING_RATE) == (1, 5000, 1)


def test_derived_times_follow_the_formulas():
    span = params.ACK_TIMEOUT * ((1 << params.MAX_RETRANSMIT) - 1) * params.ACK_RANDOM_FACTOR
    max_latency = 100000
    assert params.MAX_TRANSMIT_WAIT == params.ACK_TIMEOUT * ((2 << params.MAX_RETRANSMIT) - 1) * params.ACK_RANDOM_FACTOR
    assert params.EXCHANGE_LIFETIME == span + 2 * max_latency + params.ACK_TIMEOUT
    assert params.NON_LIFETIME == span + max_latency


def test_client_defaults_are_the_params():
    c = client.Client()
    assert c.ack_timeout_ms == params.ACK_TIMEOUT and c.ack_random_factor == params.ACK_RANDOM_FACTOR
    assert c.max_retransmit == params.MAX_RETRANSMIT and c.leisure_ms == params.DEFAULT_LEISURE
