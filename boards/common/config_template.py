# Board configuration: copy to boards/<board>/config.py and edit (make deploy installs that file as
# config.py on the board; it refuses to install this template unless TEMPLATE=1).
# Wi-Fi credentials live in secrets.py (untracked): WIFI_SSID = "..."; WIFI_PASSWORD = "..."

# What to observe: a list of full coap:// URIs of the desktop server's resources (one string is one URI).
# EDIT: put your desktop server's address. An entry that is not a usable coap:// URI is reported once at
# boot and skipped; the others run.
OBSERVE = ["coap://192.168.1.10/r"]

# Group observation: the multicast group is learnt from the informative response (tp_info).
# JOIN_IFACE: the local IPv4 address the IGMP join goes out on (every board: ESP32, Pico W, unix).
# None: the Wi-Fi station's address (a board with one interface needs nothing else); the unix port
# without it uses $COAPCAST_IFACE or 127.0.0.1.
JOIN_IFACE = None

# Re-registration and status: an observation that ends (server gone, bad answer) is tried again after
# RETRY_S seconds, the wait doubling up to 60 s; a status line every STATUS_S seconds.
RETRY_S = 5
STATUS_S = 10

# Draft option numbers (TBD in the drafts): must match the server's.
MRFD_OPTION = 65002
LTMR_OPTION = 65003
PM_OPTION = 65006
CF_INFORMATIVE = 65000

# Rough counting: the leisure time before answering a feedback poll (draft §5.1, RFC 7252 §8.2).
LEISURE_S = 5

# Telemetry: a PM-marked POST to this URI every TELEMETRY_S seconds (0: off).
TELEMETRY_URI = "coap://192.168.1.10/telemetry"
TELEMETRY_S = 0
TELEMETRY_CON = True  # Confirmable POSTs (retransmitted until ACKed); False: NON, fire and forget
PM_PATTERN = 0  # 0: Q and S bits, 1: C bit

# Protected group observations (draft §6-7; README "Protected group observations"): paste the OSCORE and
# GROUP_OSCORE dicts of this board's cN_config.py (python -m tools.oscore_keys --out keys --n N) here;
# then every request is OSCORE-protected and only notifications verified against the server's Group
# OSCORE signature are delivered. Without OSCORE the board runs unprotected and loads no security code.
# PM_OSCORE: the PM option "outer" (on-path probes measure), "inner" (end to end only) or "both";
# OSCORE_STEPS: signature-check units per loop turn (None: at once); OSCORE_SEQ_FILE: where the OSCORE
# Sender Sequence Number survives a reboot (written every 64 requests; None: not kept: unsafe).
# OSCORE = {...}
# GROUP_OSCORE = {...}
PM_OSCORE = "outer"
OSCORE_STEPS = 8
OSCORE_SEQ_FILE = "oscore.seq"

# Wi-Fi power saving trades battery for multicast latency/loss: the radio wakes only at DTIM
# beacons, so multicast can arrive late or not at all. "performance" (default) keeps it awake.
WIFI_PM = "performance"  # "performance" | "balanced" | "powersave"
WIFI_TIMEOUT_S = 20
WIFI_RETRIES = 5
WIFI_BACKOFF_S = 1  # wait attempt * this between attempts

LED = True  # blink the on-board LED per notification
