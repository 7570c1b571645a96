#!/usr/bin/env bash
# Starts a container of the sandbox image with the pool's hardening and
# checks it from the host through its unix socket with RSclient: Rserve
# answers, warm-up works as documented, and the sandbox holds.
# With --build-image it only brings the image up to date (as root, for the
# uid of the dedicated host account) and skips when it cannot.
set -euo pipefail

image=${DOCKER_IMAGE:-omcp-r-sandbox:latest}
name=omcp-test-sandbox-$$
work=
passed=0
failed=0

skip() {
    echo "SKIP: $*"
    exit 77
}
fatal() {
    echo "FAIL: $*"
    exit 1
}
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    [ -n "$work" ] && rm -rf --one-file-system "$work"
}

if [ "${1:-}" = --build-image ]; then
    uid=${SANDBOX_UID:-$(id -u omcp-sandbox 2>/dev/null || true)}
    [ -n "$uid" ] || skip "no SANDBOX_UID and no host account omcp-sandbox"
    [ "$(id -u)" -eq 0 ] || skip "building the image needs root"
    SANDBOX_UID=$uid exec bash "$(dirname "$0")/../../docker/build-image.sh"
fi

command -v docker >/dev/null || skip "docker is not installed"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || skip "no Docker engine answers"
docker image inspect "$image" >/dev/null 2>&1 || skip "image $image absent (docker/build-image.sh)"
command -v Rscript >/dev/null || fatal "Rscript not found (apt-get install r-base-core)"
Rscript -e 'library(RSclient); library(RSQLite)' >/dev/null 2>&1 ||
    fatal "R packages RSclient and RSQLite needed (apt-get install r-cran-rsclient r-cran-rsqlite)"
uid=${SANDBOX_UID:-$(id -u omcp-sandbox 2>/dev/null || true)}
[ -n "$uid" ] || fatal "set SANDBOX_UID or create the host account omcp-sandbox"

work=$(mktemp -d /var/tmp/omcp-sandbox-test.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$work/run" "$work/sandbox" "$work/cdm"
chown "$uid" "$work/run" "$work/sandbox"
chmod 0755 "$work"

# A tiny CDM, written as the daemon writes one: rollback journal, no WAL.
Rscript -e 'con <- DBI::dbConnect(RSQLite::SQLite(), commandArgs(TRUE)[1])
    DBI::dbExecute(con, "PRAGMA journal_mode=DELETE")
    DBI::dbWriteTable(con, "person", data.frame(person_id = 1:3, year_of_birth = c(1950L, 1960L, 1970L)))
    DBI::dbDisconnect(con)' "$work/cdm/test.sqlite" >/dev/null
chmod 0444 "$work/cdm/test.sqlite"

t_start=$(now_ms)
docker run -d --name "$name" \
    --label org.omcp.pool=test --label org.omcp.instance=sandbox_container \
    --user "$uid" --cap-drop ALL --security-opt no-new-privileges \
    --read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m \
    --memory 512m --memory-swap 512m --cpu-period 100000 --cpu-quota 50000 \
    --pids-limit 256 --network none \
    -v "$work/run:/run/rserve" -v "$work/sandbox:/sandbox" \
    -v "$work/cdm/test.sqlite:/cdm/test.sqlite:ro" \
    "$image" >/dev/null

sock=$work/run/rserve.sock
for _ in $(seq 600); do
    [ -S "$sock" ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.05
done
if [ ! -S "$sock" ]; then
    docker logs "$name" 2>&1 | tail -n 20
    fatal "no Rserve socket after 30 s"
fi
echo "measure: start_to_socket_ms=$(($(now_ms) - t_start))"

# As the daemon does once Rserve is ready: the sandbox uid can no longer
# replace the socket; connecting still works.
chown root "$work/run"

# Outside views of the container.
if out=$(docker exec -u 0 "$name" touch /probe 2>&1); then
    not_ok "root file system is read-only (a write as root succeeded)"
elif echo "$out" | grep -q "Read-only file system"; then
    ok "root file system is read-only"
else
    not_ok "root file system is read-only (unexpected: $out)"
fi
image_uid=$(docker exec "$name" id -u sandboxuser)
[ "$image_uid" = "$uid" ] && ok "image's sandboxuser has uid $uid" ||
    not_ok "image's sandboxuser has uid $image_uid, not $uid (rebuild with SANDBOX_UID=$uid)"

# Rserve refuses QAP1's shutdown command (0x004) and keeps serving.
if command -v python3 >/dev/null; then
    reply=$(python3 - "$sock" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
ident = b""
while len(ident) < 32:
    ident += s.recv(32 - len(ident))
s.sendall(struct.pack("<4I", 4, 0, 0, 0))
head = b""
while len(head) < 16:
    chunk = s.recv(16 - len(head))
    if not chunk:
        break
    head += chunk
print(ident[:4].decode(), "%#x" % struct.unpack("<I", head[:4])[0] if len(head) == 16 else "closed")
EOF
    ) || reply="error"
    case $reply in
    "Rsrv 0x"*) code=${reply#Rsrv }
        [ "$code" != 0x10001 ] && ok "shutdown command refused ($code)" ||
            not_ok "shutdown command refused (got $code, RESP_OK)" ;;
    *) not_ok "shutdown command refused (reply: $reply)" ;;
    esac
fi

# Inside views, through a real Rserve client.
client=$work/client.R
cat >"$client" <<'EOF'
library(RSclient)
args <- commandArgs(TRUE)
sock <- args[1]; uid <- args[2]; name <- args[3]; hostws <- args[4]
failed <- 0L
check <- function(what, cond) {
    cond <- isTRUE(tryCatch(cond, error = function(e) { message(what, ": ", conditionMessage(e)); FALSE }))
    cat(if (cond) "ok - " else "not ok - ", what, "\n", sep = "")
    if (!cond) failed <<- failed + 1L
}
ms <- function(t0) round(as.numeric(Sys.time() - t0, units = "secs") * 1000, 1)

# Memory of the container: cgroup counters and the sum of its processes.
measure_memory <- function(con, label) {
    mem <- RS.eval(con, {
        rd <- function(f) if (file.exists(f)) readLines(f) else character()
        stat <- c(rd("/sys/fs/cgroup/memory/memory.stat"), rd("/sys/fs/cgroup/memory.stat"))
        kv <- function(k) {
            l <- grep(paste0("^", k, " "), stat, value = TRUE)
            if (length(l)) as.numeric(sub(".* ", "", l[1])) else NA
        }
        c(usage = as.numeric(c(rd("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
                               rd("/sys/fs/cgroup/memory.current"))[1]),
          anon = if (is.na(kv("rss"))) kv("anon") else kv("rss"))
    })
    # The Rserve parent and its sessions are not dumpable, so their
    # smaps_rollup is read on the host side, by host pid.
    sm <- function(p, k) {
        f <- file.path("/proc", p, "smaps_rollup")
        l <- grep(paste0("^", k, ":"), tryCatch(readLines(f), error = function(e) character(),
                                                warning = function(w) character()), value = TRUE)
        if (length(l)) as.numeric(gsub("[^0-9]", "", l)) * 1024 else NA
    }
    pid1 <- system2("docker", c("inspect", "-f", "{{.State.Pid}}", name), stdout = TRUE)
    pids <- system2("docker", c("top", name, "-o", "pid"), stdout = TRUE)[-1]
    mem <- c(mem, parent_rss = sm(pid1, "Rss"), procs_rss = sum(vapply(pids, sm, 0, "Rss")),
             procs_pss = sum(vapply(pids, sm, 0, "Pss")))
    cat(sprintf("measure: %s %s\n", label,
                paste0(names(mem), "_mb=", round(mem / 1e6, 1), collapse = " ")))
}

t0 <- Sys.time()
con <- RS.connect(sock, 0L)
cat("measure: connect_ms=", ms(t0), "\n", sep = "")
check("R.version.string over the unix socket", startsWith(RS.eval(con, R.version.string), "R version"))

t0 <- Sys.time()
pid <- RS.eval(con, omcp_warmup("test", db_host = "/run/postgresql", db_port = 5432L,
                                db_name = "cdm", db_user = "cdm_reader"))
cat("measure: warmup_ms=", ms(t0), "\n", sep = "")
measure_memory(con, "idle_warm")
check("warm-up returns the session's pid", is.numeric(pid) && length(pid) == 1L &&
      pid == RS.eval(con, Sys.getpid()))
check("usual packages attached", all(c("package:DBI", "package:dplyr", "package:ggplot2",
      "package:RSQLite") %in% RS.eval(con, search())))
check("cdm_con reads the mounted CDM",
      RS.eval(con, DBI::dbGetQuery(cdm_con, "SELECT count(*) AS n FROM person")$n) == 3L)
check("cdm_con is read-only", RS.eval(con, inherits(try(DBI::dbExecute(cdm_con,
      "DELETE FROM person"), silent = TRUE), "try-error")))
check("DB_* set, no password", identical(RS.eval(con, Sys.getenv(c("DB_HOST", "DB_PORT",
      "DB_NAME", "DB_USER", "DB_PASSWORD"), unset = NA)),
      c(DB_HOST = "/run/postgresql", DB_PORT = "5432", DB_NAME = "cdm", DB_USER = "cdm_reader",
        DB_PASSWORD = NA)))
check("working directory is the workspace", RS.eval(con, getwd()) == "/sandbox")
check("an unknown CDM is an error", RS.eval(con, inherits(try(omcp_open_cdm("nope"),
      silent = TRUE), "try-error")))
check("cdm_con reopens", RS.eval(con, omcp_open_cdm("test")) == "test")

st <- RS.eval(con, c(readLines("/proc/self/status"), readLines("/proc/1/status")))
uids <- grep("^Uid:", st, value = TRUE)
check("session and Rserve parent run as the sandbox uid",
      length(uids) == 2L && all(vapply(strsplit(uids, "[[:space:]]+"),
                                       function(f) all(f[2:5] == uid), TRUE)))
check("no capabilities", all(sub(".*:[[:space:]]*", "", grep("^Cap(Eff|Prm|Bnd):", st,
      value = TRUE)) == "0000000000000000"))
check("no new privileges", all(grep("^NoNewPrivs:", st, value = TRUE) == "NoNewPrivs:\t1"))
check("Rserve parent is PID 1", grepl("Rserve", RS.eval(con, {
    b <- readBin("/proc/1/cmdline", "raw", 4096L)
    rawToChar(b[b != as.raw(0)])
})))
check("Rserve parent not dumpable: its environ, maps, mem, root refused to a session", RS.eval(con, {
    m <- function(f) tryCatch({ close(file(f, "rb")); "opened" },
                              warning = function(w) conditionMessage(w))
    all(grepl("Permission denied", vapply(c("/proc/1/environ", "/proc/1/maps", "/proc/1/mem",
                                            "/proc/1/root/etc/hostname"), m, ""))) &&
        m("/proc/self/maps") == "opened"
}))

net <- RS.eval(con, lapply(c(tcp = "/proc/net/tcp", tcp6 = "/proc/net/tcp6",
                             udp = "/proc/net/udp", udp6 = "/proc/net/udp6"),
                           function(f) if (file.exists(f)) readLines(f)[-1] else character()))
check("no TCP or UDP socket at all (nothing listens)", all(lengths(net) == 0L))
check("no network interface but lo", identical(RS.eval(con, list.files("/sys/class/net")), "lo"))

mounts <- RS.eval(con, strsplit(readLines("/proc/mounts"), " "))
opts <- function(mp) { m <- Filter(function(f) f[2] == mp, mounts); if (length(m)) strsplit(m[[length(m)]][4], ",")[[1]] else character() }
check("root mounted read-only", "ro" %in% opts("/"))
check("/tmp is noexec,nosuid", all(c("noexec", "nosuid") %in% opts("/tmp")))
check("a program written to /tmp cannot run", RS.eval(con, {
    f <- "/tmp/probe.sh"
    writeLines(c("#!/bin/sh", "echo ran"), f)
    Sys.chmod(f, "0755")
    out <- suppressWarnings(tryCatch(system2(f, stdout = TRUE, stderr = TRUE), error = function(e) "error"))
    !identical(out, "ran")
}))
check("socket directory not writable by the sandbox uid", RS.eval(con,
      !suppressWarnings(file.create("/run/rserve/x"))))
limits <- RS.eval(con, {
    rd <- function(...) { for (f in c(...)) if (file.exists(f)) return(readLines(f)[1]); NA }
    c(mem = rd("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
      pids = rd("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"))
})
check("memory limit 512 MB, pids limit 256",
      identical(unname(limits), c("536870912", "256")))

check("png() with cairo writes into the workspace", RS.eval(con, {
    grDevices::png("/sandbox/plot.png", type = "cairo")
    print(ggplot2::ggplot(data.frame(x = 1:3, y = 1:3), ggplot2::aes(x, y)) + ggplot2::geom_point())
    grDevices::dev.off()
    TRUE
}) && identical(readBin(file.path(hostws, "plot.png"), "raw", 4L), as.raw(c(0x89, 0x50, 0x4e, 0x47))))

# A second connection is a separate session (its own fork).
invisible(RS.eval(con, secret <- 42L))
con2 <- RS.connect(sock, 0L)
pid2 <- RS.eval(con2, omcp_warmup(""))
check("a second connection is a separate session", pid2 != pid &&
      !RS.eval(con2, exists("secret")) && !RS.eval(con2, exists("cdm_con")))
invisible(RS.close(con2))

# The pool interrupts a long evaluation by signalling the pid warm-up returned.
invisible(RS.eval(con, Sys.sleep(60), wait = FALSE))
Sys.sleep(0.5)
t0 <- Sys.time()
invisible(system2("docker", c("exec", name, "sh", "-c", shQuote(paste("kill -INT", pid)))))
res <- tryCatch(RS.collect(con, timeout = 20), error = function(e) e)
elapsed <- ms(t0)
cat("measure: interrupt_ms=", elapsed, "\n", sep = "")
check("SIGINT to the session's pid stops the evaluation", elapsed < 10000)
check("the session keeps its state after an interrupt", identical(RS.eval(con, secret), 42L))
measure_memory(con, "after_checks")

invisible(RS.close(con))

con3 <- RS.connect(sock, 0L)
check("Rserve still accepts connections", startsWith(RS.eval(con3, R.version.string), "R version"))
invisible(RS.close(con3))
quit(status = if (failed) 1L else 0L)
EOF

set +e
Rscript "$client" "$sock" "$uid" "$name" "$work/sandbox" >"$work/client.out" 2>&1
set -e
cat "$work/client.out"
passed=$((passed + $(grep -c '^ok - ' "$work/client.out" || true)))
failed=$((failed + $(grep -c '^not ok - ' "$work/client.out" || true)))
if ! grep -q 'Rserve still accepts connections' "$work/client.out"; then
    not_ok "R client ran to the end"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
