# Wireshark support: the coapcast.lua dissector and a pcap writer for captures built from bytes.
