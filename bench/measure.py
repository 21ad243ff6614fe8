#!/usr/bin/env python3
"""Measures a running pgmon (started here) and, when installed, prometheus-postgres-exporter
against the bench database prepared by bench/run.sh. Standard library only.

Figures: each loop's wall time (p50/max, from the agent's /healthz after every run), the
database time the agent's role consumed per statement and per loop (pg_stat_statements, counted
from after every loop's first run: the steady state), that time at the shipped intervals per
15 s beside the exporter's per default scrape, /metrics latency under wrk, series and bytes per
scrape, agent RSS and CPU, time to the first healthy /healthz. With --soak: default intervals
for the whole duration, and RSS, series, open connections and loop times at start and end.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time, urllib.request

PGMON_PORT = int(os.environ.get("BENCH_PGMON_PORT", "18199"))
PGMON_BIN = os.environ.get("BENCH_PGMON_BIN", "./target/release/pgmon")
EXPORTER_PORT = 19187
# Shortened so every loop runs several times within the bench; wall time per run does not
# depend on the interval. The default-interval DB cost is extrapolated from these runs.
BENCH_INTERVALS = {"hot_path": "5s", "workload": "10s", "storage": "30s", "hourly": "60s"}
DEFAULT_RUNS_PER_HOUR = {"hot_path": 240, "workload": 60, "storage": 6, "hourly": 1}
DEFAULT_INTERVALS = {"hot_path": "15s", "workload": "60s", "storage": "10m", "hourly": "1h"}
TARGET_SECONDS = {"hot_path": 0.1, "workload": 0.3, "storage": 2.0, "hourly": 5.0}


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


class Db:
    def __init__(self, args):
        self.cmd = (["runuser", "-u", "postgres", "--"] if args.as_postgres else []) + [
            args.psql, "-X", "-q", "-A", "-t", "-h", args.socket_dir, "-p", str(args.port), "-U", "postgres", "-d", "bench"]

    def scalar(self, sql):
        out = subprocess.run(self.cmd + ["-c", sql], check=True, capture_output=True, text=True).stdout.strip()
        return float(out) if out else 0.0

    def rows(self, sql):
        out = subprocess.run(self.cmd + ["-F", "\x1f", "-c", sql], check=True, capture_output=True, text=True).stdout
        return [line.split("\x1f") for line in out.splitlines() if line]

    def reset_role(self, role):
        subprocess.run(self.cmd + ["-c", f"SELECT pg_stat_statements_reset('{role}'::regrole)"], check=True, capture_output=True)

    def statements(self, role):
        """Per statement the role ran: calls, exec+plan ms, shared blocks hit and read, text."""
        rows = self.rows(f"""SELECT calls, total_exec_time + total_plan_time, shared_blks_hit, shared_blks_read,
                                    regexp_replace(query, '\\s+', ' ', 'g')
                               FROM pg_stat_statements WHERE userid = '{role}'::regrole""")
        return [{"calls": int(r[0]), "total_ms": float(r[1]), "shared_blks_hit": int(r[2]),
                 "shared_blks_read": int(r[3]), "query": r[4]} for r in rows]

    def scalar_int(self, sql):
        return int(self.scalar(sql))

    def role_ms(self, role):
        """Total execution time (ms) of every statement the role ran, and how many calls."""
        t = self.scalar(f"SELECT COALESCE(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements WHERE userid = '{role}'::regrole")
        return t


def proc_stats(pid):
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kb * 1024, cpu_s


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def wrk(url, seconds=15):
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url], capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            v = parts[1]
            scale = 1e-6 if v.endswith("us") else 1e-3 if v.endswith("ms") else 1.0
            res["p50_seconds" if parts[0] == "50%" else "p99_seconds"] = float(v.rstrip("usm")) * scale
        if line.startswith("Requests/sec:"):
            res["requests_per_second"] = float(parts[1])
    return res


def exposition(url):
    status, body = http_get(url, timeout=60)
    lines = [l for l in body.decode(errors="replace").splitlines() if l and not l.startswith("#")]
    return {"series": len(lines), "bytes": len(body)}


def normalized(sql):
    """Whitespace collapsed and every constant or parameter as `?`: pg_stat_statements shows the
    agent's SQL with its constants replaced by $n, the agent's /api/v1/sql shows them."""
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(r"(?:[EUBX]&?)?'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\$\d+", "?", sql)
    sql = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", "?", sql)
    return sql


def attribute(statements, sql_by_loop):
    """Each statement's loops: every loop whose SQL matches it by the longest prefix (a statement
    two loops run, such as the relation sizes the hourly loop reuses, belongs to both)."""
    known = [(normalized(q["sql"]), loop, q["collector"]) for loop, qs in sql_by_loop.items() for q in qs]
    for st in statements:
        text = normalized(st["query"])
        best, loops = 0, []
        for sql, loop, collector in known:
            n = 0
            for a, b in zip(text, sql):
                if a != b:
                    break
                n += 1
            if n < min(60, len(sql)):
                continue
            if n > best:
                best, loops = n, [loop]
            elif n == best and loop not in loops:
                loops.append(loop)
        st["loops"] = loops or ["session"]
        st["loop"] = "+".join(st["loops"])


def poll_runs(runs, body):
    for name, loop in json.loads(body).get("loops", {}).items():
        if loop.get("last_run_at") and loop.get("last_duration_seconds") is not None:
            runs.setdefault(name, {})[loop["last_run_at"]] = loop["last_duration_seconds"]


def run_pgmon(args, db):
    env = dict(os.environ, PGMON_DSN=f"postgres://pgmon_bench:bench@127.0.0.1:{args.port}/bench?sslmode=disable",
               PGMON_HTTP__BIND=f"127.0.0.1:{PGMON_PORT}", PGMON_CLUSTER="bench", RUST_LOG="warn")
    for loop, every in BENCH_INTERVALS.items():
        env[f"PGMON_SAMPLE_INTERVALS__{loop.upper()}"] = every
    env.pop("PGMON_CONFIG", None)
    started = time.monotonic()
    proc = subprocess.Popen([PGMON_BIN], env=env, stdout=subprocess.DEVNULL)
    first_healthy = None
    while time.monotonic() - started < 60:
        status, _ = http_get(f"http://127.0.0.1:{PGMON_PORT}/healthz", timeout=2)
        if status == 200:
            first_healthy = time.monotonic() - started
            break
        time.sleep(0.05)
    # Steady state: every loop's first run (a new session builds its catalog caches: on 10k
    # tables that first storage run costs several times a later one) is left out of the
    # database time, which counts from a reset of the role's statements after it.
    warm = {}
    while len(warm) < len(BENCH_INTERVALS) and time.monotonic() - started < 180:
        _, body = http_get(f"http://127.0.0.1:{PGMON_PORT}/healthz", timeout=5)
        if body:
            poll_runs(warm, body)
        time.sleep(0.5)
    db.reset_role("pgmon_bench")
    runs = {loop: {} for loop in BENCH_INTERVALS}
    seen_before = {name: set(v) for name, v in warm.items()}
    rss, cpu_start = [], proc_stats(proc.pid)[1]
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.duration:
        status, body = http_get(f"http://127.0.0.1:{PGMON_PORT}/healthz", timeout=5)
        if body:
            poll_runs(runs, body)
        rss.append(proc_stats(proc.pid)[0])
        time.sleep(1)
    elapsed = time.monotonic() - t0
    cpu = proc_stats(proc.pid)[1] - cpu_start
    for name in runs:
        for at in seen_before.get(name, ()):
            runs[name].pop(at, None)
    statements = db.statements("pgmon_bench")
    db_ms = sum(st["total_ms"] for st in statements)
    _, sql_body = http_get(f"http://127.0.0.1:{PGMON_PORT}/api/v1/sql")
    attribute(statements, json.loads(sql_body)["loops"] if sql_body else {})
    run_elapsed = elapsed
    scrape = exposition(f"http://127.0.0.1:{PGMON_PORT}/metrics")
    latency = wrk(f"http://127.0.0.1:{PGMON_PORT}/metrics")
    _, health = http_get(f"http://127.0.0.1:{PGMON_PORT}/healthz")
    proc.terminate()
    proc.wait(timeout=10)
    loops = {}
    for name, by_run in runs.items():
        values = list(by_run.values())
        loops[name] = {"runs": len(values), "p50_seconds": percentile(values, 0.5), "max_seconds": max(values) if values else None,
                       "target_seconds": TARGET_SECONDS[name]}
    # Database time per run of each loop (pg_stat_statements), then at the shipped intervals.
    # Statements no loop's SQL matches (session set-up, capability and read-only checks) are
    # counted as often as the hot path runs: an upper bound.
    per_loop = {}
    for st in statements:
        if len(st["loops"]) == 1:
            per_loop[st["loops"][0]] = per_loop.get(st["loops"][0], 0.0) + st["total_ms"]
        else:
            # Shared by several loops: once per run of each, at its mean.
            mean = st["total_ms"] / max(1, st["calls"])
            for name in st["loops"]:
                per_loop[name] = per_loop.get(name, 0.0) + mean * loops.get(name, {}).get("runs", 0)
    db_ms_per_run = {name: per_loop.get(name, 0.0) / max(1, loops[name]["runs"]) for name in loops}
    session_ms_per_hot_run = per_loop.get("session", 0.0) / max(1, loops["hot_path"]["runs"])
    db_ms_per_hour = sum(db_ms_per_run[l] * DEFAULT_RUNS_PER_HOUR[l] for l in loops) + session_ms_per_hot_run * DEFAULT_RUNS_PER_HOUR["hot_path"]
    for name in loops:
        loops[name]["db_ms_per_run"] = db_ms_per_run[name]
    statements.sort(key=lambda st: -st["total_ms"])
    # DB time is at most wall time (one backend per run): an upper bound at default intervals.
    default_db_fraction = sum((loops[l]["p50_seconds"] or 0) * DEFAULT_RUNS_PER_HOUR[l] for l in loops) / 3600
    return {
        "db_ms_per_15s_at_shipped_intervals": db_ms_per_hour / 240,
        "db_time_percent_of_core_at_shipped_intervals": 100 * db_ms_per_hour / 3_600_000,
        "session_ms_per_hot_path_run": session_ms_per_hot_run,
        "statements": statements,
        "first_healthy_seconds": first_healthy,
        "loops": loops,
        "db_time_percent_of_core_at_bench_intervals": 100 * db_ms / 1000 / run_elapsed,
        "db_time_percent_of_core_default_intervals_upper_bound": 100 * default_db_fraction,
        "rss_bytes_max": max(rss) if rss else None,
        "rss_bytes_last": rss[-1] if rss else None,
        "cpu_percent_of_core": 100 * cpu / elapsed,
        "metrics": {**scrape, "latency": latency},
        "healthz_status_at_end": json.loads(health).get("status") if health else None,
    }


def run_soak(args, db):
    """Default intervals for the whole duration; RSS, series, the agent's open connections, each
    loop's last run time and the database time it reports, sampled every 10 s, compared between
    the first and the last tenth of the run (the first five minutes excluded from neither)."""
    env = dict(os.environ, PGMON_DSN=f"postgres://pgmon_bench:bench@127.0.0.1:{args.port}/bench?sslmode=disable",
               PGMON_HTTP__BIND=f"127.0.0.1:{PGMON_PORT}", PGMON_CLUSTER="bench", RUST_LOG="warn")
    env.pop("PGMON_CONFIG", None)
    proc = subprocess.Popen([PGMON_BIN], env=env, stdout=subprocess.DEVNULL)
    samples, runs = [], {}
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < args.duration:
            _, body = http_get(f"http://127.0.0.1:{PGMON_PORT}/api/v1/health", timeout=5)
            health = json.loads(body) if body else {}
            poll_runs(runs, body) if body else None
            _, metrics = http_get(f"http://127.0.0.1:{PGMON_PORT}/metrics", timeout=5)
            series = len([l for l in metrics.decode(errors="replace").splitlines() if l and not l.startswith("#")])
            conns = db.scalar_int("SELECT count(*) FROM pg_stat_activity WHERE usename = 'pgmon_bench'")
            db_per_hour = sum((l.get("db_seconds_per_hour") or 0) for l in health.get("loops", {}).values())
            samples.append({"t": time.monotonic() - t0, "rss": proc_stats(proc.pid)[0], "series": series,
                            "connections": conns, "db_seconds_per_hour": db_per_hour,
                            "last": {n: l.get("last_duration_seconds") for n, l in health.get("loops", {}).items()}})
            time.sleep(10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    tenth = args.duration / 10

    def window(part):
        return [s for s in samples if (s["t"] < tenth if part == "start" else s["t"] >= args.duration - tenth)]

    def summary(part):
        w = window(part)
        return {
            "rss_bytes_max": max(s["rss"] for s in w),
            "series_max": max(s["series"] for s in w),
            "connections_max": max(s["connections"] for s in w),
            "db_seconds_per_hour_last": w[-1]["db_seconds_per_hour"],
            "loop_seconds_p50": {n: percentile([s["last"].get(n) for s in w if s["last"].get(n) is not None], 0.5)
                                 for n in DEFAULT_INTERVALS},
        }

    return {"duration_seconds": args.duration, "start": summary("start"), "end": summary("end"),
            "runs": {n: len(v) for n, v in runs.items()},
            "rss_bytes_max": max(s["rss"] for s in samples), "samples": samples}


def run_exporter(args, db):
    exe = shutil.which("prometheus-postgres-exporter")
    if not exe:
        return None
    env = dict(os.environ, DATA_SOURCE_NAME=f"postgresql://exporter_bench:bench@127.0.0.1:{args.port}/bench?sslmode=disable")
    proc = subprocess.Popen([exe, f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if http_get(f"http://127.0.0.1:{EXPORTER_PORT}/metrics", timeout=30)[0] == 200:
                break
            time.sleep(0.1)
        db.reset_role("exporter_bench")
        times = []
        for _ in range(20):
            t = time.monotonic()
            http_get(f"http://127.0.0.1:{EXPORTER_PORT}/metrics", timeout=60)
            times.append(time.monotonic() - t)
        db_ms_per_scrape = db.role_ms("exporter_bench") / 20
        rss = proc_stats(proc.pid)[0]
        scrape = exposition(f"http://127.0.0.1:{EXPORTER_PORT}/metrics")
        return {
            "scrape_seconds_p50": percentile(times, 0.5),
            "scrape_seconds_max": max(times),
            "db_ms_per_scrape": db_ms_per_scrape,
            "db_time_percent_of_core_at_15s_scrapes": 100 * db_ms_per_scrape * 4 / 60000,
            "rss_bytes": rss,
            "metrics": scrape,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "s":
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "B":
        return f"{v / 1048576:.1f} MiB"
    if unit == "%":
        return f"{v:.4f} %"
    return str(v)


def main():
    p = argparse.ArgumentParser()
    for flag in ("--scale", "--socket-dir", "--psql"):
        p.add_argument(flag, required=True)
    for flag in ("--duration", "--port", "--tables", "--partitions", "--statements", "--sessions"):
        p.add_argument(flag, type=int, required=True)
    p.add_argument("--as-postgres", action="store_true")
    p.add_argument("--soak", action="store_true", help="default intervals for --duration seconds; no exporter")
    args = p.parse_args()
    db = Db(args)
    if args.soak:
        soak = run_soak(args, db)
        os.makedirs("bench/out", exist_ok=True)
        path = f"bench/out/soak-{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.json"
        with open(path, "w") as f:
            json.dump(soak, f, indent=2)
        print(f"\nsoak: {args.duration}s at the default intervals, runs {soak['runs']}\n")
        print("| figure | first tenth | last tenth |\n| --- | --- | --- |")
        a, b = soak["start"], soak["end"]
        print(f"| RSS (max) | {fmt(a['rss_bytes_max'], 'B')} | {fmt(b['rss_bytes_max'], 'B')} |")
        print(f"| series | {a['series_max']} | {b['series_max']} |")
        print(f"| agent connections | {a['connections_max']} | {b['connections_max']} |")
        print(f"| DB time the agent reports, s an hour | {a['db_seconds_per_hour_last']:.3f} | {b['db_seconds_per_hour_last']:.3f} |")
        for n in DEFAULT_INTERVALS:
            print(f"| {n} last run (p50) | {fmt(a['loop_seconds_p50'][n], 's')} | {fmt(b['loop_seconds_p50'][n], 's')} |")
        print(f"\nwritten {path}")
        return 0
    result = {
        "scale": args.scale,
        "catalog": {"tables": args.tables, "partitions": args.partitions, "statements": args.statements, "sessions": args.sessions},
        "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
        "postgres": subprocess.run(db.cmd + ["-c", "SHOW server_version"], capture_output=True, text=True).stdout.strip(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "bench_intervals": BENCH_INTERVALS,
        "duration_seconds": args.duration,
    }
    result["pgmon"] = run_pgmon(args, db)
    result["postgres_exporter"] = run_exporter(args, db)
    os.makedirs("bench/out", exist_ok=True)
    path = f"bench/out/{args.scale}-{result['time']}.json"
    with open(path, "w") as f:
        json.dump(result, f, indent=2)

    m, e = result["pgmon"], result["postgres_exporter"]
    print(f"\npgmon bench ({args.scale}: {args.tables} tables, {args.partitions} partitions, {args.statements} statements, "
          f"{args.sessions} sessions; PostgreSQL {result['postgres']}; {args.duration}s)\n")
    print("| loop | runs | p50 | max | target | DB time per run |\n| --- | --- | --- | --- | --- | --- |")
    for name, l in m["loops"].items():
        print(f"| {name} | {l['runs']} | {fmt(l['p50_seconds'], 's')} | {fmt(l['max_seconds'], 's')} | {fmt(l['target_seconds'], 's')} | {l['db_ms_per_run']:.2f} ms |")
    print(f"\nsession set-up and checks: {m['session_ms_per_hot_path_run']:.3f} ms per hot-path run")
    shipped = m["db_ms_per_15s_at_shipped_intervals"]
    print(f"\nDB time at the shipped intervals: {shipped:.2f} ms per 15 s ({m['db_time_percent_of_core_at_shipped_intervals']:.4f} % of one core)")
    if e:
        print(f"postgres_exporter: {e['db_ms_per_scrape']:.2f} ms per default scrape (every 15 s): pgmon / exporter = {shipped / e['db_ms_per_scrape']:.3f}")
    print("\n| statement (agent's role) | loop | calls | total | mean | shared hit | shared read |\n| --- | --- | --- | --- | --- | --- | --- |")
    for st in m["statements"][:25]:
        mean = st["total_ms"] / max(1, st["calls"])
        print(f"| `{st['query'][:70]}` | {st['loop']} | {st['calls']} | {st['total_ms']:.1f} ms | {mean:.3f} ms | {st['shared_blks_hit']} | {st['shared_blks_read']} |")
    lat = m["metrics"]["latency"] or {}
    print("\n| figure | pgmon | postgres_exporter |\n| --- | --- | --- |")
    rows = [
        ("time to first healthy /healthz", fmt(m["first_healthy_seconds"], "s"), "n/a"),
        ("DB time, % of one core (bench intervals)", fmt(m["db_time_percent_of_core_at_bench_intervals"], "%"),
         fmt(e and e["db_time_percent_of_core_at_15s_scrapes"], "%") + " (15 s scrapes)" if e else "n/a"),
        ("DB time, % of one core (default intervals, upper bound)", fmt(m["db_time_percent_of_core_default_intervals_upper_bound"], "%"), ""),
        ("/metrics latency p50 / p99 (wrk, 8 connections)", f"{fmt(lat.get('p50_seconds'), 's')} / {fmt(lat.get('p99_seconds'), 's')} at {lat.get('requests_per_second', 'n/a')} req/s",
         f"{fmt(e['scrape_seconds_p50'], 's')} / max {fmt(e['scrape_seconds_max'], 's')} (sequential)" if e else "n/a"),
        ("series / bytes per scrape", f"{m['metrics']['series']} / {m['metrics']['bytes']}", f"{e['metrics']['series']} / {e['metrics']['bytes']}" if e else "n/a"),
        ("RSS (max)", fmt(m["rss_bytes_max"], "B"), fmt(e["rss_bytes"], "B") if e else "n/a"),
        ("agent CPU, % of one core", f"{m['cpu_percent_of_core']:.2f} %", "n/a"),
    ]
    for row in rows:
        print(f"| {' | '.join(row)} |")
    if e:
        print(f"\nratios pgmon/exporter: RSS {m['rss_bytes_max'] / e['rss_bytes']:.2f}, series {m['metrics']['series'] / max(1, e['metrics']['series']):.2f}")
    print(f"\nwritten {path}")


if __name__ == "__main__":
    sys.exit(main())
