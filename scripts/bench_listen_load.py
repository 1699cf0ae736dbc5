"""Load test of the listening-test server (part of ``make bench``): N simultaneous participants on loopback.

Builds a small MUSHRA test (synthetic speech-like audio, 4 trials of 5 stimuli), starts the real server
(``bench listen serve --port 0``, SQLite in the test folder) as its own process, then lets ``--participants``
clients start at the same moment and each go through the whole test over HTTP: create a session, level
check, training, fetch the plan, submit every trial, answer the questionnaire. Every response time is
recorded; the script prints the 50th/95th-percentile and maximum and, as its last line, the figures as
JSON. It makes a bounded number of requests (participants x 9) and stops by itself.

Example: ``python scripts/bench_listen_load.py --participants 100``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from listening_test.build import BuildOptions, build_test
from tests.listen_util import make_run_folder

ITEMS = 4


def start_server(test_dir: Path) -> tuple[subprocess.Popen, str]:
    """``bench listen serve`` on a free port; returns the process and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "bench", "listen", "serve", str(test_dir), "--port", "0",
                             "--admin-token", "load-test-token-0000"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("participants: "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    base = line.split()[1].rstrip("/")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/test", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not answer within 30 s")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator must cost far less CPU
    than the server it measures (httpx costs about three times the server's CPU per request)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(payload)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "") + "\r\n")
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        assert self.reader is not None
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length)
        return status, json.loads(data) if data else {}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def participant(host: str, port: int, n: int, go: asyncio.Event, times: list[float],
                      errors: list[str]) -> None:
    """One participant's whole test on one keep-alive connection; each latency goes into ``times``."""
    conn = Connection(host, port)

    async def call(method: str, path: str, body: dict | None = None) -> dict:
        t0 = time.perf_counter()
        status, data = await asyncio.wait_for(conn.request(method, path, body), timeout=120)
        times.append(time.perf_counter() - t0)
        if status >= 400:
            errors.append(f"{method} {path}: {status} {data}")
        return data

    await go.wait()
    try:
        pid = (await call("POST", "/api/sessions", {"consent": True}))["participant"]
        await call("POST", f"/api/sessions/{pid}/progress", {"step": "level", "audio_rate": 48000})
        await call("POST", f"/api/sessions/{pid}/progress", {"step": "training"})
        plan = await call("GET", f"/api/sessions/{pid}")
        for k, trial in enumerate(plan["trials"]):
            ratings = {s["id"]: (n * 7 + k * 13 + i * 3) % 101 for i, s in enumerate(trial["stimuli"])}
            await call("POST", f"/api/sessions/{pid}/trials/{trial['id']}",
                       {"key": f"load{n:04d}k{k}", "ratings": ratings, "time_ms": 1000, "comment": ""})
        await call("POST", f"/api/sessions/{pid}/questionnaire", {"answers": {"age": str(20 + n % 50)}})
    except (OSError, asyncio.TimeoutError, ValueError, IndexError, KeyError) as exc:
        errors.append(f"participant {n}: {type(exc).__name__} {exc}")
    finally:
        conn.close()


async def load(base: str, participants: int) -> tuple[list[float], list[str], float]:
    host, _, port = base.removeprefix("http://").rpartition(":")
    times: list[float] = []
    errors: list[str] = []
    go = asyncio.Event()
    tasks = [asyncio.create_task(participant(host, int(port), n, go, times, errors)) for n in range(participants)]
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return times, errors, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--participants", type=int, default=100, help="simultaneous participants (default 100)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="listen-load-") as tmp:
        run = make_run_folder(Path(tmp) / "run", n_utts=ITEMS + 1, seconds=1.0)
        test_dir = Path(tmp) / "test"
        build_test(BuildOptions(run_dir=run, out=test_dir, type="mushra", items=ITEMS, seconds=0.8))
        proc, base = start_server(test_dir)
        try:
            cpu0, client0 = process_cpu_s(proc.pid), time.process_time()
            times, errors, wall = asyncio.run(load(base, args.participants))
            server_cpu, client_cpu = process_cpu_s(proc.pid) - cpu0, time.process_time() - client0
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        with sqlite3.connect(test_dir / "results.sqlite") as conn:
            stored = conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
    t = np.asarray(times)
    result = {"participants": args.participants, "requests": len(t), "errors": len(errors),
              "ratings_stored": stored, "ratings_expected": args.participants * ITEMS * 5,
              "p50_s": float(np.percentile(t, 50)), "p95_s": float(np.percentile(t, 95)), "max_s": float(t.max()),
              "wall_s": wall, "server_cpu_s": server_cpu, "client_cpu_s": client_cpu, "cores": os.cpu_count(), "load_average": os.getloadavg()[0]}
    print(f"{args.participants} simultaneous participants, {len(t)} requests in {wall:.1f} s: "
          f"p50 {result['p50_s'] * 1000:.0f} ms, p95 {result['p95_s'] * 1000:.0f} ms, max {result['max_s'] * 1000:.0f} ms; "
          f"{stored} of {result['ratings_expected']} ratings stored, {len(errors)} errors; CPU: server "
          f"{server_cpu:.1f} s, clients {client_cpu:.1f} s, 1-min load average {result['load_average']:.1f}")
    for e in errors[:5]:
        print(f"  error: {e}")
    print(json.dumps(result))
    return 0 if not errors and stored == result["ratings_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
