#!/usr/bin/env python3
"""Runs every benchmark of the project that is built, in one go, and writes
one report: a table on stdout, report.json, github-action-benchmark files and
SVG plots. With --compare it gates on a baseline report.

Only same-run ratios and callgrind instruction counts are gated: wall-clock
times move with whatever else the machine runs, so they are reported, never
compared across runs.

Usage: bench/run.py [--quick | --full] [--out DIR] [--build DIR] [--only PARTS]
                    [--report FILE] [--compare BASELINE.json --max-regression PCT]
PARTS: comma-separated from state, codec, instr, pool, omop, docker, qap, http
(--quick: all but docker). --report FILE skips running and takes FILE as this
run's report (to compare two reports that exist). Exit status: 0; 1 when a
part failed or a gated figure regressed; 2 on usage errors."""
import argparse
import datetime
import glob
import html
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANALYSES = os.path.join(SOURCE, "bench", "omop", "analyses")
SDK = os.path.join(SOURCE, "tests", "node", "node_modules", "@modelcontextprotocol", "sdk")
IMAGE = os.environ.get("DOCKER_IMAGE", "omcp-r-sandbox:latest")
CDM_DIR = os.environ.get("OMCP_BENCH_CDM_DIR", "/var/lib/omcp-rproxy/cdm")
SANDBOX_USER = "omcp-sandbox"
LABEL = "org.omcp.pool"

# The CDMs the OMOP comparison runs on. Each names its parameter values for
# the analyses, the settings the daemon needs to serve it, and the R that
# opens it in a fresh connection (the reference arm). A PostgreSQL CDM is
# one more entry: kind "postgres", its daemon settings (DB_HOST, DB_PORT,
# DB_SANDBOX_USER, ...) in "env", and "quick": False to keep it out of CI.
OMOP_CDMS = [
    {"name": "synthetic", "kind": "sqlite", "quick": True,
     "params": {"condition_concept_id": 320128, "ancestor_concept_id": 134057},
     "env": {}},
]

# The arms of the OMOP comparison, in report order: the proxy over each MCP
# transport, direct Rserve on warm slots, and the reference's way.
OMOP_ARMS = ["proxy-stdio", "proxy-http", "direct", "reference"]

# Gated figures: (pattern on the figure name, which number is compared,
# target printed beside it or None). Ratios are bigger-is-better; a drop of
# more than --max-regression percent fails. Instruction counts are
# smaller-is-better; a rise of more than that fails.
GATES = [
    (r"^pool: ratio cold / warm acquire$", "p50", None),
    (r"^pool: ratio fresh fork / warmed lease$", "p50", None),
    (r"^codec: ratio jsonlite/C ", "p50", 5.0),
    (r"^omop: ratio proxy-\w+/direct ", "value", 0.9),
    (r"^omop: ratio proxy-\w+/reference ", "value", 10.0),
    (r"^instr: ", "value", None),
]


def log(message):
    print("run.py: " + message, file=sys.stderr, flush=True)


# ---- figures ----

def quantile(values, q):
    """Nearest rank, as bench/samples.c computes it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(max(int(q * len(ordered) + 0.999999), 1), len(ordered))
    return ordered[rank - 1]


def samples_figure(name, unit, values):
    return {"name": name, "kind": "samples", "unit": unit,
            "p50": quantile(values, 0.5), "p90": quantile(values, 0.9),
            "p99": quantile(values, 0.99), "p999": quantile(values, 0.999),
            "max": quantile(values, 1.0), "count": len(values)}


def read_json_lines(path, part):
    """The lines a program appended through OMCP_BENCH_JSON, named by part."""
    figures = []
    if not os.path.exists(path):
        return figures
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            figure = json.loads(line)
            figure["name"] = "%s: %s" % (part, figure["name"])
            figure.setdefault("kind", "samples")
            figures.append(figure)
    return figures


def gate_of(name):
    for pattern, field, target in GATES:
        if re.search(pattern, name):
            return field, target
    return None, None


def mark_gates(figures):
    for figure in figures:
        field, target = gate_of(figure["name"])
        figure["gated"] = field is not None
        if field:
            figure["gate_field"] = field
        if target is not None:
            figure["target"] = target


# ---- running programs ----

class Run:
    """One run of the suite: where things are, what it found, what it skipped."""

    def __init__(self, args):
        self.args = args
        self.quick = not args.full
        self.build = args.build
        self.out = args.out
        self.work = tempfile.mkdtemp(prefix="omcp-bench-run-", dir="/var/tmp")
        self.figures = []
        self.skipped = []
        self.omop_rows = []  # (cdm, arm, c, analyses/s, latency figure)
        self.uid = None

    def binary(self, *parts):
        path = os.path.join(self.build, *parts)
        return path if os.access(path, os.X_OK) else None

    def skip(self, part, reason, cause="absent"):
        """A part that did not run, and why: "absent" (root, Docker, a tool
        this machine lacks), "unbuilt" (its program is not in the build) or
        "failed" (it ran and broke, which fails the run)."""
        log("%s %s: %s" % ("FAILED" if cause == "failed" else "skip", part, reason))
        self.skipped.append({"part": part, "reason": reason, "cause": cause})

    def program(self, part, argv, timeout, env=None):
        """Runs a benchmark program that reports through OMCP_BENCH_JSON;
        its own output goes to DIR/logs/PART.log."""
        jsonl = os.path.join(self.work, part + ".jsonl")
        if os.path.exists(jsonl):
            os.unlink(jsonl)
        full_env = dict(os.environ, OMCP_BENCH_JSON=jsonl, **(env or {}))
        logfile = os.path.join(self.out, "logs", part + ".log")
        began = time.monotonic()
        with open(logfile, "a") as out:
            out.write("$ %s\n" % " ".join(argv))
            out.flush()
            try:
                status = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                        timeout=timeout, start_new_session=True).returncode
            except subprocess.TimeoutExpired:
                status = "timeout"
        log("%s: %s in %.0f s (log: %s)" % (part, "done" if status == 0 else "failed (%s)" % status,
                                            time.monotonic() - began, logfile))
        if status != 0:
            self.skip(part, "%s exited %s; see %s" % (os.path.basename(argv[0]), status, logfile),
                      "failed")
        return read_json_lines(jsonl, part.split("-")[0]) if status == 0 else []

    def pool_ready(self):
        """None when the pool can run here, else why not."""
        if os.geteuid() != 0:
            return "needs root (slot directories change owner)"
        if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
            return "no Docker engine or no image %s" % IMAGE
        try:
            self.uid = int(subprocess.run(["id", "-u", SANDBOX_USER], capture_output=True,
                                          text=True, check=True).stdout)
        except (subprocess.CalledProcessError, ValueError):
            return "no sandbox account %s" % SANDBOX_USER
        return None

    def remove_containers(self):
        """Every container whose pool label lies under this run's directory."""
        listing = subprocess.run(["docker", "ps", "-a", "--format",
                                  '{{.ID}} {{.Label "%s"}}' % LABEL],
                                 capture_output=True, text=True).stdout
        ids = [line.split()[0] for line in listing.splitlines()
               if len(line.split()) == 2 and line.split()[1].startswith(self.work)]
        if ids:
            subprocess.run(["docker", "rm", "-f"] + ids, capture_output=True)

    def cleanup(self):
        if shutil.which("docker"):
            self.remove_containers()
        subprocess.run(["rm", "-rf", "--one-file-system", self.work])


# ---- the parts ----

def part_state(run):
    binary = run.binary("bench", "omcp-bench-state")
    if not binary:
        return run.skip("state", "omcp-bench-state not built", "unbuilt")
    directory = os.path.join(run.work, "state")
    os.makedirs(directory)
    run.figures += run.program("state", [binary, directory], 300)


def part_codec(run):
    binary = run.binary("bench", "omcp-bench-codec")
    if not binary:
        return run.skip("codec", "omcp-bench-codec not built", "unbuilt")
    rserve = subprocess.run(["Rscript", "-e", 'cat(system.file(package = "Rserve"))'],
                            capture_output=True, text=True) if shutil.which("Rscript") else None
    if not rserve or not rserve.stdout:
        return run.skip("codec", "R with the Rserve package is not installed on the host")
    argv = [os.path.join(SOURCE, "bench", "codec.sh")] + (["--quick"] if run.quick else [])
    run.figures += run.program("codec", argv + [binary], 900)


def part_instr(run):
    binary = run.binary("bench", "omcp-bench-instr")
    if not binary:
        return run.skip("instr", "omcp-bench-instr not built", "unbuilt")
    if not shutil.which("valgrind"):
        return run.skip("instr", "valgrind is not installed")
    listing = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout
    iterations = 10  # the same in every mode, so any two reports compare
    for line in listing.splitlines():
        name, what = line.split("\t", 1)
        out = os.path.join(run.work, "callgrind.%s" % name)
        argv = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                "--toggle-collect=instr_measure", "--callgrind-out-file=" + out,
                binary, name, str(iterations)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        total = None
        if proc.returncode == 0 and os.path.exists(out):
            with open(out) as f:
                match = re.search(r"^totals:\s+(\d+)", f.read(), re.M)
            total = int(match.group(1)) if match else None
        if total is None:
            run.skip("instr", "callgrind gave no total for %s: %s" % (name, proc.stderr[-300:]),
                     "failed")
            continue
        run.figures.append({"name": "instr: %s" % name, "kind": "instructions",
                            "unit": "instructions", "value": total / iterations,
                            "better": "smaller", "what": what})
        log("instr: %s %d instructions per iteration" % (name, total // iterations))


def part_pool(run):
    binary = run.binary("bench", "omcp-bench-pool")
    if not binary:
        return run.skip("pool", "omcp-bench-pool not built", "unbuilt")
    why = run.pool_ready()
    if why:
        return run.skip("pool", why)
    argv = [binary, "--uid", str(run.uid), "--cdm-dir", CDM_DIR, "--image", IMAGE,
            "--work", os.path.join(run.work, "pool")]
    # CI runs only the parts its gated ratios need; sustained rates and
    # start rates take minutes and are reported by --full.
    argv += ["--quick", "--only", "sequential,cold,fork"] if run.quick else []
    try:
        run.figures += run.program("pool", argv, 1800)
    finally:
        run.remove_containers()


def part_docker(run):
    binary = run.binary("bench", "omcp-bench-docker")
    if not binary:
        return run.skip("docker", "omcp-bench-docker not built", "unbuilt")
    why = run.pool_ready()
    if why:
        return run.skip("docker", why)
    run.figures += run.program("docker", [binary, "10"], 900)


def part_external(run, part, program):
    """Benchmarks of the other front ends join when they are built. They run
    the daemon themselves: they get [--quick] --daemon OMCP-RPROXY --uid UID,
    report through OMCP_BENCH_JSON, and find the rest of the pool's settings
    in OMCP_BENCH_UID, OMCP_BENCH_CDM_DIR, OMCP_BENCH_IMAGE, OMCP_BENCH_WORK."""
    binary = run.binary("bench", program)
    daemon = run.binary("proxy", "omcp-rproxy")
    if not binary or not daemon:
        return run.skip(part, "%s not built" % (program if not binary else "omcp-rproxy"),
                        "unbuilt")
    why = run.pool_ready()
    if why:
        return run.skip(part, why)
    env = {"OMCP_BENCH_UID": str(run.uid), "OMCP_BENCH_CDM_DIR": CDM_DIR,
           "OMCP_BENCH_IMAGE": IMAGE, "OMCP_BENCH_WORK": os.path.join(run.work, part)}
    argv = [binary] + (["--quick"] if run.quick else []) + ["--daemon", daemon, "--uid",
                                                            str(run.uid)]
    try:
        run.figures += run.program(part, argv, 1800, env)
    finally:
        run.remove_containers()


# ---- OMOP throughput ----

def analysis_header(path, key):
    with open(path) as f:
        match = re.search(r"^-- %s: (.+)$" % key, f.read(), re.M)
    return [t.strip() for t in match.group(1).split(",")] if match else []


def omop_workload(cdm):
    """The ten analyses for one CDM: per number, the plain variant when its
    tables have rows, else the first variant that has them (the .era files
    are for extracts without occurrences); parameters bound by name from the
    CDM's values, as tests/integration/cdm_shared.py binds them."""
    by_number = {}
    for path in sorted(glob.glob(os.path.join(ANALYSES, "*.sql"))):
        by_number.setdefault(os.path.basename(path)[:2], []).append(path)
    db = None
    if cdm["kind"] == "sqlite":
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(CDM_DIR, cdm["name"] + ".sqlite"),
                             uri=True)
    analyses = []
    for number, variants in sorted(by_number.items()):
        variants.sort(key=lambda p: ".era." in p)
        usable = [v for v in variants if db is None or all(
            db.execute("SELECT EXISTS (SELECT 1 FROM %s)" % t).fetchone()[0]
            for t in analysis_header(v, "requires"))]
        chosen = (usable or variants)[0]
        with open(chosen) as f:
            sql = f.read()
        names = set(re.findall(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)", sql))
        analyses.append({"name": os.path.basename(chosen)[:-4], "sql": sql,
                         "params": {k: v for k, v in cdm["params"].items() if k in names}})
    if db:
        db.close()
    return analyses


def daemon_env(run, cdm, state_dir, warm):
    env = dict(os.environ, STATE_DIR=state_dir, CDM_DIR=CDM_DIR, CDM_DEFAULT=cdm["name"],
               SANDBOX_UID=str(run.uid), DOCKER_IMAGE=IMAGE, POOL_MIN_IDLE=str(warm),
               MAX_SANDBOXES=str(warm), POOL_MAX_STARTING="4", LOG_LEVEL="warn",
               HTTP_LISTEN="", QAP_LISTEN="", **cdm["env"])
    env.pop("OMCP_BENCH_JSON", None)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_daemon(run, binary, env, log_path):
    """Starts the daemon with its Streamable HTTP listener; returns (process,
    URL), or None when this build has no HTTP (it says "not built", exits,
    or never answers on the port)."""
    port = free_port()
    out = open(log_path, "a")
    proc = subprocess.Popen([binary, "--http", "127.0.0.1:%d" % port], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(50):
        time.sleep(0.2)
        with open(log_path) as f:
            said = f.read()
        if proc.poll() is not None or "not built" in said:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, "http://127.0.0.1:%d/mcp" % port
        except OSError:
            continue
    stop_daemon(proc)
    return None


def stop_daemon(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def omop_mcp(run, cdm, arm, workload, widths, rounds):
    """Arm (a): the daemon over MCP, measured by the SDK client."""
    binary = run.binary("proxy", "omcp-rproxy")
    if not binary:
        return run.skip("omop %s" % arm, "omcp-rproxy not built", "unbuilt")
    if not shutil.which("node") or not os.path.isdir(SDK):
        return run.skip("omop %s" % arm, "node or the MCP SDK (tests/node) is missing")
    state_dir = os.path.join(run.work, "omop-%s-%s" % (arm, cdm["name"]))
    os.makedirs(state_dir)
    env = daemon_env(run, cdm, state_dir, max(widths))
    log_path = os.path.join(run.out, "logs", "omop-%s.log" % arm)
    daemon = None
    try:
        if arm == "proxy-http":
            # A probe with an empty pool first: no container starts for a
            # build that has no HTTP.
            probe_dir = os.path.join(run.work, "http-probe")
            os.makedirs(probe_dir)
            probe = http_daemon(run, binary, dict(env, STATE_DIR=probe_dir, POOL_MIN_IDLE="0",
                                                  MAX_SANDBOXES="1"), log_path)
            if probe:
                stop_daemon(probe[0])
            started = probe and http_daemon(run, binary, env, log_path)
            if not started:
                return run.skip("omop %s" % arm, "this omcp-rproxy serves no MCP over HTTP",
                                "unbuilt")
            daemon, url = started
            target = ["--http", url]
        else:
            target = ["--stdio", binary]
        argv = ["node", os.path.join(SOURCE, "bench", "omop_mcp.mjs"), SDK, workload,
                ",".join(map(str, widths)), str(rounds)] + target
        with open(log_path, "a") as err:
            proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                  timeout=3600)
        if proc.returncode != 0:
            return run.skip("omop %s" % arm, "the MCP client failed; see %s" % log_path,
                            "failed")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if daemon:
            stop_daemon(daemon)
        run.remove_containers()
    for w in report["widths"]:
        omop_figures(run, cdm, arm, w["c"], samples_figure("", "ms", w["latencies_ms"]),
                     samples_figure("", "ms", w["starts_ms"]),
                     len(w["latencies_ms"]) / w["seconds"] if w["seconds"] else 0.0,
                     w["failures"])


def omop_c(run, cdm, arm, workload, widths, rounds):
    """Arms (b) and (c): omcp-bench-omop on the pool, without the proxy."""
    binary = run.binary("bench", "omcp-bench-omop")
    if not binary:
        return run.skip("omop %s" % arm, "omcp-bench-omop not built", "unbuilt")
    argv = [binary, "--arm", arm, "--uid", str(run.uid), "--cdm-dir", CDM_DIR, "--cdm",
            cdm["name"], "--workload", workload, "--concurrency", ",".join(map(str, widths)),
            "--rounds", str(rounds), "--image", IMAGE,
            "--work", os.path.join(run.work, "omop-%s-%s" % (arm, cdm["name"]))]
    if cdm.get("connect"):
        argv += ["--connect", cdm["connect"]]
    try:
        figures = run.program("omop-%s" % arm, argv, 3600, cdm["env"])
    finally:
        run.remove_containers()
    named = {f["name"]: f for f in figures}
    for c in widths:
        prefix = "omop: omop %s c=%d " % (arm, c)
        if prefix + "throughput" not in named:
            continue
        failures = named.get(prefix + "failures", {}).get("value", 0)
        omop_figures(run, cdm, arm, c, named[prefix + "analysis"], named[prefix + "session start"],
                     named[prefix + "throughput"]["value"], failures)


def omop_figures(run, cdm, arm, c, latency, start, throughput, failures):
    base = "omop: %s %s c=%d " % (cdm["name"], arm, c)
    latency = dict(latency, name=base + "analysis", kind="samples")
    run.figures.append(latency)
    run.figures.append(dict(start, name=base + "session start", kind="samples"))
    run.figures.append({"name": base + "throughput", "kind": "value", "unit": "analyses/s",
                        "value": throughput, "better": "bigger"})
    if failures:
        run.figures.append({"name": base + "failures", "kind": "value", "unit": "analyses",
                            "value": failures, "better": "smaller"})
    run.omop_rows.append({"cdm": cdm["name"], "arm": arm, "c": c, "throughput": throughput,
                          "latency": latency, "failures": failures})


def omop_ratios(run):
    """proxy/direct and proxy/reference per CDM, transport and concurrency:
    value is the throughput ratio; p50 and p99 compare the analyses'
    latencies (the other arm's over the proxy's, so bigger is better too)."""
    rows = {(r["cdm"], r["arm"], r["c"]): r for r in run.omop_rows}
    for (cdm, arm, c), proxy in sorted(rows.items()):
        if not arm.startswith("proxy-"):
            continue
        for other in ("direct", "reference"):
            base = rows.get((cdm, other, c))
            if not base or not base["throughput"]:
                continue
            pl, bl = proxy["latency"], base["latency"]
            run.figures.append({
                "name": "omop: ratio %s/%s %s c=%d" % (arm, other, cdm, c), "kind": "ratio",
                "value": proxy["throughput"] / base["throughput"],
                "p50": bl["p50"] / pl["p50"] if pl["p50"] else None,
                "p99": bl["p99"] / pl["p99"] if pl["p99"] else None, "better": "bigger"})


def part_omop(run):
    why = run.pool_ready()
    if why:
        return run.skip("omop", why)
    widths = [1, 2, 4] if run.quick else [1, 2, 4, 8, 16]
    rounds = 2 if run.quick else 3
    for cdm in OMOP_CDMS:
        if run.quick and not cdm["quick"]:
            continue
        if cdm["kind"] == "sqlite" and not os.path.exists(
                os.path.join(CDM_DIR, cdm["name"] + ".sqlite")):
            run.skip("omop %s" % cdm["name"], "no %s/%s.sqlite" % (CDM_DIR, cdm["name"]))
            continue
        workload = os.path.join(run.work, "workload-%s.json" % cdm["name"])
        with open(workload, "w") as f:
            json.dump({"cdm": cdm["name"], "analyses": omop_workload(cdm)}, f, indent=1)
        shutil.copy(workload, run.out)
        for arm in OMOP_ARMS:
            log("omop: %s on %s, concurrency %s" % (arm, cdm["name"], widths))
            if arm.startswith("proxy-"):
                omop_mcp(run, cdm, arm, workload, widths, rounds)
            else:
                omop_c(run, cdm, arm, workload, widths, rounds)
    omop_ratios(run)


PARTS = [
    ("state", part_state),
    ("instr", part_instr),
    ("codec", part_codec),
    ("pool", part_pool),
    ("omop", part_omop),
    ("docker", part_docker),
    ("qap", lambda run: part_external(run, "qap", "omcp-bench-qap")),
    ("http", lambda run: part_external(run, "http", "omcp-bench-http")),
]
QUICK_PARTS = {"state", "instr", "codec", "pool", "omop", "qap", "http"}


# ---- output: table, JSON, github-action-benchmark, SVG ----

def number(v, width=10):
    if v is None:
        return "-".rjust(width)
    if abs(v) >= 1e6:
        return ("%.4g" % v).rjust(width)
    return ("%.3f" % v).rjust(width)


def print_table(report, out=sys.stdout):
    figures = report["figures"]
    w = max([len(f["name"]) for f in figures] + [20])
    print("\n%-*s %10s %10s %10s %10s %10s %7s  unit" % (w, "figure", "p50", "p90", "p99", "p99.9",
                                                       "max", "count"), file=out)
    for f in figures:
        if f["kind"] == "samples":
            print("%-*s %s %s %s %s %s %7d  %s" % (w, f["name"], number(f["p50"]), number(f["p90"]),
                                                   number(f["p99"]), number(f.get("p999")),
                                                   number(f["max"]), f["count"], f["unit"]),
                  file=out)
    print("\n%-*s %12s %10s %10s  %-6s %s" % (w, "figure", "value", "p50", "p99", "gated", "unit"),
          file=out)
    for f in figures:
        if f["kind"] == "samples":
            continue
        value = f.get("value")
        unit = f.get("unit", "x")
        target = " (target >= %g)" % f["target"] if "target" in f else ""
        print("%-*s %s %s %s  %-6s %s%s" % (w, f["name"], number(value, 12), number(f.get("p50")),
                                            number(f.get("p99")), "yes" if f.get("gated") else "",
                                            unit, target), file=out)
    for s in report["skipped"]:
        print("%s %s: %s" % ("FAILED" if s.get("cause") == "failed" else "skipped", s["part"],
                              s["reason"]),
              file=out)


def print_omop_table(report, out=sys.stdout):
    rows = report.get("omop", [])
    if not rows:
        return
    print("\nOMOP analyses (ten per session): analyses/s, and latency of one analysis (ms)",
          file=out)
    print("%-10s %-12s %3s %12s %9s %9s %9s %9s %6s" % ("cdm", "arm", "c", "analyses/s", "p50",
                                                       "p90", "p99", "max", "fail"), file=out)
    for r in rows:
        lat = r["latency"]
        print("%-10s %-12s %3d %12.2f %9.1f %9.1f %9.1f %9.1f %6d" % (
            r["cdm"], r["arm"], r["c"], r["throughput"], lat["p50"], lat["p90"], lat["p99"],
            lat["max"], r["failures"]), file=out)


def action_benchmark(report, directory):
    """github-action-benchmark input, one file per direction."""
    smaller, bigger = [], []
    for f in report["figures"]:
        if f["kind"] == "samples":
            smaller.append({"name": f["name"] + " p50", "unit": f["unit"], "value": f["p50"],
                            "extra": "p90=%g p99=%g p99.9=%g max=%g count=%d" % (
                                f["p90"], f["p99"], f.get("p999", 0), f["max"], f["count"])})
        elif f["kind"] == "ratio":
            value = f.get("value", f.get("p50"))
            if value is not None:
                bigger.append({"name": f["name"], "unit": "x", "value": value,
                               "extra": "gated" if f.get("gated") else ""})
        elif f.get("better") == "smaller":
            smaller.append({"name": f["name"], "unit": f["unit"], "value": f["value"],
                            "extra": "gated" if f.get("gated") else ""})
        else:
            bigger.append({"name": f["name"], "unit": f["unit"], "value": f["value"]})
    with open(os.path.join(directory, "benchmark-smaller.json"), "w") as f:
        json.dump(smaller, f, indent=1)
    with open(os.path.join(directory, "benchmark-bigger.json"), "w") as f:
        json.dump(bigger, f, indent=1)


SVG_FONT = 'font-family="sans-serif" font-size="11"'
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def svg_latency(report, path):
    """One row per latency figure on a log axis: a bar from p50 to p99 with
    marks at p50, p90, p99, p99.9 and max."""
    rows = [f for f in report["figures"] if f["kind"] == "samples" and f["count"] and f["max"] > 0]
    if not rows:
        return
    to_ms = {"ms": 1.0, "us": 1e-3}
    lo = min(max(f["p50"] * to_ms.get(f["unit"], 1), 1e-4) for f in rows)
    hi = max(f["max"] * to_ms.get(f["unit"], 1) for f in rows)
    lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    left, width, row_h, top = 330, 560, 16, 40
    height = top + row_h * len(rows) + 40

    def x(v):
        v = max(v, lo)
        return left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" %s>'
             % (left + width + 30, height, SVG_FONT),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="18" font-size="14">Latency per figure (ms, log scale): '
             'bar p50..p99, ticks p90 and p99.9, dot max</text>']
    decade = lo
    while decade <= hi * 1.0001:
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                     % (x(decade), top - 5, x(decade), height - 30))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>'
                     % (x(decade), height - 15, decade))
        decade *= 10
    for i, f in enumerate(rows):
        k = to_ms.get(f["unit"], 1)
        y = top + i * row_h
        colour = COLOURS[sum(f["name"].split(":")[0].encode()) % len(COLOURS)]
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                     % (left - 6, y + 11, html.escape(f["name"][:60])))
        parts.append('<rect x="%.1f" y="%d" width="%.1f" height="10" fill="%s" opacity="0.6">'
                     '<title>%s p50=%g p99=%g %s</title></rect>'
                     % (x(f["p50"] * k), y + 2, max(x(f["p99"] * k) - x(f["p50"] * k), 1.5),
                        colour, html.escape(f["name"]), f["p50"], f["p99"], f["unit"]))
        for q in ("p90", "p999"):
            if f.get(q) is not None:
                parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>'
                             % (x(f[q] * k), y + 1, x(f[q] * k), y + 13))
        parts.append('<circle cx="%.1f" cy="%d" r="2.5" fill="black"/>' % (x(f["max"] * k), y + 7))
    parts.append("</svg>")
    with open(path, "w") as out:
        out.write("\n".join(parts) + "\n")


def svg_omop(report, path):
    """Analyses per second against concurrency, one line per CDM and arm."""
    rows = report.get("omop", [])
    if not rows:
        return
    series = {}
    for r in rows:
        series.setdefault("%s %s" % (r["cdm"], r["arm"]), []).append((r["c"], r["throughput"]))
    widths = sorted({r["c"] for r in rows})
    top_value = max(r["throughput"] for r in rows) * 1.1 or 1
    left, width, top, height = 60, 520, 40, 300

    def x(c):
        return left + (width * widths.index(c) / max(len(widths) - 1, 1))

    def y(v):
        return top + height - height * v / top_value

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" %s>'
             % (left + width + 200, top + height + 50, SVG_FONT),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="18" font-size="14">OMOP analyses per second against concurrent '
             'sessions</text>',
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
             % (left, top + height, left + width, top + height),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
             % (left, top, left, top + height)]
    for c in widths:
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>'
                     % (x(c), top + height + 15, c))
    parts.append('<text x="%d" y="%d" text-anchor="middle">concurrent sessions</text>'
                 % (left + width / 2, top + height + 35))
    for i in range(5):
        v = top_value * i / 4
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>'
                     % (left - 5, y(v) + 4, v))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>'
                     % (left, y(v), left + width, y(v)))
    for i, (name, points) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        points.sort()
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                     % (colour, " ".join("%.1f,%.1f" % (x(c), y(v)) for c, v in points)))
        for c, v in points:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s c=%d: %.2f/s'
                         '</title></circle>' % (x(c), y(v), colour, html.escape(name), c, v))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>'
                     % (left + width + 15, top + 15 + 16 * i, colour, html.escape(name)))
    parts.append("</svg>")
    with open(path, "w") as out:
        out.write("\n".join(parts) + "\n")


# ---- the gate ----

def gated_number(figure):
    field = figure.get("gate_field") or gate_of(figure["name"])[0]
    return figure.get(field) if field else None


def compare(report, baseline, pct):
    """Names every gated figure of the baseline that regressed by more than
    pct percent; a figure this run lacks is listed but does not fail."""
    now = {f["name"]: f for f in report["figures"]}
    regressed, lines = [], []
    for old in baseline["figures"]:
        if not gate_of(old["name"])[0]:
            continue
        new = now.get(old["name"])
        before = gated_number(old)
        after = gated_number(new) if new else None
        if before is None or after is None or before <= 0:
            lines.append("  %-58s not in this run" % old["name"])
            continue
        change = 100.0 * (after - before) / before
        if old["kind"] == "instructions":
            bad = change > pct
        else:
            bad = change < -pct
        lines.append("  %-58s %12.4g -> %12.4g  %+7.1f%%%s"
                     % (old["name"], before, after, change, "  REGRESSED" if bad else ""))
        if bad:
            regressed.append(old["name"])
    print("\ncompared with the baseline (gated figures; max regression %g%%):" % pct)
    print("\n".join(lines))
    for name in regressed:
        print("REGRESSED: %s" % name)
    return regressed


# ---- main ----

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CI: a few minutes in all")
    mode.add_argument("--full", action="store_true", help="every part at full length")
    p.add_argument("--out", default=None, help="report directory (default BUILD/bench-report)")
    p.add_argument("--build", default=os.environ.get("OMCP_BUILD_DIR",
                                                     os.path.join(SOURCE, "build")))
    p.add_argument("--only", help="comma-separated parts: " + ", ".join(n for n, _ in PARTS))
    p.add_argument("--report", help="take this report.json instead of running")
    p.add_argument("--compare", metavar="BASELINE.json")
    p.add_argument("--max-regression", type=float, default=10.0, metavar="PCT")
    args = p.parse_args()
    args.out = args.out or os.path.join(args.build, "bench-report")
    return args


def run_suite(args):
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    for old in glob.glob(os.path.join(args.out, "logs", "*.log")):
        os.unlink(old)
    run = Run(args)
    wanted = set(args.only.split(",")) if args.only else (QUICK_PARTS if run.quick else
                                                          {n for n, _ in PARTS})
    unknown = wanted - {n for n, _ in PARTS}
    if unknown:
        sys.exit("run.py: no part %s" % ", ".join(sorted(unknown)))
    began = time.monotonic()
    commit = subprocess.run(["git", "-C", SOURCE, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    try:
        for name, fn in PARTS:
            if name in wanted:
                fn(run)
    finally:
        run.cleanup()
    mark_gates(run.figures)
    return {"mode": "quick" if run.quick else "full", "commit": commit or None,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(), "load": os.getloadavg()[0],
            "handicap": os.environ.get("OMCP_BENCH_HANDICAP") == "1",
            "seconds": round(time.monotonic() - began, 1), "figures": run.figures,
            "omop": run.omop_rows, "skipped": run.skipped}


def main():
    args = parse_args()
    if args.report:
        with open(args.report) as f:
            report = json.load(f)
    else:
        report = run_suite(args)
        with open(os.path.join(args.out, "report.json"), "w") as f:
            json.dump(report, f, indent=1)
        action_benchmark(report, args.out)
        svg_latency(report, os.path.join(args.out, "latency.svg"))
        svg_omop(report, os.path.join(args.out, "omop-throughput.svg"))
        with open(os.path.join(args.out, "report.txt"), "w") as f:
            print_table(report, f)
            print_omop_table(report, f)
    print_table(report)
    print_omop_table(report)
    if not args.report:
        print("\n%s mode in %.0f s; report in %s" % (report["mode"], report["seconds"], args.out))
    # A report read back is only compared; a run that broke fails by itself.
    status = 0 if args.report else int(any(s["cause"] == "failed" for s in report["skipped"]))
    if args.compare:
        with open(args.compare) as f:
            baseline = json.load(f)
        if compare(report, baseline, args.max_regression):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
