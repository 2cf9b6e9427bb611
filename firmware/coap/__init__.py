# coapcast firmware: a compact CoAP stack for group observation over IP multicast.
