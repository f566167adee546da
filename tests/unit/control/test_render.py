from gslb.control.render import explanation, fields, table


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
