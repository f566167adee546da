import socket

from gslb.probes.ping import checksum, request


def test_checksum_rfc1071_example():
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement).
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def test_an_echo_request_checks_out():
    v4 = request(socket.AF_INET, 0x1234, 7)
    assert v4[:2] == b"\x08\x00" and v4[4:8] == b"\x12\x34\x00\x07"
    assert checksum(v4) == 0  # a packet with its checksum in sums to zero
    v6 = request(socket.AF_INET6, 0x1234, 7)
    assert v6[:4] == b"\x80\x00\x00\x00"  # the kernel fills in ICMPv6's checksum
    assert v6[4:] == v4[4:]
    assert checksum(b"\x01") == 0xFEFF  # an odd length is padded with a zero byte
