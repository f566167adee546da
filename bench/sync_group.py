"""What the sync group costs: bootstrapping a new node, and the bus under new LDNS.

Not a test (CI does not run it). Run: `.venv/bin/python bench/sync_group.py`
(`--ldns 100000` for a quick bootstrap, `--seconds 10` for a short traffic
run). Needs nats-server (Debian's `nats-server`). Everything on loopback.

- bootstrap: a bucket holding `--ldns` LDNS x 2 data centers of paths (in
  bundles of `PER_BUNDLE` paths, as the nodes write them) and a node's checkpoint
  of them (gslb/sync/checkpoint.py; `--no-checkpoint`: none, the bucket read
  whole) is loaded by a new gslbd (`[probes] datacenters = []`, no state
  file): the time from the process start to `sync: checkpoint loaded` and
  `sync: caught_up bucket=gslb_paths`, query latency meanwhile, and the
  process's resident memory then, against the same gslbd on an empty bucket;
- traffic: two gslbd nodes (CNC, TEL); `--rate` queries a second for
  `--seconds`, each from a new LDNS address (127.1.0.0/16), go to node CNC,
  which probes each from CNC and asks the group; TEL probes it from TEL
  (a probe of a closed port on loopback is answered by the kernel, so every
  probe gives a path). Measured: NATS messages and bytes in and out (the
  server's /varz), and each node's CPU seconds, against node CNC alone
  without [sync] under the same queries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.peerbench.natsd import Nats, free_port  # noqa: E402
from bench.peerbench.procstat import cpu_seconds  # noqa: E402
from gslb.model import key_of  # noqa: E402
from gslb.probes import PROTOCOL_CODES  # noqa: E402
from gslb.proximity import PATH  # noqa: E402
from gslb.sync import checkpoint  # noqa: E402
from gslb.sync.paths import BUCKET, PER_BUNDLE, bundle, encode, retention  # noqa: E402

FIRST = 0x7F100000  # the LDNS 127.16.0.0 upwards: a query can come from each
VS_TEL = bytes((127, 0, 20, 1))  # www from an LDNS with both paths (TEL faster)
CAUGHT_UP = re.compile(r"caught_up bucket=gslb_paths messages=(\d+) seconds=([\d.]+)")
LOADED = re.compile(r"checkpoint loaded ldns=(\d+) paths=(\d+) seconds=([\d.]+)")


async def fill(url: str, ldns: int, with_checkpoint: bool) -> float:
    """`ldns` LDNS x CNC and TEL paths into the bucket, as nodes write them,
    and (`with_checkpoint`) a node's checkpoint of them; seconds."""
    import nats

    client = await nats.connect(url)
    js = client.jetstream(timeout=60)
    await js.create_key_value(bucket=BUCKET, history=1, ttl=retention(2_419_200, 600, 3600))
    started = time.monotonic()
    now, code = int(time.time()), PROTOCOL_CODES["dns_dot"]
    paths = [
        PATH.pack(dc, rtt, 10_000, now, now, 0, 0, code, 0)
        for dc, rtt in ((0, 150_000), (1, 30_000))  # TEL faster; CNC alone or topology: CNC
    ]
    bundles = 0
    for dc, name in enumerate(("CNC", "TEL")):
        value = encode(paths[dc], None)
        for at in range(0, ldns, PER_BUNDLE):
            keys = range(at, min(ldns, at + PER_BUNDLE))
            payload = bundle([(key_of(ipv4(FIRST + i)), value) for i in keys])
            await client.publish(f"$KV.{BUCKET}.{name}._f111e400-{bundles:x}", payload)
            bundles += 1
            if bundles % 50 == 0:
                await client.flush(timeout=60)
    await client.flush(timeout=60)
    info = await js.stream_info(f"KV_{BUCKET}")
    assert info.state.messages == bundles, info.state
    if with_checkpoint:
        packed = b"".join(paths)
        data = checkpoint.header(info.state.last_seq, ("CNC", "TEL")) + b"".join(
            checkpoint.record(key_of(ipv4(FIRST + i)), None, packed) for i in range(ldns)
        )
        assert info.created is not None
        meta = checkpoint.meta("filler", info.state.last_seq, info.created.isoformat(), ldns)
        store = await js.create_object_store(checkpoint.STORE)
        await store.put("filler", data, meta=meta)
    await client.close()
    return time.monotonic() - started


def ipv4(n: int):
    from ipaddress import IPv4Address

    return IPv4Address(n)


def node_config(home: Path, name: str, url: str | None, probes: str, extra: str = "") -> Path:
    directory = home / name
    shutil.copytree(ROOT / "etc", directory)
    toml = directory / "wideips.toml"
    text = toml.read_text().replace(
        'listen = ["127.0.0.1:5300"]', f'listen = ["127.0.0.1:{free_port()}"]'
    )
    text = text.replace("[wideip.persistence]\nttl = 300\ncidr_v4 = 24\ncidr_v6 = 56\n", "")
    text += f'\n[probes]\n{probes}state_file = ""\n{extra}'
    text += (
        f'\n[control]\nhttp = ""\nsocket = "{home / name}.sock"\nstate_dir = "{home / name}-var"\n'
    )
    if url is not None:
        text += f'\n[sync]\nservers = ["{url}"]\nnode = "{name}"\n'
    toml.write_text(text)
    topology = directory / "topology.csv"  # 127/8 prefers CNC: TEL only by rtt
    topology.write_text(
        topology.read_text()
        .replace("dc:TEL,127.0.0.0/8,100", "dc:TEL,127.0.0.0/8,50")
        .replace("dc:CNC,127.0.0.0/8,50", "dc:CNC,127.0.0.0/8,100")
    )
    return directory


class Gslbd:
    def __init__(self, directory: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gslb", "--config", str(directory)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            cwd=directory.parent,
        )
        self.port = 0
        self.seen: dict[int, float] = {}  # wait_all: pattern -> when matched

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        return self.wait_all([pattern], timeout)[0]

    def wait_all(self, patterns: list[re.Pattern[str]], timeout: float) -> list[re.Match[str]]:
        """The first match of each pattern in the log, in any order."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        found: dict[int, re.Match[str]] = {}
        for line in self.proc.stderr:
            if "sync:" in line:
                print(f"  {line.rstrip()}", file=sys.stderr)
            if not self.port and (m := re.search(r"proto=udp address=\S+ port=(\d+)", line)):
                self.port = int(m.group(1))
            for i, pattern in enumerate(patterns):
                if i not in found and (m := pattern.search(line)):
                    found[i] = m
                    self.seen[i] = time.monotonic()
            if len(found) == len(patterns):
                return [found[i] for i in range(len(patterns))]
            if time.monotonic() > deadline:
                break
        raise SystemExit(f"gslbd: not all of {[p.pattern for p in patterns]} within {timeout} s")

    def memory(self) -> tuple[int, int]:
        """Resident and peak resident memory, KiB."""
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        )
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Latency:
    """A query every 10 ms to gslbd until stopped: how long the answers took;
    and one from the LDNS `last` until gslbd answers it from both its paths
    (TEL; CNC by topology or its CNC path alone): when (`answered`, monotonic)."""

    def __init__(self, port: int, last: str = "") -> None:
        import threading

        self.port, self.times, self.lost = port, [], 0
        self.last, self.answered = last, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        header = bytes.fromhex("beef01000001000000000000")
        query = header + b"\x03www\x04gslb\x07example\x00\x00\x01\x00\x01"
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ldns,
        ):
            s.settimeout(1.0)
            ldns.settimeout(1.0)
            if self.last:
                ldns.bind((self.last, 0))
            while not self._stop.wait(0.01):
                if self.last and not self.answered:
                    ldns.sendto(query, ("127.0.0.1", self.port))
                    with contextlib.suppress(TimeoutError):
                        if ldns.recv(4096)[-4:] == VS_TEL:
                            self.answered = time.monotonic()
                started = time.perf_counter()
                s.sendto(query, ("127.0.0.1", self.port))
                try:
                    s.recv(4096)
                except TimeoutError:
                    self.lost += 1
                    continue
                self.times.append((time.perf_counter() - started) * 1000)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(timeout=5)
        t = sorted(self.times)
        pick = lambda q: round(t[min(len(t) - 1, int(q * len(t)))], 2)  # noqa: E731
        return {"queries": len(t), "lost": self.lost, "p50": pick(0.5), "p99": pick(0.99),
                "max": round(t[-1], 2)}  # fmt: skip


def bootstrap(ldns: int, home: Path, with_checkpoint: bool = True) -> dict:
    out: dict = {"ldns": ldns, "paths": 2 * ldns, "checkpoint": with_checkpoint}
    probes = "datacenters = []\n" + f"max_entries = {ldns + 1000}\n"
    for label, size in (("empty", 0), ("full", ldns)):
        nats = Nats(home / f"nats-{label}")
        try:
            if size:
                filled = asyncio.run(fill(nats.url, size, with_checkpoint))
                out["fill_seconds"] = round(filled, 1)
            node = Gslbd(node_config(home, f"new-{label}", nats.url, probes))
            try:
                if size:
                    node.wait_for(re.compile(r"ready:"), timeout=60)
                    probe = Latency(node.port, str(ipv4(FIRST + ldns - 1)))
                    if with_checkpoint:
                        m, loaded = node.wait_all([CAUGHT_UP, LOADED], timeout=1800)
                        out["checkpoint_ldns"] = int(loaded.group(1))
                        out["checkpoint_paths"] = int(loaded.group(2))
                        out["checkpoint_seconds"] = float(loaded.group(3))
                    else:
                        m = node.wait_for(CAUGHT_UP, timeout=1800)
                    until = time.monotonic() + 30
                    while not probe.answered and time.monotonic() < until:
                        time.sleep(0.05)
                    out["query_ms_during_bootstrap"] = probe.stop()
                    out["feed_seconds"] = float(m.group(2))
                    out["messages"] = int(m.group(1))
                    done = max(node.seen.values())
                    out["start_to_loaded_seconds"] = round(done - node.started, 1)
                    if probe.answered:  # the last LDNS loaded answered from its paths
                        answered = probe.answered - node.started
                        out["start_to_answering_seconds"] = round(answered, 1)
                else:
                    node.wait_for(re.compile(r"sync: connected"), timeout=60)
                    time.sleep(1)
                rss, peak = node.memory()
                out[f"rss_{label}_mib"] = round(rss / 1024, 1)
                out[f"peak_{label}_mib"] = round(peak / 1024, 1)
            finally:
                node.stop()
        finally:
            nats.stop()
    extra = out["rss_full_mib"] - out["rss_empty_mib"]
    out["bytes_per_ldns"] = round(extra * 1024 * 1024 / ldns)
    return out


def send_new_ldns(port: int, rate: int, seconds: float) -> int:
    """`rate` queries a second, each from a new source address in 127.1.0.0/16."""
    query = (
        bytes.fromhex("abcd01000001000000000000")
        + b"\x03www\x04gslb\x07example\x00\x00\x01\x00\x01"
    )
    sent, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate)
        while sent < due and sent < 65_000:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((f"127.1.{sent >> 8}.{sent & 255}", 0))
                s.sendto(query, ("127.0.0.1", port))
            sent += 1
        time.sleep(0.005)
    return sent


def traffic(rate: int, seconds: float, home: Path) -> dict:
    probes = (
        'protocols = ["dns_dot"]\ntimeout = 1\ninterval = 600\nrate = 20000\n'
        "concurrency = 1024\nqueue_size = 20000\nmax_entries = 200000\nkeys_per_target = 256\n"
    )
    out: dict = {"rate": rate, "seconds": seconds}
    for label, synced in (("standalone", False), ("sync", True)):
        nats = Nats(home / f"nats-traffic-{label}") if synced else None
        url = nats.url if nats else None
        nodes = [Gslbd(node_config(home, f"{label}-cnc", url, probes + 'datacenters = ["CNC"]\n'))]
        if synced:
            nodes.append(
                Gslbd(node_config(home, f"{label}-tel", url, probes + 'datacenters = ["TEL"]\n'))
            )
        try:
            for n in nodes:
                n.wait_for(re.compile(r"sync: connected" if synced else r"ready:"), timeout=60)
            time.sleep(1)
            before = nats.varz() if nats else {}
            cpu = [cpu_seconds(n.proc.pid) for n in nodes]
            sent = send_new_ldns(nodes[0].port, rate, seconds)
            time.sleep(3)  # probes and batches in flight
            cpu = [cpu_seconds(n.proc.pid) - c for n, c in zip(nodes, cpu, strict=True)]
            out[f"{label}_queries"] = sent
            out[f"{label}_cnc_cpu_seconds"] = round(cpu[0], 2)
            if nats:
                after = nats.varz()
                out["tel_cpu_seconds"] = round(cpu[1], 2)
                for key in ("in_msgs", "in_bytes", "out_msgs", "out_bytes"):
                    out[f"nats_{key}_per_second"] = round((after[key] - before[key]) / seconds)
        finally:
            for n in nodes:
                n.stop()
            if nats:
                nats.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ldns", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", choices=("bootstrap", "traffic"))
    parser.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="bootstrap from the paths bucket alone (as before checkpoints)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gslb-sync-bench-") as tmp:
        home = Path(tmp)
        if args.only != "traffic":
            result = bootstrap(args.ldns, home, not args.no_checkpoint)
            print(json.dumps({"bootstrap": result}), flush=True)
        if args.only != "bootstrap":
            print(json.dumps({"traffic": traffic(args.rate, args.seconds, home)}), flush=True)


if __name__ == "__main__":
    main()
