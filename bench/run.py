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
import select
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

# The CDMs the OMOP comparison runs on, each with its parameter values for
# the analyses. "sqlite": CDM_DIR/<name>.sqlite, the embedded CDM that
# setup.sh builds. "postgres": generated with omcp-cdmgen (persons, seed)
# and loaded into a CDM cluster of the run's own by bench/pg-cdm.sh, which
# the daemon and the pools reach through its socket directory, mounted
# read-only, as the read-only role (full mode only).
OMOP_CDMS = [
    {"name": "synthetic", "kind": "sqlite", "quick": True,
     "params": {"condition_concept_id": 320128, "ancestor_concept_id": 134057}},
    {"name": "synthetic_pg", "kind": "postgres", "quick": False, "persons": 100000, "seed": 1,
     "params": {"condition_concept_id": 320128, "ancestor_concept_id": 134057}},
]

# The arms of the OMOP comparison, in report order: the proxy over MCP
# Streamable HTTP (the arm the targets are for), the proxy over MCP stdio
# (full mode only), direct Rserve on warm slots, and the reference's way.
# They take turns round by round at each concurrency (omop_turns).
OMOP_ARMS = ["proxy-http", "proxy-stdio", "direct", "reference"]
OMOP_QUICK_ARMS = ["proxy-http", "direct", "reference"]
OMOP_WIDTHS, OMOP_QUICK_WIDTHS = [1, 2, 4, 8, 16], [1, 4]
OMOP_ROUNDS, OMOP_QUICK_ROUNDS = 3, 3
# How the warm arms, (a) and (b) alike, recycle a released slot: the
# daemon's default (a fresh container) in full mode; in quick mode the
# container is kept and its processes replaced, so that refilling the pools
# between rounds takes milliseconds, not container starts, and the suite
# stays within CI's few minutes.
OMOP_RECYCLE, OMOP_QUICK_RECYCLE = "container", "process"

# Gated figures: (pattern on the figure name, which number is compared).
# Ratios are bigger-is-better; a drop of more than --max-regression percent
# fails. Instruction counts are smaller-is-better; a rise of more than that
# fails. Only figures that hold still from run to run on a loaded machine
# belong here: the OMOP ratios, even taken round by round, still move by a
# quarter between runs here, so they are reported against their targets
# but not gated (see the README).
GATES = [
    (r"^pool: ratio cold / warm acquire$", "p50"),
    (r"^pool: ratio fresh fork / warmed lease$", "p50"),
    (r"^codec: ratio jsonlite/C ", "p50"),
    (r"^instr: ", "value"),
]

# Targets printed beside a figure (and in report.json), gated or not.
TARGETS = [
    (r"^codec: ratio jsonlite/C ", 5.0),
    (r"^omop: ratio proxy-http/direct ", 0.9),
    (r"^omop: ratio proxy-http/reference ", 10.0),
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
    """Which number of the figure is gated, or None."""
    for pattern, field in GATES:
        if re.search(pattern, name):
            return field
    return None


def target_of(name):
    for pattern, target in TARGETS:
        if re.search(pattern, name):
            return target
    return None


def mark_gates(figures):
    for figure in figures:
        field, target = gate_of(figure["name"]), target_of(figure["name"])
        figure["gated"] = field is not None
        if field:
            figure["gate_field"] = field
        if target is not None:
            figure["target"] = target
            value = figure.get("value", figure.get("p50"))
            figure["target_met"] = value is not None and value >= target


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
        self.omop_rows = []  # per CDM, arm and concurrency: analyses/s, latency figure
        self.pg_clusters = []  # (directory, environment) of the CDM clusters it made
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
        stop_pg_clusters(self)
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


def omop_workload(cdm, sqlite_path):
    """The ten analyses for one CDM: per number, the plain variant when its
    tables have rows in sqlite_path (the CDM itself, or the file a
    PostgreSQL CDM was loaded from), else the first variant that has them
    (the .era files are for extracts without occurrences); parameters bound
    by name from the CDM's values, as tests/integration/cdm_shared.py binds
    them."""
    by_number = {}
    for path in sorted(glob.glob(os.path.join(ANALYSES, "*.sql"))):
        by_number.setdefault(os.path.basename(path)[:2], []).append(path)
    db = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True)
    analyses = []
    for number, variants in sorted(by_number.items()):
        variants.sort(key=lambda p: ".era." in p)
        usable = [v for v in variants if all(
            db.execute("SELECT EXISTS (SELECT 1 FROM %s)" % t).fetchone()[0]
            for t in analysis_header(v, "requires"))]
        chosen = (usable or variants)[0]
        with open(chosen) as f:
            sql = f.read()
        names = set(re.findall(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)", sql))
        analyses.append({"name": os.path.basename(chosen)[:-4], "sql": sql,
                         "params": {k: v for k, v in cdm["params"].items() if k in names}})
    db.close()
    return analyses


def pg_program(name):
    """A PostgreSQL server program, as bench/pg-cdm.sh finds it, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return found[-1] if found else shutil.which(name)


def pg_missing():
    """None when a PostgreSQL CDM can be set up here, else why not."""
    missing = [p for p in ("initdb", "pg_ctl", "postgres") if not pg_program(p)]
    if missing:
        return "PostgreSQL's server programs are not installed (no %s)" % ", ".join(missing)
    for tool in ("psql", "sqlite3", "runuser"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if subprocess.run(["id", "postgres"], capture_output=True).returncode:
        return "no postgres account"
    return None


def pg_script(env, *args):
    """bench/pg-cdm.sh with the cluster's settings; its output goes to the log."""
    return subprocess.run(["bash", os.path.join(SOURCE, "bench", "pg-cdm.sh")] + list(args),
                          env=env, capture_output=True, text=True, timeout=1800)


def omop_cdm_postgres(run, cdm):
    """A CDM cluster of this run's own, made by bench/pg-cdm.sh (socket
    directory only, read-only role mapped to the sandbox account), holding
    a generated CDM of cdm["persons"] persons; returns the prepared CDM or
    None after saying why it was skipped."""
    part = "omop %s" % cdm["name"]
    why = pg_missing()
    if why:
        return run.skip(part, why)
    gen = run.binary("bench", "omcp-cdmgen")
    if not gen:
        return run.skip(part, "omcp-cdmgen not built", "unbuilt")
    # Under /var/tmp beside the run, searchable: the postgres account
    # reaches its cluster through it.
    top = tempfile.mkdtemp(prefix="omcp-bench-pg-", dir="/var/tmp")
    os.chmod(top, 0o755)
    env = dict(os.environ, PG_CDM_DIR=os.path.join(top, "pg"), CDM_DIR=os.path.join(top, "cdm"),
               DB_PORT=str(20000 + os.getpid() % 20000), SANDBOX_USER=SANDBOX_USER,
               PG_MAX_CONNECTIONS="200")
    run.pg_clusters.append((top, env))
    source = os.path.join(top, "generated.sqlite")
    logfile = os.path.join(run.out, "logs", "omop-postgres.log")
    began = time.monotonic()
    with open(logfile, "a") as out:
        for argv in ([gen, "--persons", str(cdm["persons"]), "--seed", str(cdm["seed"]),
                      "--out", source], ["init"], ["load", cdm["name"], source]):
            proc = (pg_script(env, *argv) if argv[0] != gen else
                    subprocess.run(argv, capture_output=True, text=True, timeout=1800))
            out.write("$ %s\n%s%s" % (" ".join(argv), proc.stdout, proc.stderr))
            if proc.returncode:
                return run.skip(part, "%s failed; see %s" % (argv[0], logfile), "failed")
    log("omop: %s, %d persons, on PostgreSQL in %.0f s" % (cdm["name"], cdm["persons"],
                                                          time.monotonic() - began))
    workload = omop_workload(cdm, source)
    os.unlink(source)
    # The reference arm's fresh connection has none of the warm-up's
    # settings: it sets the DB_* variables the reference's containers carry
    # in their environment, then opens the CDM as warm-up does.
    connect = ('Sys.setenv(DB_HOST = "/run/cdm-pg", DB_PORT = "%s", DB_USER = "omcp_cdm_reader"); '
               'omcp_open_cdm("%s")' % (env["DB_PORT"], cdm["name"]))
    return {"cdm": cdm, "cdm_dir": env["CDM_DIR"], "analyses": workload, "connect": connect,
            "db": {"DB_HOST": os.path.join(env["PG_CDM_DIR"], "socket"),
                   "DB_PORT": env["DB_PORT"], "DB_SANDBOX_USER": "omcp_cdm_reader"}}


def omop_cdm_sqlite(run, cdm):
    path = os.path.join(CDM_DIR, cdm["name"] + ".sqlite")
    if not os.path.exists(path):
        return run.skip("omop %s" % cdm["name"], "no %s" % path)
    return {"cdm": cdm, "cdm_dir": CDM_DIR, "analyses": omop_workload(cdm, path), "db": {}}


def stop_pg_clusters(run):
    for top, env in run.pg_clusters:
        pg_script(env, "stop")
        subprocess.run(["rm", "-rf", "--one-file-system", top])
    run.pg_clusters = []


def omop_recycle(run):
    return OMOP_QUICK_RECYCLE if run.quick else OMOP_RECYCLE


def daemon_env(run, prepared, state_dir, warm):
    """The daemon's settings for one arm: the same pool as omcp-bench-omop's
    (warm target and ceiling the widest round); the HTTP front end's limits
    per client identity off, since every benchmark client is one identity,
    and its idle timeouts longer than a run, so no connection or MCP session
    is closed between one arm's rounds."""
    env = dict(os.environ, STATE_DIR=state_dir, CDM_DIR=prepared["cdm_dir"],
               CDM_DEFAULT=prepared["cdm"]["name"], SANDBOX_UID=str(run.uid), DOCKER_IMAGE=IMAGE,
               POOL_MIN_IDLE=str(warm), MAX_SANDBOXES=str(warm), POOL_MAX_STARTING="4",
               POOL_RECYCLE=omop_recycle(run), LOG_LEVEL="warn", HTTP_LISTEN="", QAP_LISTEN="",
               HTTP_RATE_LIMIT="0", HTTP_MAX_SESSIONS_PER_IDENTITY="0", HTTP_IDLE_TIMEOUT="86400",
               HTTP_SESSION_TIMEOUT="86400", **prepared["db"])
    env.pop("OMCP_BENCH_JSON", None)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_daemon(binary, env, log_path):
    """Starts the daemon with its Streamable HTTP listener on a free
    loopback port; returns (process, URL), or None when it exits or never
    answers /healthz."""
    port = free_port()
    with open(log_path, "a") as out:
        proc = subprocess.Popen([binary, "--http", "127.0.0.1:%d" % port], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    for _ in range(100):
        time.sleep(0.2)
        if proc.poll() is not None:
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


class ArmFailed(Exception):
    pass


class OmopArm:
    """One arm of the OMOP comparison as a process that keeps its pool (or
    its daemon) warm from round to round and runs a round on command:
    "settle" and "round N" on its standard input, one JSON line answering
    each (omcp-bench-omop --serve, omop_mcp.mjs serve)."""

    def __init__(self, name, argv, env, log_path, daemon=None):
        self.name = name
        self.daemon = daemon
        self.log = open(log_path, "a")
        self.log.write("$ %s\n" % " ".join(argv))
        self.log.flush()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, start_new_session=True)

    def ask(self, command, timeout):
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise ArmFailed("%s: %s" % (command, e))
        ready = select.select([self.proc.stdout], [], [], timeout)[0]
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise ArmFailed("no answer to \"%s\" %s" % (
                command, "within %d s" % timeout if not ready else "(it exited)"))
        answer = json.loads(line)
        if "error" in answer or answer.get("settled") is False:
            raise ArmFailed("\"%s\" answered %s" % (command, line.strip()))
        return answer

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.daemon:
            stop_daemon(self.daemon)
        self.log.close()


def omop_arm_proxy(run, prepared, arm, workload, widths, log_path):
    """Arm (a): the daemon over MCP (Streamable HTTP on a loopback port, or
    stdio), driven by the SDK client."""
    binary = run.binary("proxy", "omcp-rproxy")
    if not binary:
        raise ArmFailed("omcp-rproxy not built")
    if not shutil.which("node") or not os.path.isdir(SDK):
        raise ArmFailed("node or the MCP SDK (tests/node) is missing")
    state_dir = os.path.join(run.work, "omop-%s-%s" % (arm, prepared["cdm"]["name"]))
    os.makedirs(state_dir)
    env = daemon_env(run, prepared, state_dir, max(widths))
    daemon = None
    if arm == "proxy-http":
        started = http_daemon(binary, env, log_path)
        if not started:
            raise ArmFailed("the daemon did not serve MCP over HTTP; see %s" % log_path)
        daemon, url = started
        target = ["--http", url]
    else:
        target = ["--stdio", binary]
    argv = ["node", os.path.join(SOURCE, "bench", "omop_mcp.mjs"), SDK, workload,
            ",".join(map(str, widths)), "serve"] + target
    return OmopArm(arm, argv, env, log_path, daemon)


def omop_arm_c(run, prepared, arm, workload, widths, log_path):
    """Arms (b) and (c): omcp-bench-omop on a pool of its own, no proxy."""
    binary = run.binary("bench", "omcp-bench-omop")
    if not binary:
        raise ArmFailed("omcp-bench-omop not built")
    name = prepared["cdm"]["name"]
    argv = [binary, "--arm", arm, "--serve", "--uid", str(run.uid),
            "--cdm-dir", prepared["cdm_dir"], "--cdm", name, "--workload", workload,
            "--concurrency", ",".join(map(str, widths)), "--image", IMAGE,
            "--work", os.path.join(run.work, "omop-%s-%s" % (arm, name))]
    if arm == "direct":
        argv += ["--recycle", omop_recycle(run)]
    if arm == "reference" and prepared.get("connect"):
        argv += ["--connect", prepared["connect"]]
    db = prepared["db"]
    if db:
        argv += ["--db-host", db["DB_HOST"], "--db-port", db["DB_PORT"],
                 "--db-user", db["DB_SANDBOX_USER"]]
    env = dict(os.environ)
    env.pop("OMCP_BENCH_JSON", None)
    return OmopArm(arm, argv, env, log_path)


def omop_start_arms(run, prepared, arms, workload, widths):
    """Starts every arm, then waits until each pool is warm and quiet, so
    that no arm's warm-up runs beside another's round."""
    started = {}
    for arm in arms:
        log_path = os.path.join(run.out, "logs", "omop-%s-%s.log" % (prepared["cdm"]["name"], arm))
        make = omop_arm_proxy if arm.startswith("proxy-") else omop_arm_c
        try:
            started[arm] = make(run, prepared, arm, workload, widths, log_path)
        except ArmFailed as e:
            omop_arm_failed(run, prepared, arm, str(e))
    for arm in list(started):
        try:
            started[arm].ask("settle", 1800)
        except ArmFailed as e:
            omop_arm_failed(run, prepared, arm, str(e))
            started.pop(arm).close()
    return started


def omop_arm_failed(run, prepared, arm, reason):
    unbuilt = "not built" in reason or "missing" in reason
    run.skip("omop %s %s" % (prepared["cdm"]["name"], arm), reason,
             "unbuilt" if unbuilt else "failed")


def omop_turns(arms, width_index, round_index):
    """The order of the arms in one round: rotated by one from round to
    round (and from concurrency to concurrency), so each arm runs first,
    second, ... equally often and a drift of the machine's load does not
    always favour the same arm."""
    k = (width_index + round_index) % len(arms)
    return arms[k:] + arms[:k]


def omop_interleaved(run, prepared, arms, workload, widths, rounds):
    """Every concurrency, `rounds` rounds in which each arm runs once, the
    arms taking turns; returns {(arm, c): [answer of each round]}."""
    workers = omop_start_arms(run, prepared, arms, workload, widths)
    answers = {}
    try:
        for i, c in enumerate(widths):
            for r in range(rounds):
                for arm in omop_turns([a for a in arms if a in workers], i, r):
                    try:
                        answers.setdefault((arm, c), []).append(
                            workers[arm].ask("round %d" % c, 3600))
                    except ArmFailed as e:
                        omop_arm_failed(run, prepared, arm, str(e))
                        workers.pop(arm).close()
            log("omop: %s c=%d: %s" % (prepared["cdm"]["name"], c, ", ".join(
                "%s %.1f/s" % (arm, round_throughput(answers[(arm, c)][-1]))
                for arm in arms if (arm, c) in answers)))
    finally:
        for worker in workers.values():
            worker.close()
        run.remove_containers()
    return answers


def round_throughput(answer):
    """Analyses that succeeded, per second of the round."""
    done = len(answer["latencies_ms"]) - answer["failures"]
    return done / answer["seconds"] if answer["seconds"] else 0.0


def omop_figures(run, cdm, arm, c, answers):
    """One arm at one concurrency, its rounds summed."""
    base = "omop: %s %s c=%d " % (cdm, arm, c)
    latency = samples_figure(base + "analysis", "ms",
                             [v for a in answers for v in a["latencies_ms"]])
    start = samples_figure(base + "session start", "ms",
                           [v for a in answers for v in a["starts_ms"]])
    seconds = sum(a["seconds"] for a in answers)
    failures = sum(a["failures"] for a in answers)
    done = latency["count"] - failures
    throughput = done / seconds if seconds else 0.0
    run.figures += [latency, start, {"name": base + "throughput", "kind": "value",
                                     "unit": "analyses/s", "value": throughput,
                                     "better": "bigger"}]
    if failures:
        run.figures.append({"name": base + "failures", "kind": "value", "unit": "analyses",
                            "value": failures, "better": "smaller"})
    run.omop_rows.append({"cdm": cdm, "arm": arm, "c": c, "throughput": throughput,
                          "rounds": [round_throughput(a) for a in answers],
                          "latency": latency, "failures": failures})


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2 if n else None


def omop_ratios(run):
    """proxy/direct and proxy/reference per CDM, transport and concurrency.
    value is the median over rounds of the two arms' throughput ratio in
    the same round (pooled: the ratio of the summed rounds; rounds: each
    round's); p50 and p99 compare the analyses' latencies (the other arm's
    over the proxy's, so bigger is better too)."""
    rows = {(r["cdm"], r["arm"], r["c"]): r for r in run.omop_rows}
    for (cdm, arm, c), proxy in sorted(rows.items()):
        if not arm.startswith("proxy-"):
            continue
        for other in ("direct", "reference"):
            base = rows.get((cdm, other, c))
            if not base or not base["throughput"]:
                continue
            per_round = [a / b for a, b in zip(proxy["rounds"], base["rounds"]) if b]
            pl, bl = proxy["latency"], base["latency"]
            run.figures.append({
                "name": "omop: ratio %s/%s %s c=%d" % (arm, other, cdm, c), "kind": "ratio",
                "value": median(per_round), "pooled": proxy["throughput"] / base["throughput"],
                "rounds": per_round,
                "p50": bl["p50"] / pl["p50"] if pl["p50"] else None,
                "p99": bl["p99"] / pl["p99"] if pl["p99"] else None, "better": "bigger"})


def omop_prepare(run, cdm):
    """The CDM ready to serve, or None (skipped and said why)."""
    try:
        if cdm["kind"] == "postgres":
            return omop_cdm_postgres(run, cdm)
        return omop_cdm_sqlite(run, cdm)
    except (OSError, subprocess.SubprocessError, sqlite3.Error) as e:
        return run.skip("omop %s" % cdm["name"], "set-up failed: %s" % e, "failed")


def part_omop(run):
    why = run.pool_ready()
    if why:
        return run.skip("omop", why)
    widths = OMOP_QUICK_WIDTHS if run.quick else OMOP_WIDTHS
    rounds = OMOP_QUICK_ROUNDS if run.quick else OMOP_ROUNDS
    arms = OMOP_QUICK_ARMS if run.quick else OMOP_ARMS
    try:
        for cdm in OMOP_CDMS:
            if run.quick and not cdm["quick"]:
                continue
            prepared = omop_prepare(run, cdm)
            if not prepared:
                continue
            workload = os.path.join(run.out, "workload-%s.json" % cdm["name"])
            with open(workload, "w") as f:
                json.dump({"cdm": cdm["name"], "analyses": prepared["analyses"]}, f, indent=1)
            log("omop: %s, arms %s taking turns, concurrency %s, %d rounds" % (
                cdm["name"], ", ".join(arms), widths, rounds))
            answers = omop_interleaved(run, prepared, arms, workload, widths, rounds)
            for c in widths:
                for arm in arms:
                    if (arm, c) in answers:
                        omop_figures(run, cdm["name"], arm, c, answers[(arm, c)])
    finally:
        stop_pg_clusters(run)
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
        target = " (target >= %g: %s)" % (f["target"], "met" if f.get("target_met") else
                                           "missed") if "target" in f else ""
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
    print("\nOMOP analyses (ten per session; the arms took turns round by round): analyses/s "
          "over all rounds, its range over rounds, and latency of one analysis (ms)", file=out)
    print("%-12s %-12s %3s %10s %17s %9s %9s %9s %9s %5s" % (
        "cdm", "arm", "c", "analyses/s", "rounds min..max", "p50", "p90", "p99", "max", "fail"),
          file=out)
    for r in rows:
        lat, per_round = r["latency"], r.get("rounds") or [r["throughput"]]
        print("%-12s %-12s %3d %10.2f %8.2f..%-8.2f %9.1f %9.1f %9.1f %9.1f %5d" % (
            r["cdm"], r["arm"], r["c"], r["throughput"], min(per_round), max(per_round),
            lat["p50"], lat["p90"], lat["p99"], lat["max"], r["failures"]), file=out)
    print_omop_ratios(report, out)


def print_omop_ratios(report, out):
    ratios = [f for f in report["figures"] if f["name"].startswith("omop: ratio ")]
    if not ratios:
        return
    print("\nOMOP throughput ratios: median of the rounds' ratios (each round's arms ran "
          "back to back), the pooled ratio of the summed rounds, and the rounds' range",
          file=out)
    print("%-40s %8s %8s %17s  %-6s %s" % ("ratio", "median", "pooled", "rounds min..max",
                                          "gated", "target"), file=out)
    for f in ratios:
        per_round = f.get("rounds") or [f["value"]]
        target = "" if "target" not in f else ">= %g %s" % (
            f["target"], "met" if f.get("target_met") else "missed")
        print("%-40s %8.2f %8.2f %8.2f..%-8.2f  %-6s %s" % (
            f["name"][len("omop: ratio "):], f["value"], f.get("pooled", f["value"]),
            min(per_round), max(per_round), "yes" if f.get("gated") else "", target), file=out)


def ratio_extra(f):
    """What github-action-benchmark shows beside a ratio: gated, its target,
    and for the OMOP ratios the pooled ratio and the rounds' range."""
    notes = ["gated"] if f.get("gated") else []
    if "target" in f:
        notes.append("target>=%g %s" % (f["target"], "met" if f.get("target_met") else "missed"))
    if f.get("rounds"):
        notes.append("pooled=%.3g rounds=%.3g..%.3g" % (f["pooled"], min(f["rounds"]),
                                                       max(f["rounds"])))
    return " ".join(notes)


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
                               "extra": ratio_extra(f)})
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
    """Analyses per second against concurrency, one panel per CDM (their
    scales differ), one line per arm."""
    rows = report.get("omop", [])
    if not rows:
        return
    cdms = sorted({r["cdm"] for r in rows}, key=[r["cdm"] for r in rows].index)
    arms = sorted({r["arm"] for r in rows}, key=[r["arm"] for r in rows].index)
    left, width, top, height, gap = 60, 520, 40, 260, 70
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" %s>'
             % (left + width + 200, top + len(cdms) * (height + gap), SVG_FONT),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="10" y="18" font-size="14">OMOP analyses per second against concurrent '
             'sessions (arms taking turns round by round)</text>']
    for k, cdm in enumerate(cdms):
        panel = [r for r in rows if r["cdm"] == cdm]
        parts += svg_omop_panel(panel, arms, cdm, left, width, top + k * (height + gap), height)
    parts.append("</svg>")
    with open(path, "w") as out:
        out.write("\n".join(parts) + "\n")


def svg_omop_panel(rows, arms, cdm, left, width, top, height):
    widths = sorted({r["c"] for r in rows})
    top_value = max(r["throughput"] for r in rows) * 1.1 or 1

    def x(c):
        return left + (width * widths.index(c) / max(len(widths) - 1, 1))

    def y(v):
        return top + height - height * v / top_value

    parts = ['<text x="%d" y="%d" font-size="12">%s</text>' % (left, top - 8, html.escape(cdm)),
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
    for i, arm in enumerate(arms):
        colour = COLOURS[i % len(COLOURS)]
        points = sorted((r["c"], r["throughput"]) for r in rows if r["arm"] == arm)
        if not points:
            continue
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                     % (colour, " ".join("%.1f,%.1f" % (x(c), y(v)) for c, v in points)))
        for c, v in points:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s c=%d: '
                         '%.2f/s</title></circle>' % (x(c), y(v), colour, html.escape(cdm),
                                                      html.escape(arm), c, v))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>'
                     % (left + width + 15, top + 15 + 16 * i, colour, html.escape(arm)))
    return parts


# ---- the gate ----

def gated_number(figure):
    field = figure.get("gate_field") or gate_of(figure["name"])
    return figure.get(field) if field else None


def compare(report, baseline, pct):
    """Names every gated figure of the baseline that regressed by more than
    pct percent; a figure this run lacks is listed but does not fail."""
    now = {f["name"]: f for f in report["figures"]}
    regressed, lines = [], []
    for old in baseline["figures"]:
        if not gate_of(old["name"]):
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
