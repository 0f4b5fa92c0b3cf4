"""Load benchmark: several towns' counter traffic over HTTP, capacity, then 3× capacity.

Run from the repository root:

    .venv/bin/python bench/load.py [--json out.json] [--baseline-ref REF] [--quick]

Everything goes through the ``lgcloud`` command run as a subprocess (``python -m lgcloud``),
so the same code path measures the working tree and, with ``--baseline-ref``, an older
commit checked out in a temporary ``git worktree`` and put first on ``PYTHONPATH``. Per
version: a fresh data directory with 聖籠町, 出雲崎町 and 関川村 (``generate``, 3,000
residents each, 1,000 with ``--quick``), clerks, then ``lgcloud serve`` on 127.0.0.1 only
(the working tree with ``--workers 2``, one process per core, unless ``--workers`` says
otherwise; the baseline as it was, one process),
driven by an asyncio load generator (httpx) in this process. Set-up is timed and printed;
only the server is measured.

Counter mix (seeded): 55 % search, 28 % person view, 10 % 住民票 PDF, 5 % 転居 of a whole
household (a 422 is served, but counted and printed), 2 % fresh password login (a clerk
logs in once or twice a day and then searches, views and issues dozens of times; an argon2
login costs the server as much as ten searches). Phases
(``--quick`` halves every duration):

1. unloaded: 1 closed-loop client, 15 s, three times (median p95);
2. capacity: closed loop with 1…64 clients, 8 s each; capacity = the highest served rps of a
   level without errors (5xx other than 503, timeouts, connection errors);
3. 3×: open loop at 3 × capacity for 15 s, at most 512 requests in flight (an arrival that
   finds 512 in flight is not sent and counts as an error, ``not_launched``);
4. floods: 8 counter clients 10 s alone, 10 s beside a wrong-password login flood on 聖籠町
   (half unknown staff numbers, half clerk 9001, who gets locked out), 10 s beside a
   ``/verify/{code}`` flood of random codes;
5. batch: 4 counter clients of 聖籠町, 10 s alone, then while ``lgcloud export layouts``
   runs on the same town (again until 15 s have passed);
6. ``GET /metrics``: the gauge ``lgcloud_write_lock_max_ms`` (null where /metrics is 404).

503 is "shed", never "served"; latencies are of served requests (2xx/4xx), from send to the
whole body received, with a 10 s deadline per request. Every phase's status codes are
printed.

Machine note: these machines have 2 cores and are noisy, and the load generator shares them
with the server (at high rates it takes a good part of a core itself), so absolute figures
are low and move by ±20 % between runs; compare versions measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
HOST = "127.0.0.1"  # loopback only, always
TOWNS = (("153079", "聖籠町"), ("154059", "出雲崎町"), ("155811", "関川村"))
BATCH_TOWN = "153079"
FLOOD_TOWN = "153079"
PASSWORD = "bench-load-password-1"
WRONG_PASSWORD = "wrong-password-123"
# per town: staff number, name, roles (business_staff may also record life events)
CLERKS = (
    ("1001", "窓口\u3000一子", ("counter_clerk", "business_staff")),
    ("1002", "窓口\u3000二郎", ("counter_clerk", "business_staff")),
    ("1004", "業務\u3000四郎", ("business_staff",)),
)
FLOOD_CLERK = ("9001", "標的\u3000九一", ("counter_clerk",))
COUNTER_STAFF = tuple(c[0] for c in CLERKS)
LEVELS = (1, 2, 4, 8, 16, 32, 64)
# Sessions logged in before measuring (each login is an argon2 hash, ~0.2 s of CPU); past 24
# clients, two clients share a session, which costs the server the same per request.
SESSIONS_PER_TOWN = 8
MAX_INFLIGHT = 512
# Requests are spread over several httpx clients: one pool of hundreds of connections costs
# httpcore time per request that grows with the pool (the generator's own loop lags).
SHARDS = 16
REQUEST_TIMEOUT = 10.0
MAX_EXPORT_RUNS = 10
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WRITE_LOCK_GAUGE = "lgcloud_write_lock_max_ms"
TARGETS = {  # key: (description, check(value, results) -> bool | None)
    "errors_at_3x": "= 0",
    "p95_at_3x_ms": "≤ 2 × p95_unloaded_ms",
    "counter_rps_during_login_flood_ratio": "≥ 0.8",
    "counter_p95_during_batch_ms": "≤ 3 × p95_unloaded_ms",
    "max_write_lock_ms": "≤ 200",
    "capacity_ratio": "≥ 3",
}
Result = dict[str, float | int | str | None]
Shards = list[httpx.AsyncClient]
Sample = tuple[float, float, int | str, str]  # start, end, status or error kind, operation


# ------------------------------------------------------------------ statistics


def pct(xs: list[float], q: int) -> float | None:
    """q-th percentile (q in 5 % steps), None without samples."""
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=20)[q // 5 - 1]


def median(xs: Sequence[float | None]) -> float | None:
    ys = [x for x in xs if x is not None]
    return statistics.median(ys) if ys else None


@dataclass
class Summary:
    codes: Counter[str]
    offered: int
    served: int
    shed: int
    errors: int
    rps: float
    p50: float | None
    p95: float | None
    unprocessable: Counter[str]  # 422s by operation
    lag_p95: float | None  # the load generator's own event-loop lag, ms
    shed_p95: float | None  # how long a 503 took to come back, ms


#: (time, ms) the load generator's event loop woke late: when high, its latencies are inflated
LOOP_LAGS: list[tuple[float, float]] = []
#: the first body of each (operation, 4xx/5xx status), to show why requests were refused
FIRST_BODIES: dict[tuple[str, int], str] = {}


def summarise(samples: list[Sample], windows: list[tuple[float, float]]) -> Summary:
    """Requests *started* in the windows: codes, served rps over the windows, latencies."""

    def inside(t: float) -> bool:
        return any(a <= t < b for a, b in windows)

    codes: Counter[str] = Counter()
    unprocessable: Counter[str] = Counter()
    served_ms: list[float] = []
    shed_ms: list[float] = []
    errors = offered = 0
    for t0, t1, outcome, op in samples:
        if not inside(t0):
            continue
        offered += 1
        codes[str(outcome)] += 1
        if isinstance(outcome, int) and outcome < 500:
            served_ms.append((t1 - t0) * 1000)
            if outcome == 422:
                unprocessable[op] += 1
        elif outcome == 503:
            shed_ms.append((t1 - t0) * 1000)
        else:
            errors += 1
    return Summary(
        codes,
        offered,
        len(served_ms),
        len(shed_ms),
        errors,
        len(served_ms) / max(sum(b - a for a, b in windows), 1e-9),
        pct(served_ms, 50),
        pct(served_ms, 95),
        unprocessable,
        pct([lag for t, lag in LOOP_LAGS if inside(t)], 95),
        pct(shed_ms, 95),
    )


async def watch_loop_lag(stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        LOOP_LAGS.append((t, (time.perf_counter() - t - 0.05) * 1000))


def fmt_codes(s: Summary) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(s.codes.items())) or "-"


def fmt_ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} ms"


# ------------------------------------------------------------------ versions and set-up


@dataclass
class Version:
    label: str
    data_dir: Path
    work_dir: Path
    pythonpath: str | None = None
    serve_args: list[str] = field(default_factory=list)  # e.g. ["--workers", "2"]
    setup_times: dict[str, float] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.pop("LGCLOUD_DATA_DIR", None)
        env["LGCLOUD_PASSWORD"] = PASSWORD
        env["PYTHONUNBUFFERED"] = "1"
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        return env

    def argv(self, *args: str) -> list[str]:
        return [PYTHON, "-m", "lgcloud", *args, "--data-dir", str(self.data_dir)]

    def run(self, *args: str, timeout: float = 300) -> None:
        p = subprocess.run(
            self.argv(*args),
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if p.returncode != 0:
            raise SystemExit(f"[{self.label}] lgcloud {' '.join(args)} failed:\n{p.stderr[-2000:]}")

    def lgcloud_file(self) -> str:
        p = subprocess.run(
            [PYTHON, "-c", "import lgcloud; print(lgcloud.__file__)"],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return p.stdout.strip()


@dataclass
class TownData:
    code: str
    queries: list[str]
    people: list[str]
    households: list[list[str]]


def read_town_csv(code: str, path: Path) -> TownData:
    """Search words, addressee numbers and whole households from the 全住民一覧 CSV."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"宛名番号", "世帯番号", "氏名", "カナ氏名"} <= rows[0].keys():
        raise SystemExit(f"unexpected all-residents CSV header in {path}: {list(rows[0])[:8]}")
    households: dict[str, list[str]] = defaultdict(list)
    words: set[str] = set()
    for r in rows:
        households[r["世帯番号"]].append(r["宛名番号"])
        family = r["氏名"].partition("\u3000")[0]
        kana = r["カナ氏名"].partition("\u3000")[0]
        if family:
            words.add(family)
        if kana:
            words.add(kana)  # full kana surname
            words.add(kana[:2])  # a prefix, as typed at the counter
    rng = random.Random(code)
    queries = sorted(words)
    rng.shuffle(queries)
    return TownData(code, queries[:300], [r["宛名番号"] for r in rows], list(households.values()))


def set_up(version: Version, residents: int, console: Console) -> dict[str, TownData]:
    """Towns, residents and clerks through the lgcloud command; every step timed."""
    times: dict[str, float] = defaultdict(float)
    t_all = time.perf_counter()
    for code, name in TOWNS:  # one at a time: each registers in the platform database
        t = time.perf_counter()
        version.run("init-town", code, name)
        times["init-town ×3"] += time.perf_counter() - t

    def town_chain(code: str) -> TownData:  # towns in parallel: separate databases
        t = time.perf_counter()
        version.run("generate", "--town", code, "--residents", str(residents), "--seed", "1")
        times[f"generate {code}"] = time.perf_counter() - t
        t = time.perf_counter()
        for staff, name, roles in (*CLERKS, FLOOD_CLERK):
            role_args = [a for r in roles for a in ("--role", r)]
            version.run(
                "clerk",
                "add",
                "--town",
                code,
                "--staff-number",
                staff,
                "--name",
                name,
                *role_args,
                "--pin",
                "1234",
            )
        times[f"clerk add ×{len(CLERKS) + 1} {code}"] = time.perf_counter() - t
        t = time.perf_counter()
        out = version.work_dir / f"all-{code}.csv"
        version.run("all-residents-csv", "--town", code, "--out", str(out))
        data = read_town_csv(code, out)
        times[f"all-residents-csv {code}"] = time.perf_counter() - t
        return data

    with ThreadPoolExecutor(len(TOWNS)) as pool:
        towns = dict(
            zip((c for c, _ in TOWNS), pool.map(town_chain, [c for c, _ in TOWNS]), strict=True)
        )
    times["set-up wall (towns in parallel)"] = time.perf_counter() - t_all
    version.setup_times = dict(times)
    console.print(
        f"[{version.label}] set-up {times['set-up wall (towns in parallel)']:.1f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in times.items() if "wall" not in k)
    )
    return towns


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(version: Version, console: Console) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``lgcloud serve`` on 127.0.0.1:<free port>; killed on the way out, also on error."""
    port = free_port()
    log_path = version.work_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            version.argv("serve", "--host", HOST, "--port", str(port), *version.serve_args),
            env=version.env(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://{HOST}:{port}"
            t = time.perf_counter()
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"[{version.label}] server exited:\n{tail(log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=2).status_code == 200:
                        break
                if time.perf_counter() - t > 60:
                    raise SystemExit(f"[{version.label}] no /health after 60 s:\n{tail(log_path)}")
                time.sleep(0.2)
            console.print(
                f"[{version.label}] serving on {base} (pid {proc.pid}), "
                f"/health after {time.perf_counter() - t:.1f} s"
            )
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def tail(path: Path, n: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def server_log_problems(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()
    return [
        ln[:300]
        for ln in lines
        if "Traceback" in ln
        or '"level": "error"' in ln
        or "[error" in ln
        or ln.startswith(("ERROR", "CRITICAL"))
    ]


def slow_writes(path: Path) -> list[tuple[float, str]]:
    """The server's ``slow_write_transaction`` warnings (over 200 ms; JSON log lines):
    (ms, database), longest first, to tell where a long ``max_write_lock_ms`` came from."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if "slow_write_transaction" not in line or not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError, KeyError, TypeError):
            entry = json.loads(line)
            out.append((float(entry["ms"]), str(entry["database"]).rsplit("/", 1)[-1]))
    return sorted(out, reverse=True)


# ------------------------------------------------------------------ traffic


@dataclass(frozen=True)
class Session:
    town: TownData
    token: str


class Recorder:
    def __init__(self) -> None:
        self.samples: list[Sample] = []

    async def send(
        self, client: httpx.AsyncClient, method: str, url: str, op: str, **kw: object
    ) -> httpx.Response | None:
        t0 = time.perf_counter()
        response = None
        outcome: int | str
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                response = await client.request(method, url, **kw)  # type: ignore[arg-type]
            outcome = response.status_code
            if outcome >= 400 and (op, outcome) not in FIRST_BODIES:
                FIRST_BODIES[op, outcome] = response.text[:200].replace("\n", " ")
        except (TimeoutError, httpx.TimeoutException):
            outcome = "timeout"
        except httpx.HTTPError:
            outcome = "conn_error"
        self.samples.append((t0, time.perf_counter(), outcome, op))
        return response


_addresses = itertools.count(1)


def today_jst() -> str:
    return datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()


async def counter_op(
    client: httpx.AsyncClient, s: Session, rng: random.Random, rec: Recorder
) -> None:
    """One counter request of the mix."""
    town, headers = s.town, {"Authorization": f"Bearer {s.token}"}
    r = rng.random()
    if r < 0.55:
        q = rng.choice(town.queries)
        await rec.send(client, "GET", "/api/persons", "search", params={"q": q}, headers=headers)
    elif r < 0.83:
        n = rng.choice(town.people)
        await rec.send(client, "GET", f"/api/persons/{n}", "view", headers=headers)
    elif r < 0.93:
        body = {"kind": "resident", "addressee_number": rng.choice(town.people)}
        await rec.send(
            client, "POST", "/api/certificates", "certificate", json=body, headers=headers
        )
    elif r < 0.98:  # 転居 of a whole household (it keeps its number and head)
        event = {
            "kind": "move_within",
            "effective_date": today_jst(),
            "members": rng.choice(town.households),
            "address": {"address": f"大字負荷{next(_addresses)}番地{rng.randrange(1, 99)}"},
        }
        await rec.send(client, "POST", "/api/events", "event", json=event, headers=headers)
    else:
        body = {
            "town_code": town.code,
            "staff_number": rng.choice(COUNTER_STAFF),
            "password": PASSWORD,
        }
        await rec.send(client, "POST", "/api/login", "login", json=body)


async def login_pool(
    client: httpx.AsyncClient, towns: dict[str, TownData], per_town: int
) -> dict[str, list[Session]]:
    """Sessions made before any measurement (argon2 logins are not free)."""
    sem = asyncio.Semaphore(4)

    async def one(town: TownData, i: int) -> Session:
        body = {
            "town_code": town.code,
            "staff_number": COUNTER_STAFF[i % len(COUNTER_STAFF)],
            "password": PASSWORD,
        }
        for _attempt in range(20):  # a refused login (503) is tried again after Retry-After
            async with sem:
                r = await client.post("/api/login", json=body, timeout=60)
            if r.status_code != 503:
                break
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))
        if r.status_code != 200:
            raise SystemExit(f"set-up login failed: {r.status_code} {r.text[:300]}")
        return Session(town, r.headers["X-Session-Token"])

    out = {}
    for code, town in towns.items():
        out[code] = list(await asyncio.gather(*(one(town, i) for i in range(per_town))))
    return out


def spread(pool: dict[str, list[Session]], n: int) -> list[Session]:
    """n client sessions, evenly over the towns (beyond SESSIONS_PER_TOWN, shared)."""
    codes = [c for c, _ in TOWNS]
    return [pool[codes[i % len(codes)]][(i // len(codes)) % SESSIONS_PER_TOWN] for i in range(n)]


async def closed_loop(
    shards: Shards,
    sessions: list[Session],
    seconds: float,
    seed: int,
    rec: Recorder,
    stop: asyncio.Event | None = None,
) -> tuple[float, float]:
    """Each client sends its next request when the previous one has answered."""
    t0 = time.perf_counter()
    end = t0 + seconds

    async def worker(i: int, s: Session) -> None:
        rng = random.Random(seed * 1000 + i)
        while time.perf_counter() < end and not (stop and stop.is_set()):
            await counter_op(shards[i % len(shards)], s, rng, rec)

    await asyncio.gather(*(worker(i, s) for i, s in enumerate(sessions)))
    return t0, min(end, time.perf_counter())


async def open_loop(
    shards: Shards,
    sessions: list[Session],
    rate: float,
    seconds: float,
    seed: int,
    rec: Recorder,
) -> tuple[float, float]:
    """Arrivals at a fixed rate whatever the answers; at most MAX_INFLIGHT in flight."""
    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    start = time.perf_counter()
    n = 0
    while n < total:
        now = time.perf_counter()
        due = min(total, int((now - start) * rate) + 1)
        while n < due:
            if len(tasks) >= MAX_INFLIGHT:
                rec.samples.append((now, now, "not_launched", "-"))
            else:
                task = asyncio.create_task(
                    counter_op(shards[n % len(shards)], sessions[n % len(sessions)], rng, rec)
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.sleep(max(0.0, min(0.005, start + n / rate - time.perf_counter())))
    end = start + seconds
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    return start, end


async def login_flood(shards: Shards, k: int, seconds: float, seed: int, rec: Recorder) -> None:
    """Wrong passwords: half for unknown staff numbers, half for clerk 9001."""
    end = time.perf_counter() + seconds

    async def worker(j: int) -> None:
        rng = random.Random(seed + j)
        while time.perf_counter() < end:
            staff = FLOOD_CLERK[0] if j % 2 else f"X{rng.randrange(10**8)}"
            body = {"town_code": FLOOD_TOWN, "staff_number": staff, "password": WRONG_PASSWORD}
            await rec.send(shards[j % len(shards)], "POST", "/api/login", "flood_login", json=body)

    await asyncio.gather(*(worker(j) for j in range(k)))


async def verify_flood(shards: Shards, k: int, seconds: float, seed: int, rec: Recorder) -> None:
    """GET /verify/<town>-XXXX-XXXX-XXXX with random codes (all unknown)."""
    end = time.perf_counter() + seconds

    async def worker(j: int) -> None:
        rng = random.Random(seed + j)
        while time.perf_counter() < end:
            groups = ("".join(rng.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
            code = "-".join([FLOOD_TOWN, *groups])
            await rec.send(shards[j % len(shards)], "GET", f"/verify/{code}", "flood_verify")

    await asyncio.gather(*(worker(j) for j in range(k)))


async def settle(client: httpx.AsyncClient, limit: float) -> float:
    """Wait until /health answers fast twice (the server has drained its queue)."""
    t = time.perf_counter()
    fast = 0
    while time.perf_counter() - t < limit and fast < 2:
        t0 = time.perf_counter()
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/health", timeout=REQUEST_TIMEOUT)
        fast = fast + 1 if time.perf_counter() - t0 < 0.1 else 0
        await asyncio.sleep(0.25)
    return time.perf_counter() - t


def parse_gauge(text: str, name: str) -> float | None:
    """Largest value of a Prometheus metric (any labels) in an exposition text."""
    values = []
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name:
            with contextlib.suppress(ValueError):
                values.append(float(m.group(3)))
    return max(values) if values else None


async def write_lock_max(client: httpx.AsyncClient, token: str) -> tuple[float | None, str]:
    r = await client.get("/metrics", timeout=REQUEST_TIMEOUT)
    if r.status_code in (401, 403):
        r = await client.get(
            "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT
        )
    if r.status_code != 200:
        return None, f"/metrics {r.status_code}"
    value = parse_gauge(r.text, WRITE_LOCK_GAUGE)
    return value, f"/metrics 200, {WRITE_LOCK_GAUGE} {'missing' if value is None else value}"


# ------------------------------------------------------------------ phases


@dataclass
class Report:
    results: Result = field(default_factory=dict)
    ramp: list[tuple[int, Summary]] = field(default_factory=list)
    phases: list[tuple[str, Summary]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def measure(
    version: Version,
    base: str,
    proc: subprocess.Popen[bytes],
    towns: dict[str, TownData],
    args: argparse.Namespace,
    console: Console,
) -> Report:
    f = 0.5 if args.quick else 1.0
    rep = Report()
    res = rep.results
    limits = httpx.Limits(
        max_connections=2 * MAX_INFLIGHT // SHARDS,
        max_keepalive_connections=2 * MAX_INFLIGHT // SHARDS,
        keepalive_expiry=3.0,  # below uvicorn's 5 s, so no idle connection is reused as it closes
    )

    def say(msg: str) -> None:
        console.print(msg, markup=False, highlight=False)

    def alive(phase: str) -> None:
        if proc.poll() is not None:
            raise SystemExit(f"[{version.label}] server died during {phase}")

    async with contextlib.AsyncExitStack() as stack:
        shards = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=REQUEST_TIMEOUT)
            )
            for _ in range(SHARDS)
        ]
        client = shards[0]
        t = time.perf_counter()
        pool = await login_pool(client, towns, SESSIONS_PER_TOWN)
        n_sessions = SESSIONS_PER_TOWN * len(TOWNS)
        say(f"[{version.label}] {n_sessions} sessions in {time.perf_counter() - t:.1f} s")
        stop_watch = asyncio.Event()
        watcher = asyncio.create_task(watch_loop_lag(stop_watch))
        await closed_loop(shards, spread(pool, 3), 3 * f, 99, Recorder())  # warm-up

        # 1. unloaded
        p95s, p50s, rpss = [], [], []
        for run in range(3):
            rec = Recorder()
            window = await closed_loop(shards, spread(pool, 1), 15 * f, 10 + run, rec)
            s = summarise(rec.samples, [window])
            rep.phases.append((f"unloaded run {run + 1}", s))
            p95s.append(s.p95)
            p50s.append(s.p50)
            rpss.append(s.rps)
        res["p95_unloaded_ms"] = median(p95s)
        res["p50_unloaded_ms"] = median(p50s)
        res["rps_unloaded"] = median(rpss)
        runs = ", ".join(fmt_ms(x) for x in p95s)
        say(f"[{version.label}] unloaded p95 {fmt_ms(median(p95s))} (runs: {runs})")
        alive("unloaded")

        # 2. capacity ramp
        for n in LEVELS:
            await settle(client, 20)
            rec = Recorder()
            window = await closed_loop(shards, spread(pool, n), 8 * f, 100 + n, rec)
            s = summarise(rec.samples, [window])
            rep.ramp.append((n, s))
            say(f"[{version.label}] {n:>2} clients: {s.rps:.1f} served rps, p95 {fmt_ms(s.p95)}")
            alive(f"capacity ({n} clients)")
        clean = [(s.rps, n) for n, s in rep.ramp if s.errors == 0]
        if clean:
            capacity, at = max(clean)
        else:
            capacity, at = max((s.rps, n) for n, s in rep.ramp)
            rep.notes.append("every ramp level had errors: capacity is the best level anyway")
        res["capacity_rps"] = capacity
        res["capacity_clients"] = at

        # 3. three times capacity, open loop
        await settle(client, 30)
        rate = max(1.0, 3 * capacity)
        rec = Recorder()
        window = await open_loop(shards, spread(pool, n_sessions), rate, 15 * f, 3, rec)
        s = summarise(rec.samples, [window])
        rep.phases.append((f"3× open loop {rate:.0f}/s", s))
        res["offered_rps_at_3x"] = rate
        res["served_rps_at_3x"] = s.rps
        res["p95_at_3x_ms"] = s.p95
        res["client_lag_p95_at_3x_ms"] = s.lag_p95
        res["shed_p95_at_3x_ms"] = s.shed_p95
        res["errors_at_3x"] = s.errors
        res["not_launched_at_3x"] = s.codes.get("not_launched", 0)
        res["shed_share_at_3x"] = s.shed / s.offered if s.offered else None
        say(f"[{version.label}] 3×: {fmt_codes(s)}; 503s answered in p95 {fmt_ms(s.shed_p95)}")
        alive("3×")
        drained = await settle(client, 60)
        say(f"[{version.label}] drained after 3× in {drained:.1f} s")

        # 4. floods beside 8 counter clients
        clients8 = spread(pool, 8)
        rec = Recorder()
        window = await closed_loop(shards, clients8, 10 * f, 40, rec)
        quiet = summarise(rec.samples, [window])
        rep.phases.append(("8 clients, no flood", quiet))
        for name, flood in (("login", login_flood), ("verify", verify_flood)):
            await settle(client, 20)
            rec, frec = Recorder(), Recorder()
            window, _ = await asyncio.gather(
                closed_loop(shards, clients8, 10 * f, 41, rec),
                flood(shards, args.flood_clients, 10 * f, 7, frec),
            )
            s = summarise(rec.samples, [window])
            fs = summarise(frec.samples, [window])
            rep.phases.append((f"8 clients + {name} flood", s))
            rep.phases.append((f"{name} flood ×{args.flood_clients} itself", fs))
            res[f"counter_rps_during_{name}_flood_ratio"] = s.rps / quiet.rps if quiet.rps else None
            res[f"{name}_flood_rps"] = fs.offered / (window[1] - window[0])
            res[f"counter_p95_during_{name}_flood_ms"] = s.p95
            alive(f"{name} flood")
        res["counter_rps_without_flood"] = quiet.rps

        # 5. batch export on the same town
        await settle(client, 20)
        res |= await batch_phase(shards, version, pool[BATCH_TOWN][:4], f, rep)
        alive("batch")

        # 6. write-lock gauge
        lock, note = await write_lock_max(client, pool[BATCH_TOWN][0].token)
        res["max_write_lock_ms"] = lock
        rep.notes.append(note)
        stop_watch.set()
        await watcher

    unprocessable: Counter[str] = Counter()
    for _, s in [*rep.phases, *((str(n), s) for n, s in rep.ramp)]:
        unprocessable += s.unprocessable
    res["events_422"] = unprocessable.get("event", 0)
    res["counter_422_not_events"] = sum(
        v for k, v in unprocessable.items() if k not in ("event", "flood_login", "flood_verify")
    )
    expected = {("flood_login", 401), ("flood_verify", 404)}
    ops_by_answer: dict[tuple[int, str], list[str]] = defaultdict(list)
    for (op, code), body in sorted(FIRST_BODIES.items()):
        if (op, code) not in expected:
            ops_by_answer[code, body].append(op)
    for (code, body), ops in sorted(ops_by_answer.items()):
        rep.notes.append(f"{code} to {', '.join(ops)}, first body: {body}")
    return rep


async def batch_phase(
    shards: Shards,
    version: Version,
    sessions: list[Session],
    f: float,
    rep: Report,
) -> Result:
    rec = Recorder()
    stop = asyncio.Event()
    pre_s, batch_s = 10 * f, 15 * f
    counters = asyncio.create_task(closed_loop(shards, sessions, 600, 50, rec, stop))
    t_pre = time.perf_counter()
    await asyncio.sleep(pre_s)
    pre_window = (t_pre, time.perf_counter())
    intervals: list[tuple[float, float]] = []
    t_batch = time.perf_counter()
    failures = []
    try:
        for run in range(MAX_EXPORT_RUNS):
            out_dir = version.work_dir / f"export-{run}"
            a = time.perf_counter()
            p = await asyncio.create_subprocess_exec(
                *version.argv("export", "layouts", "--town", BATCH_TOWN, "--out-dir", str(out_dir)),
                env=version.env(),
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(p.communicate(), 120)
            except TimeoutError:
                p.kill()
                await p.wait()
                raise
            intervals.append((a, time.perf_counter()))
            if p.returncode != 0:
                failures.append(err.decode(errors="replace")[-300:])
            shutil.rmtree(out_dir, ignore_errors=True)
            if time.perf_counter() - t_batch >= batch_s:
                break
    finally:
        stop.set()
        await counters
    pre = summarise(rec.samples, [pre_window])
    s = summarise(rec.samples, intervals)
    rep.phases.append((f"4 clients {BATCH_TOWN}, before export", pre))
    rep.phases.append((f"4 clients {BATCH_TOWN}, during export ×{len(intervals)}", s))
    if failures:
        rep.notes.append(f"export layouts failed {len(failures)}×: {failures[0]}")
    return {
        "counter_p95_before_batch_ms": pre.p95,
        "counter_p95_during_batch_ms": s.p95,
        "batch_export_runs": len(intervals),
        "batch_export_s": statistics.median(b - a for a, b in intervals),
        "batch_export_failures": len(failures),
    }


def run_version(version: Version, args: argparse.Namespace, console: Console) -> Report:
    version.work_dir.mkdir(parents=True, exist_ok=True)
    LOOP_LAGS.clear()
    FIRST_BODIES.clear()
    console.print(f"[{version.label}] lgcloud from {version.lgcloud_file()}")
    residents = 1000 if args.quick else args.residents
    towns = set_up(version, residents, console)
    with serving(version, console) as (base, proc):
        rep = asyncio.run(measure(version, base, proc, towns, args, console))
    problems = server_log_problems(version.work_dir / "server.log")
    if problems:
        rep.notes.append(f"server log: {len(problems)} error line(s), first: {problems[0]}")
    rep.results["server_log_errors"] = len(problems)
    slow = slow_writes(version.work_dir / "server.log")
    rep.results["slow_write_transactions"] = len(slow)
    if slow:
        longest = ", ".join(f"{ms:.0f} ms {db}" for ms, db in slow[:3])
        rep.notes.append(f"{len(slow)} write transaction(s) over 200 ms; longest: {longest}")
    rep.results["setup_s"] = version.setup_times.get("set-up wall (towns in parallel)")
    return rep


# ------------------------------------------------------------------ output


def print_report(label: str, rep: Report, console: Console) -> None:
    ramp = Table(
        "clients",
        "served rps",
        "p50",
        "p95",
        "errors",
        "shed",
        "client lag p95",
        "status codes",
        title=f"{label}: capacity ramp (closed loop)",
    )
    for n, s in rep.ramp:
        ramp.add_row(
            str(n),
            f"{s.rps:.1f}",
            fmt_ms(s.p50),
            fmt_ms(s.p95),
            str(s.errors),
            str(s.shed),
            fmt_ms(s.lag_p95),
            fmt_codes(s),
        )
    console.print(ramp)
    phases = Table(
        "phase",
        "served rps",
        "p50",
        "p95",
        "errors",
        "shed",
        "422 by op",
        "client lag p95",
        "status codes",
        title=f"{label}: phases",
    )
    for name, s in rep.phases:
        phases.add_row(
            name,
            f"{s.rps:.1f}",
            fmt_ms(s.p50),
            fmt_ms(s.p95),
            str(s.errors),
            str(s.shed),
            " ".join(f"{k}:{v}" for k, v in s.unprocessable.items()) or "-",
            fmt_ms(s.lag_p95),
            fmt_codes(s),
        )
    console.print(phases)
    for note in rep.notes:
        console.print(f"[{label}] note: {note}")


def verdict(key: str, r: Result) -> str:
    v = r.get(key)
    if v is None or isinstance(v, str):
        return "—"
    base = r.get("p95_unloaded_ms")
    ok = {
        "errors_at_3x": lambda: v == 0,
        "p95_at_3x_ms": lambda: isinstance(base, float) and v <= 2 * base,
        "counter_rps_during_login_flood_ratio": lambda: v >= 0.8,
        "counter_p95_during_batch_ms": lambda: isinstance(base, float) and v <= 3 * base,
        "max_write_lock_ms": lambda: v <= 200,
        "capacity_ratio": lambda: v >= 3,
    }[key]()
    return "pass" if ok else "MISS"


def fmt_value(key: str, v: float | int | str | None) -> str:
    if v is None:
        return "null"
    if isinstance(v, str):
        return v
    if key == "max_write_lock_ms":
        return f"{v:.1f} ms"
    if key.endswith("_ms"):
        return f"{v:.0f} ms"
    if key.endswith("_share_at_3x"):
        return f"{v:.1%}"
    if isinstance(v, int):
        return str(v)
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


MAIN_KEYS = (
    "capacity_rps",
    "capacity_clients",
    "p50_unloaded_ms",
    "p95_unloaded_ms",
    "offered_rps_at_3x",
    "served_rps_at_3x",
    "p95_at_3x_ms",
    "errors_at_3x",
    "not_launched_at_3x",
    "shed_share_at_3x",
    "shed_p95_at_3x_ms",
    "counter_rps_without_flood",
    "counter_rps_during_login_flood_ratio",
    "login_flood_rps",
    "counter_rps_during_verify_flood_ratio",
    "verify_flood_rps",
    "counter_p95_before_batch_ms",
    "counter_p95_during_batch_ms",
    "batch_export_s",
    "max_write_lock_ms",
    "events_422",
    "counter_422_not_events",
    "server_log_errors",
    "client_lag_p95_at_3x_ms",
    "setup_s",
    "capacity_ratio",
)


def print_summary(
    current: Result, baseline: Result | None, ref: str | None, console: Console
) -> None:
    cols = ["metric", "current"] + ([f"baseline {ref}"] if baseline is not None else [])
    table = Table(*cols, "target", "current ok", title="load: summary")
    for key in MAIN_KEYS:
        if key not in current:
            continue
        row = [key, fmt_value(key, current[key])]
        if baseline is not None:
            row.append(fmt_value(key, baseline.get(key)) if key != "capacity_ratio" else "")
        target = TARGETS.get(key, "")
        table.add_row(*row, target, verdict(key, current) if target else "")
    console.print(table)


# ------------------------------------------------------------------ main


@contextlib.contextmanager
def worktree(ref: str, tmp: Path) -> Iterator[Path]:
    path = tmp / f"src-{re.sub(r'[^A-Za-z0-9._-]', '_', ref)}"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), ref],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=ROOT,
            check=False,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False, timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--baseline-ref", help="git ref measured the same way, e.g. HEAD")
    ap.add_argument("--quick", action="store_true", help="half durations, 1,000 residents")
    ap.add_argument("--residents", type=int, default=3000, help="per town (without --quick)")
    ap.add_argument("--flood-clients", type=int, default=8)
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes of the working tree (lgcloud serve --workers; the baseline "
        "has one, all it can run)",
    )
    args = ap.parse_args()
    console = Console(
        markup=False, width=None if sys.stdout.isatty() else 150
    )  # labels like "[current]" are text, not markup
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lgcloud-load-") as tmp_name:
        tmp = Path(tmp_name)
        current = Version(
            "current",
            tmp / "current" / "data",
            tmp / "current",
            serve_args=["--workers", str(args.workers)] if args.workers > 1 else [],
        )
        rep = run_version(current, args, console)
        print_report("current", rep, console)
        results = dict(rep.results)
        baseline: Result | None = None
        if args.baseline_ref:
            with worktree(args.baseline_ref, tmp) as src_tree:
                old = Version(
                    f"baseline {args.baseline_ref}",
                    tmp / "baseline" / "data",
                    tmp / "baseline",
                    pythonpath=str(src_tree / "src"),
                )
                where = old.lgcloud_file()
                if not where.startswith(str(src_tree)):
                    raise SystemExit(f"baseline imports lgcloud from {where}, not the worktree")
                brep = run_version(old, args, console)
            print_report(f"baseline {args.baseline_ref}", brep, console)
            baseline = brep.results
            results |= {f"baseline_{k}": v for k, v in baseline.items()}
            cap, bcap = results.get("capacity_rps"), baseline.get("capacity_rps")
            ok = isinstance(cap, float) and isinstance(bcap, float) and bcap > 0
            results["capacity_ratio"] = cap / bcap if ok else None  # type: ignore[operator]
            results["baseline_ref"] = args.baseline_ref
    print_summary(results, baseline, args.baseline_ref, console)
    results["wall_s"] = time.perf_counter() - t_start
    results["quick"] = int(args.quick)
    console.print(f"wall time {results['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
