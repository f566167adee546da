"""The stream sequence of a JetStream delivery, read from its reply subject."""

from __future__ import annotations

import pytest

from gslb.sync.feed import stream_sequence


@pytest.mark.parametrize(
    ("reply", "sequence"),
    [
        ("$JS.ACK.KV_gslb_paths.Xo3b.1.4711.17.1764500000000000000.3", 4711),
        ("$JS.ACK.hub.ACCHASH.KV_gslb_paths.Xo3b.1.4712.18.1764500000000000000.2.tok", 4712),
        ("$JS.ACK.dc.ACCHASH.KV_gslb_nodes.c.1.9.9.1764500000000000000.0", 9),
    ],
)
def test_the_stream_sequence_of_both_reply_forms(reply, sequence):
    assert stream_sequence(reply) == sequence
