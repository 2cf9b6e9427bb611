"""make demo's record and picture: what the server, the relay and the boards printed, with the time
each line arrived, turned into series, figures against the truth, and build/demo/report.png.

Truth (what the demo knows apart from PM):
  - multicast loss per board: the notifications the server put on the wire (--stats-json) against
    the ones the board printed, over the same closed PM blocks as the board's figure (coap.pm: the
    group flow's blocks of n_group notifications; a board skips the block it joined in);
  - unicast loss per direction and board: what the relay dropped (its --json summary);
  - RTT: the median request -> response time of CoAP GETs the demo itself sends through the relay.
"""
import re

_NOTIFY_SRV = re.compile(r"notify (\S+) T=\w+ obs=(\d+)")
_REG = re.compile(r"registration (\S+) -> group \w+ of (\S+), COUNT (\d+)")
_ROUND_OPEN = re.compile(r"rough counting round (\d+) of (\S+): MRFD Q=(\d+) \(COUNT (\d+)")
_ROUND_CLOSE = re.compile(r"rough counting round (\d+) of (\S+): N=\S+ Q=\d+ R=(\d+) E=\d+ COUNT [\d.]+ -> ([\d.]+)")
_STATUS_COUNT = re.compile(r"status: (\S+) T=\w+ COUNT~(\d+)")
_SRV_PM = re.compile(r"(\d+\.\d+\.\d+\.\d+:\d+) tx=\d+ rx=(\d+) loss=([^\s;]+) rtt=([^\s;]+)(?: \((\d+) spin periods not taken)?")
_NOTIFY_BOARD = re.compile(r"^notify \S+ obs=(\d+) via=(\w+)")
_PM_LINE = re.compile(r"pm (\S+) pat=\d pkts=(\d+) loss=(\S+) \((-?\d+)/(\d+), \d+ bursts\) rtt=(\S+) \(n=(\d+)")


class Record:
    """Lines with their arrival time (s since the demo started), by source."""

    def __init__(self):
        self.lines = []   # (t, who, line)

    def add(self, t, who, line):
        self.lines.append((t, who, line))

    def of(self, who):
        return [(t, ln) for t, w, ln in self.lines if w == who]


def server_series(rec, path="/r"):
    """Notifications sent (t, obs), the rough count over time [(t, COUNT)], feedback rounds
    [(t_open, t_close or None, round, R)], PM per peer {peer: [(t, loss% or None, rtt or None, idle)]}
    (idle: S periods the server did not take as RTTs)."""
    sent, count, rounds, pm = [], [], {}, {}
    for t, ln in rec.of("server"):
        m = _NOTIFY_SRV.search(ln)
        if m and m.group(1) == path:
            sent.append((t, int(m.group(2))))
            continue
        m = _REG.search(ln)
        if m and m.group(2) == path:
            count.append((t, int(m.group(3))))
            continue
        m = _ROUND_OPEN.search(ln)
        if m and m.group(2) == path:
            rounds[int(m.group(1))] = [t, None, int(m.group(1)), None]
            continue
        m = _ROUND_CLOSE.search(ln)
        if m and m.group(2) == path:
            r = rounds.setdefault(int(m.group(1)), [None, None, int(m.group(1)), None])
            r[1], r[3] = t, int(m.group(3))
            count.append((t, float(m.group(4))))
            continue
        m = _STATUS_COUNT.search(ln)
        if m and m.group(1) == path:
            count.append((t, int(m.group(2))))
            continue
        if "status: PM " in ln:
            for m in _SRV_PM.finditer(ln):
                loss = None if m.group(3) == "-" else float(m.group(3).rstrip("%"))
                rtt = None if m.group(4) == "-" else float(m.group(4).rstrip("ms"))
                idle = int(m.group(5)) if m.group(5) else 0
                pm.setdefault(m.group(1), []).append((t, loss, rtt, idle))
    return sent, sorted(count), [rounds[k] for k in sorted(rounds)], pm


def board_series(rec, name):
    """Notifications received [(t, obs, via)] (the first one is the baseline from the informative
    response) and PM per flow {label: [(t, loss% or None, lost, expected, rtt or None, rtt_n)]}."""
    got, pm = [], {}
    for t, ln in rec.of(name):
        m = _NOTIFY_BOARD.match(ln)
        if m:
            got.append((t, int(m.group(1)), m.group(2)))
            continue
        if ln.startswith("status"):
            for m in _PM_LINE.finditer(ln):
                loss = None if m.group(3) == "-" else float(m.group(3).rstrip("%"))
                rtt = None if m.group(6) == "-" else float(m.group(6).rstrip("ms"))
                pm.setdefault(m.group(1), []).append((t, loss, int(m.group(4)), int(m.group(5)), rtt, int(m.group(7))))
    return got, pm


def group_truth(wire, got, n_group, blocks):
    """The notifications a board lost over its PM figure's closed blocks: (lost, expected). wire: the
    Observe numbers in the order the server sent them; got: the Observe numbers the board received
    (baseline first). The board's group-flow Meter skips the block it joined in (coap.pm)."""
    rx = set(got[1:])
    first = next((i for i, o in enumerate(wire) if o in rx), None)
    if first is None or not blocks:
        return 0, 0
    b0 = first // n_group + 1
    window = wire[b0 * n_group:(b0 + blocks) * n_group]
    return sum(1 for o in window if o not in rx), len(window)


def plot(path, t_end, boards, sent, count, rounds, n_boards_t, pm_board, pm_server, truth, rtt_truth, title):
    """The demo's picture (matplotlib, as tools/sim_counting.py): notifications per board over time,
    the rough count against the true number of boards with the feedback rounds, PM loss and RTT per
    flow over time against the truth."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(2, 2, figsize=(12, 8))
    ax = axs[0][0]
    if sent:
        ax.step([t for t, _ in sent], range(1, len(sent) + 1), where="post", color="black", lw=1.5,
                label="sent by the server (multicast)")
    for name, got in boards:
        g = got[1:]
        ax.step([t for t, _, _ in g], range(1, len(g) + 1), where="post", label="received by %s" % name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("notifications")
    ax.set_title("Notifications per board")
    ax.legend(fontsize=7)

    ax = axs[0][1]
    if n_boards_t:
        ax.step([0] + [t for t, _ in n_boards_t] + [t_end], [0] + [k for _, k in n_boards_t] + [n_boards_t[-1][1]],
                where="post", color="gray", lw=2, label="true number of boards")
    if count:
        ax.step([t for t, _ in count], [c for _, c in count], where="post", marker="o", ms=3,
                label="server's rough count (COUNT)")
    for k, (t0, t1, rnd, r) in enumerate(rounds):   # every other round shaded: they follow each other
        if t0 is not None:
            ax.axvspan(t0, t1 if t1 is not None else t_end, color="tab:orange", alpha=0.25 if k % 2 == 0 else 0.1,
                       label="feedback rounds (MRFD poll .. close; R: confirmations)" if k == 0 else None)
            if r is not None:
                ax.annotate("R=%d" % r, (t0, 0.05), fontsize=6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("observers")
    ax.set_ylim(bottom=0)
    ax.set_title("Rough counting (draft -04 §5.2, B.3)")
    ax.legend(fontsize=7)

    ax = axs[1][0]
    for label, rows in pm_board:
        pts = [(t, x) for t, x, *_ in rows if x is not None]
        if pts:
            line, = ax.plot([t for t, _ in pts], [x for _, x in pts], marker="o", ms=3, label="PM %s" % label)
            tr = truth.get(label)
            if tr:
                ax.plot([t for t, _ in tr], [x for _, x in tr], color=line.get_color(), ls=":", marker="x", ms=5,
                        label="truth %s" % label)
    for label, rows in pm_server:
        pts = [(t, x) for t, x, *_ in rows if x is not None]
        if pts:
            ax.plot([t for t, _ in pts], [x for _, x in pts], marker="s", ms=3, label="PM server %s" % label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("loss (%)")
    ax.set_title("PM loss per flow (dotted: the truth over the same closed blocks)")
    ax.legend(fontsize=6)

    ax = axs[1][1]
    for label, rows in pm_board:
        pts = [(r[0], r[4]) for r in rows if r[4] is not None]
        if pts:
            ax.plot([t for t, _ in pts], [x for _, x in pts], marker="o", ms=3, label="PM %s" % label)
    notes = []
    for label, rows in pm_server:
        pts = [(t, x) for t, _, x, _ in rows if x is not None]
        if pts:
            ax.plot([t for t, _ in pts], [x for _, x in pts], marker="s", ms=3, label="PM server %s" % label)
        if rows and rows[-1][3]:
            notes.append("server %s: %d spin periods not taken as RTTs (request gaps)" % (label, rows[-1][3]))
    if notes:
        ax.text(0.02, 0.03, "\n".join(notes), transform=ax.transAxes, fontsize=6, va="bottom")

    if rtt_truth is not None:
        ax.axhline(rtt_truth, color="black", ls=":", lw=1, label="true RTT (demo's own GETs)")
    ax.set_ylim(0, max([rtt_truth or 0] + [r[4] for _, rows in pm_board for r in rows if r[4] is not None]
                       + [r[2] for _, rows in pm_server for r in rows if r[2] is not None] + [1]) * 1.4)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title("PM RTT per flow (the boards' own: request -> echo)")
    ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
