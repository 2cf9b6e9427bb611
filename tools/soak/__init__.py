"""Reliability harness (issue 7) and `make soak` (everything on 127.0.0.1):

  server.py     the real desktop server (python -m tools.server) as a subprocess, with a shorter CON
                ACK timeout (RFC 7252 §4.8 ACK_TIMEOUT, its --ack-timeout) so retransmission under loss
                fits a CI-sized test, and a smaller exchange cache (--dedup-max) so a short load run
                reaches its bound;
  board.py      board processes: the MicroPython unix port running mp_board.py (coapcast.Client), and
                the client core alone at a tight heap (mp_mem_core.py, from the mpy build);
  nft.py        a named nftables table (loss, link drop), deleted afterwards;
  load.py       the load generator: registrations at a fixed rate from many sockets;
  campaign.py   `make soak`: the fuzzers, then the fault/memory/load/spoofing tests with their figures.

  python -m tools.soak [--quick] [--n N]      run the campaign, print the figures (make soak)
  python -m tools.soak loadgen --port P [--rate 1000] [--duration 10] [--sockets 200]

Used by host_tests/test_faults.py, test_memory.py, test_load.py, test_spoofing_udp.py. The figures:
each test appends {"name": ..., ...} JSON lines to $COAPCAST_FIGURES when set.
"""
from tools.util import free_port  # noqa: F401
from tools.soak.common import GROUP, SOAK, figure, rss_kb  # noqa: F401
from tools.soak.server import Server  # noqa: F401
from tools.soak.board import BoardLog, start_board, run_board, mpy_build, mem_core  # noqa: F401
from tools.soak.nft import Nft, have_nft  # noqa: F401
from tools.soak.load import loadgen  # noqa: F401
