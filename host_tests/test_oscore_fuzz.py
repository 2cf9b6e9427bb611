# The OSCORE fuzz targets reach deep states (the short campaigns themselves run in test_fuzz.py; the
# long one is `make fuzz`): every unprotect seed verifies, and a campaign over them meets each
# rejection reason of the verification pipeline, including the signature check behind a valid tag.
from coap import oscore
from tools.fuzz import corpus_oscore as corpus, engine, targets


def test_every_unprotect_seed_verifies():
    t = targets.OscoreTarget()
    for d in corpus.oscore_inputs():
        ctx = (t.srv, t.cli, t.grp, t.grp)[d[0] & 3]
        before = ctx.stats.total()
        t(d)
        assert ctx.stats.total() == before, (d[0], ctx.stats.last)


def test_campaign_meets_every_verification_reason():
    t = targets.OscoreTarget()
    r = engine.run("unprotect", t, targets.ALLOWED["unprotect"], corpus.oscore_inputs(), 3000, seed=12)
    assert r["crashes"] == 0, r["first"]
    seen = {k for c in (t.srv, t.cli, t.grp) for k, v in c.stats.as_dict().items() if v}
    assert {"option", "mode", "kid", "tag", "signature", "short", "replay"} <= seen, sorted(seen)
    assert set(seen) <= set(oscore.REASONS)


def test_option_seeds_round_trip():
    for v in corpus.oscore_options():
        targets.oscoreopt_target(v)
    assert len(set(corpus.oscore_options())) == len(corpus.oscore_options())
