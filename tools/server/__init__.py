"""coapcast desktop server: group observations (draft-tiloca-core-observe-multicast-notifications-04),
informative responses, multicast notifications, rough counting, traditional observation (RFC 7641).

firmware/ must be importable (the codec and option table are shared): importing this package
adds it to sys.path when needed."""
import os
import sys

_FW = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "firmware")
if os.path.isdir(_FW) and _FW not in sys.path:
    sys.path.insert(0, _FW)
