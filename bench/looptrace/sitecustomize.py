"""Time every callback of gslbd's event loop (a diagnosis tool, not gslb).

    GSLB_LOOPTRACE=/tmp/trace-%p.json PYTHONPATH=$PWD/bench/looptrace \\
        .venv/bin/python bench/peers.py --servers gslbd --workloads warm ...
    .venv/bin/python bench/looptrace/report.py /tmp/trace-PID.json --window T0:T1

Python imports `sitecustomize` at start-up from the path; with
GSLB_LOOPTRACE set, this one makes `uvloop.run` use a loop whose
`call_soon`, `call_later`, `call_at` and `add_reader` time each callback
(time.perf_counter around it, and time.thread_time: a callback much longer
than its CPU time was preempted by another process). A task's step is
named by its coroutine and where it is suspended after the step (the
await that ended it), so the slices of one task tell apart. The cyclic
collector's runs are timed through `gc.callbacks` and charged to the
callback they ran in. Per second (wall clock): callbacks, busy time,
datagrams answered, involuntary context switches; every callback of 0.1
ms or more is kept, with the datagrams it answered. Written as JSON at
exit (gslbd exits on SIGTERM), `%p` in the name replaced by the PID (with
--baseline, two servers: copy this file into the baseline tree, whose
PYTHONPATH replaces this one).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import resource
import sys
import time

OUT = os.environ.get("GSLB_LOOPTRACE", "")
KEEP = 0.0001  # seconds: callbacks at least this long are listed one by one


class _Trace:
    def __init__(self) -> None:
        # (at, s, name, gc s, gc generation, s on the CPU, datagrams answered)
        self.long: list[tuple[float, float, str, float, int, float, int]] = []
        self.seconds: dict[int, list[float]] = {}  # second -> new_second()
        self.gc: list[tuple[float, int, float, int]] = []  # (at, gen, s, collected)
        self.gc_in = 0.0  # collector time in the running callback
        self.gc_gen = -1
        self.datagrams = 0  # answered by the running callback
        self._gc_start = 0.0

    def on_gc(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
            return
        spent = now - self._gc_start
        self.gc_in += spent
        self.gc_gen = max(self.gc_gen, info["generation"])
        self.gc.append((time.time(), info["generation"], spent, info["collected"]))

    def timed(self, name: object, callback, args):  # type: ignore[no-untyped-def]
        clock, cpu = time.perf_counter, time.thread_time

        def run(*more):  # type: ignore[no-untyped-def]
            self.gc_in, self.gc_gen, self.datagrams = 0.0, -1, 0
            start, start_cpu = clock(), cpu()
            try:
                return callback(*args, *more)
            finally:
                spent = clock() - start
                second = self.seconds.get(int(time.time()))
                if second is None:
                    second = self.new_second()
                second[0] += 1
                second[1] += spent
                if spent >= KEEP:
                    label = name() if callable(name) else name
                    on_cpu = cpu() - start_cpu
                    self.long.append(
                        (time.time(), spent, label, self.gc_in, self.gc_gen, on_cpu, self.datagrams)
                    )

        return run

    def new_second(self) -> list[float]:
        """[callbacks, busy s, datagrams, involuntary context switches so far]"""
        now = int(time.time())
        self.seconds[now] = second = [0, 0.0, 0, resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw]
        return second

    def dump(self) -> None:
        data = {"long": self.long, "seconds": self.seconds, "gc": self.gc}
        with open(OUT.replace("%p", str(os.getpid())), "w") as f:
            json.dump(data, f)


def _where(coro: object) -> str:
    """The innermost coroutine of `coro`'s await chain outside asyncio: function:line."""
    frame_of = None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and "/asyncio/" not in frame.f_code.co_filename:
            frame_of = frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if frame_of is None:
        return "done"
    return f"{frame_of.f_code.co_name}:{frame_of.f_lineno}"


def _name(callback: object):  # type: ignore[no-untyped-def]
    task = getattr(callback, "__self__", None)
    get_coro = getattr(task, "get_coro", None)
    if get_coro is not None:
        coro = get_coro()
        outer = getattr(coro, "__qualname__", "?")
        return lambda: f"task {outer} @ {_where(coro)}"
    return getattr(callback, "__qualname__", type(callback).__qualname__)


def _install() -> None:
    import uvloop

    trace = _Trace()
    gc.callbacks.append(trace.on_gc)
    atexit.register(trace.dump)

    class TracedLoop(uvloop.Loop):  # type: ignore[misc]
        def call_soon(self, callback, *args, context=None):  # type: ignore[no-untyped-def]
            return super().call_soon(trace.timed(_name(callback), callback, args), context=context)

        def call_later(self, delay, callback, *args, context=None):  # type: ignore[no-untyped-def]
            wrapped = trace.timed(_name(callback), callback, args)
            return super().call_later(delay, wrapped, context=context)

        def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def]
            wrapped = trace.timed(_name(callback), callback, args)
            return super().call_at(when, wrapped, context=context)

        def add_reader(self, fd, callback, *args):  # type: ignore[no-untyped-def]
            listener = getattr(callback, "__self__", None)
            wakeup = getattr(listener, "_wakeup", None)
            if getattr(wakeup, "is_compiled", False):
                from gslb.server import batchio

                def serve() -> int:
                    n, failed = batchio._compiled.serve(  # type: ignore[union-attr]
                        wakeup.sock.fileno(),
                        wakeup._arena,
                        wakeup.answer,
                        "udp",
                        wakeup.batch,
                        wakeup.send_batch,
                    )
                    second = trace.seconds.get(int(time.time())) or trace.new_second()
                    second[2] += n
                    trace.datagrams += n
                    return int(failed)

                wakeup._serve = serve
            return super().add_reader(fd, trace.timed(_name(callback), callback, args), *())

    uvloop.run.__kwdefaults__["loop_factory"] = TracedLoop


if OUT and os.path.basename(sys.argv[0]) != "peers.py":
    with contextlib.suppress(ImportError):  # no uvloop: nothing traced
        _install()
