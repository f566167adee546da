import pytest

from gslb.control.metrics import fallthrough_reason, qtype_name, rcode_name
from gslb.counters import Histogram, QueryCounters


@pytest.mark.parametrize(
    ("method", "reason"),
    [("rtt", "no_path"), ("qos", "no_path"), ("topology", "no_match"),
     ("round_robin", "no_available_member"), ("global_availability", "no_available_member")],
)  # fmt: skip
def test_fallthrough_reason(method, reason):
    assert fallthrough_reason(method) == reason


def test_label_names():
    assert [qtype_name(q) for q in (1, 28, 0, 9999)] == ["A", "AAAA", "other", "other"]
    assert [rcode_name(r) for r in (0, 3, 16, -1)] == ["NOERROR", "NXDOMAIN", "BADVERS", "no_reply"]


def test_sums_over_the_query_keys():
    c = QueryCounters()
    www = ("www.x.", 1, 0, "web", "topology", (("web", "rtt"),))
    sticky = ("www.x.", 1, 0, "web", "persistence", ())
    static = ("", 15, 0, "", "", ())
    c.queries = {(www, 0, "udp"): [2], (sticky, 0, "udp"): [5], (static, 0, "tcp"): [1]}
    assert c.by_query() == {("www.x.", 1, 0, "udp"): 7, ("", 15, 0, "tcp"): 1}
    assert c.by_decision() == {
        ("www.x.", "web", "topology"): 2,
        ("www.x.", "web", "persistence"): 5,
    }
    assert c.by_fallthrough() == {("web", "rtt"): 2}


def test_histogram_is_cumulative():
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 3.0):
        h.observe(v)
    assert h.cumulative() == [("0.1", 2.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert (h.count, h.sum) == (4, 3.65)
