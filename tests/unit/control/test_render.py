from gslb.control.render import explanation, fields, member_views, table


def test_table_aligns_columns_and_names_them():
    rows = [
        {"name": "vs_cnc", "up": True, "reason": None},
        {"name": "v", "up": False, "reason": "x"},
    ]
    assert table(rows).splitlines() == [
        "NAME    UP   REASON",
        "vs_cnc  yes  -",
        "v       no   x",
    ]
    assert table([]) == "(none)"


def test_fields():
    assert fields({"version": "0.1.0", "listening": ["udp a", "tcp a"]}).splitlines() == [
        "version:   0.1.0",
        "listening: udp a, tcp a",
    ]


def test_explanation_of_a_drop():
    result = {
        "name": "www.x.", "qtype": "A", "ldns": "192.0.2.1", "ecs": None, "wideip": "www.x.",
        "decided_for": "192.0.2.1", "generation": 3,
        "steps": [{"tier": "member", "scope": "web", "method": "drop_packet", "outcome": "drop",
                   "reason": "drop_packet", "chosen": [], "metrics": {}}],
        "decision": {"action": "drop", "answer": [], "probe": False},
    }  # fmt: skip
    assert explanation(result).splitlines()[-1] == "answer: none (drop)"


def test_member_views_on_one_line():
    view = {"datacenters": "CNC", "stale": False, "counted": False}
    row = {
        "name": "vs_cnc",
        "group": "down",
        "views": [
            {**view, "node": "cnc-1", "state": "down", "age": 0.4, "counted": True},
            {**view, "node": "tel-1", "state": "up", "age": 0.0},
            {**view, "node": "cnc-2", "state": "unknown", "age": 12.3, "stale": True},
        ],
    }
    assert member_views(row) == {
        "name": "vs_cnc",
        "group": "down",
        "views": "cnc-1=down/0.4s* tel-1=up/0.0s cnc-2=unknown/12.3s(stale)",
    }
    assert member_views({"name": "vs_cnc"}) == {"name": "vs_cnc"}  # a standalone node
