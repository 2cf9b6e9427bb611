# The rough-counting simulator drives the server's real code (tools/sim_counting.py, issue 4).
import os
import statistics

import random

from coap.feedback import respond_to
from tools.sim_counting import simulate, main


def test_respond_to_matches_b1_probability():
    rng = random.Random(3)
    for q, n in ((0, 200), (2, 40000), (5, 64000), (33, 1000)):
        hits = sum(respond_to(q, rng) for _ in range(n))
        if q == 33:
            assert hits == 0
        else:
            exp = n / (1 << q)
            assert abs(hits - exp) < 5 * exp ** 0.5 + 1, (q, hits, exp)


def test_rounds_report_truth_and_confirmations_near_m():
    rows = simulate(1000, 0.0, 5, m=32, d=4, seed=2)
    assert [r["round"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["N"] == 1000 and rows[0]["Q"] == 5          # ceil(log2(1000/32)) = 5
    assert 15 <= statistics.mean(r["R"] for r in rows) <= 50   # near M = 32 (E[R] = 1000/32)


def test_estimate_within_10_percent_by_round_5_at_no_loss():
    for n in (1000, 100000):
        errs = [abs(simulate(n, 0.0, 5, seed=s)[-1]["err"]) for s in range(6)]
        assert statistics.mean(errs) < 0.10, (n, errs)


def test_small_groups_are_exact_and_loss_biases_low():
    assert all(r["Q"] == 0 and r["count"] == 10 for r in simulate(10, 0.0, 3))
    lossy = simulate(100000, 0.1, 8, seed=4)
    assert lossy[-1]["count"] < 100000                           # E ~ 0.81 N: skewed by loss (§5.2.3)


def test_departed_clients_lower_the_estimate_and_empty_group_is_cancelled():
    rows = simulate(500, 0.0, 6, start=1000, d=2, seed=5)
    assert rows[-1]["count"] < 650
    gone = simulate(1, 1.0, 10, d=1, start=3, seed=6)      # nobody hears: R = 0 until cancel
    assert gone[-1]["cancelled"]


def test_cli_writes_png(tmp_path, capsys):
    png = str(tmp_path / "c.png")
    main(["--n", "50", "--loss", "0", "--rounds", "3", "--png", png])
    out = capsys.readouterr().out
    assert "round 3" in out and os.path.getsize(png) > 1000
