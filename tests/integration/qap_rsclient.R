# RSclient against the QAP1 front end (run by qap_clients.sh): values of
# every common shape both ways, an R error, each command RSclient can send
# that the proxy refuses, two clients that do not see each other, cdm_con, a
# 30 MB result and upload, pipelined requests, and ERR_unavailable (0x62)
# once every sandbox is leased.
suppressPackageStartupMessages(library(RSclient))

port <- as.integer(Sys.getenv("QAP_PORT"))
sock <- Sys.getenv("QAP_SOCKET")
max_sandboxes <- as.integer(Sys.getenv("MAX_SANDBOXES"))
failures <- 0L

check <- function(name, ok) {
    if (isTRUE(ok)) {
        cat("ok  ", name, "\n")
    } else {
        cat("FAIL", name, "\n")
        failures <<- failures + 1L
    }
}

# The status an RSclient call failed with, e.g. "0x48", or "" when it did not fail.
status_of <- function(expr) {
    msg <- tryCatch({
        force(expr)
        ""
    }, error = function(e) conditionMessage(e))
    m <- regmatches(msg, regexpr("0x[0-9a-f]+", msg))
    if (length(m)) m else msg
}

c1 <- RS.connect(port = port)

# Values of every common shape come back as they went.
check("integer", identical(RS.eval(c1, 1L + 1L), 2L))
check("double", identical(RS.eval(c1, pi), pi))
utf8 <- "h\u00e9llo \u4e16\u754c"
check("string in UTF-8", identical(RS.eval(c1, "h\u00e9llo \u4e16\u754c"), utf8))
check("logical NA", identical(RS.eval(c1, c(TRUE, NA, FALSE)), c(TRUE, NA, FALSE)))
check("NULL", is.null(RS.eval(c1, NULL)))
check("named vector", identical(RS.eval(c1, c(a = 1, b = 2)), c(a = 1, b = 2)))
check("long vector", identical(RS.eval(c1, seq_len(100000)), seq_len(100000)))
l <- list(a = 1, b = "x", c = list(d = TRUE, e = 1:3))
check("nested list", identical(RS.eval(c1, list(a = 1, b = "x", c = list(d = TRUE, e = 1:3))), l))
df <- data.frame(n = 1:3, s = c("a", NA, "c"), f = factor(c("u", "v", "u")))
check("data frame", identical(RS.eval(c1, data.frame(n = 1:3, s = c("a", NA, "c"),
                                                       f = factor(c("u", "v", "u")))), df))

# Assignment keeps the session's state.
invisible(RS.assign(c1, "cars", mtcars))
check("assign a data frame", identical(RS.eval(c1, cars), mtcars))
invisible(RS.assign(c1, "k", 41L))
invisible(RS.eval(c1, k <- k + 1L))
check("state between calls", identical(RS.eval(c1, k), 42L))

# An R error is R's answer; the session goes on.
check("R error status", status_of(RS.eval(c1, stop("boom"))) == "0x1")
check("session after an R error", identical(RS.eval(c1, k), 42L))

# Every command RSclient can send that the proxy refuses is answered with
# ERR_accessDenied (0x48), and the session is untouched.
refused <- list(
    ctrlShutdown = function() RS.server.shutdown(c1),
    ctrlEval = function() RS.server.eval(c1, "q()"),
    ctrlSource = function() RS.server.source(c1, "/etc/passwd"),
    switch = function() RS.switch(c1, "TLS"),
    keyReq = function() RS.authkey(c1)
)
for (name in names(refused)) {
    check(paste("refused:", name), status_of(refused[[name]]()) == "0x48")
    check(paste("session after refused", name), identical(RS.eval(c1, k), 42L))
}

# The warm CDM connection is there and answers.
n <- RS.eval(c1, DBI::dbGetQuery(cdm_con, "SELECT count(*) AS n FROM person")$n)
check("cdm_con query", identical(as.integer(n), 2000L))
check("working directory is the workspace", identical(RS.eval(c1, getwd()), "/sandbox"))

# A second client, over the unix listener, has its own sandbox.
c2 <- RS.connect(sock, port = 0L)
check("second client: no variables of the first", identical(RS.eval(c2, exists("k")), FALSE))
invisible(RS.assign(c2, "k", "other"))
check("first client: own variable kept", identical(RS.eval(c1, k), 42L))
check("second client: own variable", identical(RS.eval(c2, k), "other"))
check("different containers",
      RS.eval(c1, Sys.getenv("HOSTNAME")) != RS.eval(c2, Sys.getenv("HOSTNAME")))

# Large values both ways (spliced through pipes on the proxy).
big <- RS.eval(c1, as.raw(rep_len(0:255, 30e6)))
check("30 MB result", length(big) == 30e6 && identical(big[1:3], as.raw(0:2)) &&
                      sum(as.integer(big[seq(1, 30e6, by = 9973)])) ==
                      sum(rep_len(0:255, 30e6)[seq(1, 30e6, by = 9973)]))
invisible(RS.assign(c1, "up", big))
v <- RS.eval(c1, c(length(up), as.integer(up[30e6]), sum(as.integer(up[1:1000]))))
want <- c(30e6, as.integer(big[30e6]), sum(as.integer(big[1:1000])))
check("30 MB upload", isTRUE(all.equal(v, want)))
if (!isTRUE(all.equal(v, want))) print(list(got = v, want = want))
rm(big)
invisible(RS.eval(c1, {
    rm(up)
    gc()
    NULL
}))

# Pipelined requests are answered in order.
invisible(RS.eval(c1, {
    Sys.sleep(0.2)
    1L
}, wait = FALSE))
invisible(RS.eval(c1, 2L, wait = FALSE))
invisible(RS.eval(c1, {
    Sys.sleep(0.1)
    3L
}, wait = FALSE))
invisible(RS.eval(c1, k * 2L, wait = FALSE))
answers <- c(RS.collect(c1), RS.collect(c1), RS.collect(c1), RS.collect(c1))
check("pipelined answers in order", identical(answers, c(1L, 2L, 3L, 84L)))

# Every sandbox leased: the next client is greeted, and its first command
# is answered with ERR_unavailable (0x62).
held <- list()
for (i in seq_len(max_sandboxes - 2L)) {
    held[[i]] <- RS.connect(port = port)
    check(paste("extra client", i, "leased"), identical(RS.eval(held[[i]], 1L), 1L))
}
cx <- RS.connect(port = port)
check("unavailable when all are leased", status_of(RS.eval(cx, 1L)) == "0x62")
invisible(RS.close(cx))

# A released sandbox is replaced: a new client gets one again. The closes
# must have reached the daemon first, or the new client still finds every
# sandbox leased (and rightly gets 0x62).
released <- function() length(grep('msg="released"', readLines(Sys.getenv("QAP_LOG"))))
before <- released()
invisible(RS.close(c2))
for (h in held) invisible(RS.close(h))
for (i in 1:100) {
    if (released() >= before + 1L + length(held))
        break
    Sys.sleep(0.05)
}
c3 <- RS.connect(port = port)
check("a new client after releases", identical(RS.eval(c3, exists("k")), FALSE))
invisible(RS.close(c3))
check("first client still there", identical(RS.eval(c1, k), 42L))
invisible(RS.close(c1))

# One audit line per connection; the last close may take a moment to show.
for (i in 1:50) {
    log <- readLines(Sys.getenv("QAP_LOG"))
    closed <- grep('front_end=qap1 conn=[0-9]+ msg="connection closed"', log, value = TRUE)
    if (any(grepl("refused=5 ", closed)))
        break
    Sys.sleep(0.1)
}
check("audit line per connection", length(closed) >= 5L &&
          all(grepl("peer=.* listener=.* slot=.* seconds=.* frames_in=.* bytes_out=.* reason=",
                    closed)))
check("audit counts refusals", any(grepl("refused=5 ", closed)))

cat(if (failures == 0L) "PASS" else sprintf("FAIL: %d checks failed", failures), "\n")
quit(status = if (failures == 0L) 0L else 1L)
