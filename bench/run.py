#!/usr/bin/env python3
"""Strom against Apache Kafka on this machine: the driver behind bench/run.sh.

Starts each system fresh (Strom with its default fsync policy, Strom with Kafka's
page-cache policy, Apache Kafka 4.4.0 in KRaft mode), runs the same workloads
against each, alternating systems round by round so machine drift hits all of
them, and reports medians and Strom/Kafka ratios as a table (stdout) and as
Markdown + JSON under bench/results/.

    bench/run.py --rounds 3                 # everything (bench/run.sh prepares the binaries)
    bench/run.py --smoke --systems strom    # seconds, Strom only (CI)

Env: STROM_BROKER_BIN, STROM_BENCH_BIN (default target/release/...),
     KAFKA_BROKER (default scripts/reference-kafka/kafka-broker.sh),
     KAFKA_CLASSPATH_FILE (default target/reference-kafka/classpath.txt).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "target"
LISTENING = re.compile(r"listening on (\S+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# System id -> (label, durability statement, broker properties beyond the basics).
SYSTEMS = {
    "strom": (
        "Strom (fsync)",
        "acknowledged acks=1/all writes are fsynced before the answer (Strom's default)",
        {},
    ),
    "strom-pagecache": (
        "Strom (page cache)",
        "writes are acknowledged from the page cache, flushed by the OS (Kafka's default policy; "
        "log.flush.interval.messages set)",
        {"log.flush.interval.messages": "9223372036854775807"},
    ),
    "kafka": (
        "Apache Kafka 4.4.0",
        "writes are acknowledged from the page cache, flushed by the OS (Kafka's default)",
        # A deleted topic's files go at once (Strom's way), not a minute later:
        # see drop_bench_topics.
        {"log.segment.delete.delay.ms": "0"},
    ),
}
# The Kafka-equivalent-durability Strom row that ratios compare with Kafka.
RATIO_SYSTEM = "strom-pagecache"


def bin_path(env: str, default: Path) -> Path:
    return Path(os.environ.get(env, default))


class Broker:
    """One broker process on a fresh data dir, on loopback port 0."""

    def __init__(self, system: str, workdir: Path):
        self.system = system
        self.dir = workdir / system
        self.cost: float | None = None  # set by costed(): broker CPU-s per GB of the last workload
        self.memo: dict = {}  # results of runs that serve several rows
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "data").mkdir(parents=True)
        props = {
            "node.id": "1",
            "listeners": "PLAINTEXT://127.0.0.1:0",
            "log.dirs": str(self.dir / "data"),
            "num.partitions": "6",
            "group.initial.rebalance.delay.ms": "0",
        }
        props.update(SYSTEMS[system][2])
        self.config = self.dir / "server.properties"
        self.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def command(self) -> list[str]:
        if self.system == "kafka":
            return [str(bin_path("KAFKA_BROKER", REPO / "scripts/reference-kafka/kafka-broker.sh")), str(self.config)]
        return [str(bin_path("STROM_BROKER_BIN", TARGET / "release/strom-broker")), str(self.config)]

    def start(self) -> str:
        self.proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=open(self.dir / "stderr.log", "wb"), text=True
        )
        deadline = time.time() + 120
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = LISTENING.search(line)
            if m:
                self.bootstrap = m.group(1)
                break
            if time.time() > deadline:
                break
        else:
            log = (self.dir / "stderr.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.system} exited before listening (code {self.proc.wait()}):\n{log}")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        return self.bootstrap

    def pids(self) -> list[int]:
        """The broker's whole process tree (the JVM is a child of a script)."""
        pids, frontier = [], [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            pids.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            frontier.extend(int(c) for c in children)
        return pids

    def rss_mib(self) -> float:
        """Resident memory of the broker's whole process tree."""
        kib = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kib += int(line.split()[1])
            except OSError:
                pass
        return kib / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the broker's process tree has used so far (all threads:
        a JVM's compiler and GC threads count, as Strom's storage threads do)."""
        ticks = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / CLK_TCK

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def strom_bench(*args: str) -> dict:
    exe = bin_path("STROM_BENCH_BIN", TARGET / "release/strom-bench")
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"strom-bench {' '.join(args)} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def kafka_tool(main_class: str, *args: str) -> str:
    cp_file = bin_path("KAFKA_CLASSPATH_FILE", TARGET / "reference-kafka/classpath.txt")
    cp = cp_file.read_text().strip()
    out = subprocess.run(
        ["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp, main_class, *args],
        capture_output=True, text=True, timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{main_class} failed: {out.stderr[-2000:]}")
    return out.stdout


def strom_topics(bootstrap: str, *args: str) -> str:
    """`strom topics -b <bootstrap> ...` (works against either broker); its stdout."""
    strom = bin_path("STROM_BIN", TARGET / "release/strom")
    return subprocess.run(
        [str(strom), "topics", "-b", bootstrap, *args], check=True, capture_output=True, text=True, timeout=60,
    ).stdout


def create_topic(bootstrap: str, topic: str, partitions: int = 6) -> None:
    strom_topics(bootstrap, "create", topic, "--partitions", str(partitions))


def drop_bench_topics(bootstrap: str) -> None:
    """Deletes every topic the harness made (`bench-*`), with its data. On a VM, a
    page cache that keeps growing reaches guest memory the host has not backed
    since it was last freed, and every page written there costs several times
    more CPU: 16 producers on one broker ran at 0.6 broker CPU-s/GB for the first
    4 GB and 2.2-2.8 after, and stayed at 0.6 when each run's topic was deleted."""
    for topic in strom_topics(bootstrap, "list").split():
        if topic.startswith("bench-"):
            strom_topics(bootstrap, "delete", topic)


# Distinct record values in a payload file: enough that the records of one batch
# (16 of 1 KiB) are practically never repeats, so lz4 finds no more to squeeze than
# in per-record random values.
PAYLOADS = 10_000
PAYLOAD_DIR = tempfile.TemporaryDirectory(prefix="strom-bench-payloads-")  # removed at exit


def payload_file(size: int) -> Path:
    """A file of PAYLOADS lines of `size` random capital letters (the tool's own
    alphabet), made once per run. kafka-producer-perf-test with --record-size fills
    every record with `size` fresh SplittableRandom.nextInt(26) calls on its only
    sending thread; profiled, that loop took a third of this 2-core machine and
    capped both brokers at what the rest of the client thread could offer. With
    --payload-file the tool picks one of these values per record."""
    path = Path(PAYLOAD_DIR.name) / f"{size}.txt"
    if not path.exists():
        rng = random.Random(size)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        path.write_text("".join("".join(rng.choices(letters, k=size)) + "\n" for _ in range(PAYLOADS)))
    return path


def producer_perf(bootstrap: str, topic: str, records: int, size: int, acks: str, compression: str) -> dict:
    """Kafka's kafka-producer-perf-test, with values of `size` bytes from a payload
    file; its summary line gives records/s and MB/s."""
    out = kafka_tool(
        "org.apache.kafka.tools.ProducerPerformance",
        "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records),
        "--payload-file", str(payload_file(size)), "--throughput", "-1",
        "--producer-props", f"acks={acks}", f"compression.type={compression}", "linger.ms=5",
    )
    last = [l for l in out.splitlines() if "records sent" in l][-1]
    m = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\).*?([\d.]+) ms avg latency.*?([\d.]+) ms max", last)
    if not m:
        raise RuntimeError(f"unexpected producer-perf-test output: {last}")
    return {"records_per_sec": float(m.group(1)), "mb_per_sec": float(m.group(2))}


def warm_up(b: "Broker", topic: str, seconds: float) -> None:
    """Unmeasured load until `seconds` have passed: produce with acks=1, acks=all and
    lz4, and consume what was written, in turns, so a JVM broker has compiled the
    hot paths of every workload before the first is measured (on a fast machine
    Kafka's broker CPU per GB kept falling for minutes after a short produce-only
    warm-up, so whichever workload ran later in a round looked faster)."""
    create_topic(b.bootstrap, topic)
    deadline = time.monotonic() + seconds
    passes, rates = 0, []
    while True:
        for acks, compression in (("1", "none"), ("all", "none"), ("1", "lz4")):
            rates.append(producer_perf(b.bootstrap, topic, 200_000, 1024, acks, compression)["records_per_sec"])
        consumer_perf(b.bootstrap, topic, 600_000)
        passes += 1
        if time.monotonic() >= deadline:
            break
    shown = ", ".join(f"{x / 1000:.0f}k" for x in rates[::3])
    print(f"  {'(warm-up, not measured)':45} {passes} passes; acks=1 records/s: {shown}", flush=True)
    drop_bench_topics(b.bootstrap)


def consumer_perf(bootstrap: str, topic: str, records: int) -> dict:
    """Kafka's kafka-consumer-perf-test; the CSV line after its header."""
    out = kafka_tool(
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", str(records), "--timeout", "60000",
    )
    lines = [l for l in out.splitlines() if l.strip()]
    header = [h.strip() for h in lines[-2].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    row = dict(zip(header, values))
    return {"records_per_sec": float(row["nMsg.sec"]), "mb_per_sec": float(row["MB.sec"]),
            "fetch_mb_per_sec": float(row["fetch.MB.sec"])}


def costed(b: Broker, payload_bytes: int, measure):
    """Runs `measure` and leaves the broker's CPU time per GB of record payload it
    cost in `b.cost`: the broker's own price of a workload, whatever the client's
    speed (on a small machine the client and the broker share the cores)."""
    before = b.cpu_seconds()
    out = measure()
    b.cost = (b.cpu_seconds() - before) / (payload_bytes / 1e9)
    return out


def shared_run(b: Broker, setting, key: str, cost_key: str | None, measure) -> float:
    """`measure()`'s `key`, measured once per broker process and `setting` so that
    one run serves several rows; `b.cost` (set by `measure`) is kept for the row
    of `cost_key` only, so one broker CPU row goes with the run."""
    if setting not in b.memo:
        out = measure()
        b.memo[setting] = (out, b.cost)
    out, cost = b.memo[setting]
    b.cost = cost if key == cost_key else None
    return out[key]


# Records of 1 KiB per throughput workload (about 2 GB). Each run starts a new
# client JVM, which compiles its own hot paths during the first seconds: with
# 500 000 records (2-3 s on a fast machine) the rows measured mostly the client's
# warm-up, and Strom's acks=1 lead shrank from about 1.6x to 1.1x.
VOLUME_1K = 2_000_000


# Workload id -> (label, unit, higher_is_better, function(broker, scale) -> value).
def workloads(scale: float, use_kafka_tools: bool) -> list[tuple[str, str, str, bool, object]]:
    n = lambda base: max(1000, int(base * scale))  # noqa: E731

    # One producer run per broker process and setting serves both its records/s row
    # and its MB/s row; the broker CPU row goes with the records/s row.
    def produce(acks: str, compression: str, size: int = 1024, producers: int = 1, key: str = "records_per_sec"):
        def run(b: Broker, topic: str) -> float:
            def measure() -> dict:
                create_topic(b.bootstrap, topic)
                records = n(VOLUME_1K * 1024 // size)  # the same volume at every record size
                if use_kafka_tools and producers == 1:
                    return costed(b, records * size, lambda: producer_perf(
                        b.bootstrap, topic, records, size, acks, compression))
                return costed(b, records * size, lambda: strom_bench(
                    "produce", "--bootstrap", b.bootstrap, "--topic", topic, "--records", str(records),
                    "--record-size", str(size), "--acks", acks, "--compression", compression,
                    "--producers", str(producers),
                ))
            return shared_run(b, ("produce", acks, compression, size, producers), key, "records_per_sec", measure)
        return run

    def consume(key: str):
        # One consumer run per broker process serves the whole-run row and the
        # fetch-phase row; the broker CPU row goes with the whole-run row.
        def run(b: Broker, topic: str) -> float:
            def measure() -> dict:
                create_topic(b.bootstrap, topic)
                records = n(VOLUME_1K)
                strom_bench("produce", "--bootstrap", b.bootstrap, "--topic", topic, "--records", str(records),
                            "--acks", "1")
                if use_kafka_tools:
                    return costed(b, records * 1024, lambda: consumer_perf(b.bootstrap, topic, records))
                # strom-bench assigns partitions without a group: its whole run is fetching.
                out = costed(b, records * 1024, lambda: strom_bench(
                    "consume", "--bootstrap", b.bootstrap, "--topic", topic, "--records", str(records)))
                return {**out, "fetch_mb_per_sec": out["mb_per_sec"]}
            return shared_run(b, "consume", key, "mb_per_sec", measure)
        return run

    def latency(q: str):
        def run(b: Broker, topic: str) -> float:
            # One latency run per broker process serves p50, p99 and p99.9 (no CPU row).
            def measure() -> dict:
                create_topic(b.bootstrap, topic)
                return strom_bench(
                    "latency", "--bootstrap", b.bootstrap, "--topic", topic, "--rate", "1000",
                    "--seconds", str(max(2, int(15 * scale))), "--acks", "all")
            return shared_run(b, "latency", q, None, measure)
        return run

    def memory_under_load(b: Broker, topic: str) -> float:
        create_topic(b.bootstrap, topic)
        peak = [0.0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], b.rss_mib())
                time.sleep(0.1)

        t = threading.Thread(target=sample)
        t.start()
        try:
            strom_bench("produce", "--bootstrap", b.bootstrap, "--topic", topic, "--records", str(n(500_000)),
                        "--acks", "1", "--producers", "4")
        finally:
            stop.set()
            t.join()
        return peak[0]

    return [
        ("produce-acks1", "producer, acks=1, 1 KiB", "records/s", True, produce("1", "none")),
        ("produce-acksall", "producer, acks=all, 1 KiB", "records/s", True, produce("all", "none")),
        ("produce-lz4", "producer, acks=1, lz4, 1 KiB", "records/s", True, produce("1", "lz4")),
        ("produce-mb", "producer, acks=1, 1 KiB", "MB/s", True, produce("1", "none", key="mb_per_sec")),
        ("consume", "consumer, 1 KiB", "MB/s", True, consume("mb_per_sec")),
        ("consume-fetch", "consumer, 1 KiB, after the group join", "MB/s", True, consume("fetch_mb_per_sec")),
        ("small-100b", "producer, acks=1, 100 B", "records/s", True, produce("1", "none", size=100)),
        ("producers-16", "16 producers, acks=1, 1 KiB", "records/s", True, produce("1", "none", producers=16)),
        ("e2e-p50", "end-to-end latency p50, 1000/s, acks=all", "ms", False, latency("p50_ms")),
        ("e2e-p99", "end-to-end latency p99, 1000/s, acks=all", "ms", False, latency("p99_ms")),
        ("e2e-p999", "end-to-end latency p99.9, 1000/s, acks=all", "ms", False, latency("p999_ms")),
        ("rss-load", "resident memory under load (peak)", "MiB", False, memory_under_load),
    ]


def started(system: str, workdir: Path) -> Broker:
    """A running broker on a fresh data dir; a second try if the first does not
    come up (a JVM broker once failed to start in a long run)."""
    try:
        b = Broker(system, workdir)
        b.start()
    except RuntimeError as e:
        print(f"  {system} did not start, trying once more: {e}", flush=True)
        b = Broker(system, workdir)
        b.start()
    return b


def startup_ms(system: str, workdir: Path) -> float:
    """Restart on an initialised, empty data dir: spawn -> first acknowledged record."""
    b = started(system, workdir)
    b.stop()
    exe = bin_path("STROM_BENCH_BIN", TARGET / "release/strom-bench")
    out = subprocess.run([str(exe), "startup", "--", *b.command()], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"startup of {system} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["first_ack_ms"]


def report(results: dict, wl: list, systems: list[str], rounds: int, args, stamp: str, final: bool) -> None:
    """Writes (and rewrites, after every round, so that a failure later keeps what
    was measured) bench/results/<stamp>.md and .json; prints the table when final."""
    rows = [(w[0], w[1], w[2], w[3]) for w in wl] + [
        (f"{w[0]}-cpu", f"broker CPU, {w[1]}", "CPU-s/GB", False) for w in wl if f"{w[0]}-cpu" in results
    ] + [
        ("rss-idle", "resident memory at idle", "MiB", False),
        ("startup", "start-up to first acknowledged record", "ms", False),
    ]
    table = []
    for wid, label, unit, higher in rows:
        med = {s: statistics.median(v) for s, v in results[wid].items() if v}
        ratio = None
        if "kafka" in med and RATIO_SYSTEM in med and med["kafka"] > 0:
            ratio = med[RATIO_SYSTEM] / med["kafka"]
        table.append({"id": wid, "label": label, "unit": unit, "higher_is_better": higher,
                      "median": med, "samples": results[wid], "ratio": ratio})

    header = ["workload", "unit"] + [SYSTEMS[s][0] for s in systems] + ["Strom (page cache) / Kafka"]
    md = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in table:
        cells = [row["label"], row["unit"]] + [f"{row['median'].get(s, float('nan')):.2f}" for s in systems]
        cells.append("" if row["ratio"] is None else f"{row['ratio']:.2f}× ({'higher' if row['higher_is_better'] else 'lower'} is better)")
        md.append("| " + " | ".join(cells) + " |")
    if final:
        print("\n".join(md))
    meta = {
        "when": stamp, "rounds": rounds, "smoke": args.smoke, "machine": platform.platform(),
        "cpus": os.cpu_count(), "durability": {s: SYSTEMS[s][1] for s in systems},
        "warmup_seconds": 0 if args.smoke else args.warmup_seconds,
    }
    how = (f"an unmeasured warm-up of {meta['warmup_seconds']:g} s on each broker first"
           if meta["warmup_seconds"] else "no warm-up (cold brokers)") + \
        ", workload order rotating by round, sync(2) before each workload"
    if not args.smoke:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{stamp}.json").write_text(json.dumps({"meta": meta, "rows": table}, indent=2))
        text = [f"# Strom vs Apache Kafka, {stamp}", "",
                f"{rounds} rounds, systems alternating; {how}; medians. "
                f"Machine: {meta['machine']}, {meta['cpus']} CPUs.", "",
                "Durability:", ""] + [f"- **{SYSTEMS[s][0]}**: {SYSTEMS[s][1]}." for s in systems] + ["", *md, ""]
        (args.out / f"{stamp}.md").write_text("\n".join(text))
        print(f"wrote {args.out}/{stamp}.md and .json ({rounds} of {args.rounds} rounds)", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="Strom vs Apache Kafka benchmarks")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--systems", default="strom,strom-pagecache,kafka")
    ap.add_argument("--only", help="comma-separated workload ids")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round, no JVM tools (CI)")
    ap.add_argument("--out", type=Path, default=REPO / "bench/results")
    ap.add_argument("--warmup-seconds", type=float, default=60,
                    help="unmeasured load on each broker before its first workload (0: measure cold)")
    ap.add_argument("--no-warmup", action="store_true", help="the same as --warmup-seconds 0")
    args = ap.parse_args()
    if args.no_warmup:
        args.warmup_seconds = 0

    systems = args.systems.split(",")
    for s in systems:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s}")
    scale = 0.01 if args.smoke else 1.0
    rounds = 1 if args.smoke else args.rounds
    use_kafka_tools = not args.smoke
    wl = workloads(scale, use_kafka_tools)
    if args.only:
        keep = set(args.only.split(","))
        wl = [w for w in wl if w[0] in keep]

    results: dict[str, dict[str, list[float]]] = {w[0]: {s: [] for s in systems} for w in wl}
    results["rss-idle"] = {s: [] for s in systems}
    results["startup"] = {s: [] for s in systems}
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    work = Path(tempfile.mkdtemp(prefix="strom-bench-"))
    try:
        for r in range(rounds):
            order = systems if r % 2 == 0 else list(reversed(systems))
            for s in order:
                print(f"round {r + 1}/{rounds}: {SYSTEMS[s][0]}", flush=True)
                results["startup"][s].append(startup_ms(s, work))
                b = started(s, work)
                try:
                    time.sleep(2)  # let the JVM settle before sampling idle memory
                    results["rss-idle"][s].append(b.rss_mib())
                    if use_kafka_tools and args.warmup_seconds > 0:
                        warm_up(b, f"bench-warmup-{r}", args.warmup_seconds)
                    # Each round starts at another workload, so no workload always
                    # runs first (cold) or last (after the most data was written).
                    shift = r % len(wl)
                    for wid, label, unit, _, fn in wl[shift:] + wl[:shift]:
                        # Earlier workloads' dirty pages go to disk first, so the
                        # kernel's writeback of them does not land in this one.
                        os.sync()
                        b.cost = None
                        value = fn(b, f"bench-{wid}-{r}")
                        drop_bench_topics(b.bootstrap)
                        results[wid][s].append(value)
                        print(f"  {label:45} {value:12.2f} {unit}", flush=True)
                        if b.cost is not None:
                            results.setdefault(f"{wid}-cpu", {x: [] for x in systems})[s].append(b.cost)
                            print(f"  {'  broker CPU':45} {b.cost:12.2f} CPU-s/GB", flush=True)
                finally:
                    b.stop()
            if r + 1 < rounds:
                report(results, wl, systems, r + 1, args, stamp, final=False)
        report(results, wl, systems, rounds, args, stamp, final=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
