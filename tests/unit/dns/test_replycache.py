"""ReplyCache's admission of wide IP replies: all kept while they are reused,
one in SPARSE_STRIDE while they are not (distinct clients), and back."""

from __future__ import annotations

from gslb.dns.replycache import ADMIT_WINDOW, SPARSE_STRIDE, ReplyCache


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
