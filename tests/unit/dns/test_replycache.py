"""ReplyCache's admission of wide IP replies: all kept while they are reused,
one in SPARSE_STRIDE while they are not (distinct clients), and back."""

from __future__ import annotations

from gslb.dns.replycache import (
    ADMIT_WINDOW,
    DROP_PER_PUT,
    DYNAMIC_LIFETIME,
    MAX_BYTES,
    SPARSE_STRIDE,
    ReplyCache,
)


def query(n: int) -> bytes:
    return b"\x12\x34" + n.to_bytes(8, "big")


def offer(cache: ReplyCache, first: int, count: int, reuse: bool) -> int:
    """Offer `count` distinct wide IP replies (asking each again if `reuse`); how many were kept."""
    before = len(cache)
    for n in range(first, first + count):
        cache.put(query(n), "192.0.2.1", b"\x12\x34reply", None, n)
        if reuse:
            cache.replay(query(n), "192.0.2.1")
    return len(cache) - before


def test_replies_nobody_asks_again_are_kept_one_in_a_stride() -> None:
    cache = ReplyCache(lambda: 0.0, [])
    assert offer(cache, 0, ADMIT_WINDOW, reuse=False) == ADMIT_WINDOW  # still looking
    assert cache.stride == SPARSE_STRIDE
    assert offer(cache, ADMIT_WINDOW, ADMIT_WINDOW, reuse=False) == ADMIT_WINDOW // SPARSE_STRIDE
    assert cache.stride == SPARSE_STRIDE


def test_reused_replies_are_all_kept_and_reuse_brings_them_back() -> None:
    cache = ReplyCache(lambda: 0.0, [])
    assert offer(cache, 0, 2 * ADMIT_WINDOW, reuse=True) == 2 * ADMIT_WINDOW
    assert cache.stride == 1
    offer(cache, 10**6, ADMIT_WINDOW, reuse=False)
    assert cache.stride == SPARSE_STRIDE
    # The kept few are asked again: one window later every reply is kept again.
    offer(cache, 2 * 10**6, ADMIT_WINDOW, reuse=True)
    assert cache.stride == 1
    assert offer(cache, 3 * 10**6, 100, reuse=True) == 100


def test_static_replies_are_always_kept() -> None:
    cache = ReplyCache(lambda: 0.0, [])
    offer(cache, 0, ADMIT_WINDOW, reuse=False)
    assert cache.stride == SPARSE_STRIDE
    for n in range(10):
        cache.put(query(10**7 + n), "192.0.2.1", b"\x12\x34static", None, None)
    assert [cache.replay(query(10**7 + n), "192.0.2.9") for n in range(10)] == [
        b"\x12\x34static"
    ] * 10


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_wide_ip_reply_is_replayed_for_its_lifetime_across_a_generation_turn() -> None:
    clock = Clock()
    cache = ReplyCache(clock, [])
    cache.put(query(1), "192.0.2.1", b"\x12\x34one", None, 1)
    clock.now += 0.6
    cache.put(query(2), "192.0.2.1", b"\x12\x34two", None, 2)  # young still
    clock.now += 0.6  # 1.2 s: the next put turns the generations
    cache.put(query(3), "192.0.2.1", b"\x12\x34three", None, 3)
    assert len(cache) == 3
    assert cache.replay(query(1), "192.0.2.1") is None  # 1.2 s old: expired
    assert cache.replay(query(2), "192.0.2.1") == b"\x12\x34two"  # 0.6 s old, in the old one
    clock.now += 0.5  # query 2 is now 1.1 s old
    assert cache.replay(query(2), "192.0.2.1") is None
    assert cache.replay(query(3), "192.0.2.1") == b"\x12\x34three"


def test_a_turn_drops_only_the_old_generation() -> None:
    clock = Clock()
    cache = ReplyCache(clock, [])
    for second in range(5):
        for n in range(100):
            cache.put(query(second * 1000 + n), "192.0.2.1", b"\x12\x34r", None, n)
        assert len(cache) == (100 if second == 0 else 200)  # this second's and the last's
        clock.now += DYNAMIC_LIFETIME


def test_an_expired_generation_is_let_go_a_few_replies_a_put() -> None:
    clock = Clock()
    cache = ReplyCache(clock, [])
    for n in range(100):
        cache.put(query(n), "192.0.2.1", b"\x12\x34r", None, n)
    clock.now += DYNAMIC_LIFETIME
    cache.put(query(1000), "192.0.2.1", b"\x12\x34r", None, 1000)  # turn: the 100 are old
    clock.now += DYNAMIC_LIFETIME
    cache.put(query(2000), "192.0.2.1", b"\x12\x34r", None, 2000)  # turn: the 100 expired
    assert (len(cache), cache.letting_go) == (2, 100)
    for n in range(1, 11):
        cache.put(query(2000 + n), "192.0.2.1", b"\x12\x34r", None, 2000 + n)
        assert cache.letting_go == 100 - n * DROP_PER_PUT
    clock.now += DYNAMIC_LIFETIME
    # The turn: the 80 left go at once, the one reply of 1000 is let go next.
    cache.put(query(3000), "192.0.2.1", b"\x12\x34r", None, 3000)
    assert (len(cache), cache.letting_go) == (12, 1)


def test_the_byte_bound_counts_only_the_kept_generations() -> None:
    # 40 seconds of wide IP replies, 2 MiB a second, 80 MiB in all: past
    # MAX_BYTES only if the dropped generations still counted, and then the
    # cache would start afresh and lose its static reply.
    clock = Clock()
    cache = ReplyCache(clock, [])
    cache.put(query(10**9), "192.0.2.1", b"\x12\x34static", None, None)
    reply = b"\x12\x34" + bytes(2036)  # with the 10-byte query, 2 KiB an entry
    per_second = (2 << 20) // 2048
    assert 40 * per_second * 2048 > 2 * MAX_BYTES
    for second in range(40):
        for n in range(per_second):
            wire, peer = query(second * per_second + n), f"192.0.2.{n % 200}"
            cache.put(wire, peer, reply, None, n)
            assert cache.replay(wire, peer) is not None  # reused: every reply is kept
        clock.now += DYNAMIC_LIFETIME
    assert cache.replay(query(10**9), "192.0.2.9") == b"\x12\x34static"
    assert len(cache) == 1 + 2 * per_second


def test_a_turn_makes_room_before_the_byte_bound_clears_the_cache() -> None:
    # Two seconds of replies near MAX_BYTES: the put that turns the
    # generations frees the first one, so nothing is cleared (the static
    # reply stays).
    clock = Clock()
    cache = ReplyCache(clock, [])
    cache.put(query(10**9), "192.0.2.1", b"\x12\x34static", None, None)
    reply = b"\x12\x34" + bytes(2036)
    per_second = (MAX_BYTES // 2 - 64) // 2048  # the two seconds fit, with the static reply
    for second in range(2):
        for n in range(per_second):
            wire, peer = query(second * per_second + n), f"192.0.2.{n % 200}"
            cache.put(wire, peer, reply, None, n)
            assert cache.replay(wire, peer) is not None
        clock.now += DYNAMIC_LIFETIME
    big = b"\x12\x34" + bytes(8180)  # but not with this one too, unless the first second goes
    assert 2 * per_second * 2048 + 18 + 8192 > MAX_BYTES
    cache.put(query(10**8), "192.0.2.1", big, None, 1)
    assert cache.replay(query(10**9), "192.0.2.9") == b"\x12\x34static"
    assert len(cache) == 1 + per_second + 1
