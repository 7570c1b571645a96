# Runs once in the Rserve parent at start: loads and attaches the packages
# so that each session (a fork of this process) starts with them for free,
# and defines the warm-up functions the pool calls on each new connection.

local({
    attach_quietly <- function(pkgs) {
        for (p in pkgs)
            suppressPackageStartupMessages(library(p, character.only = TRUE))
    }
    # Attached in every session, in this order: later ones mask earlier ones.
    attach_quietly(c("DBI", "RSQLite", "ggplot2", "tibble", "tidyr", "readr", "purrr",
                     "stringr", "lubridate", "dplyr", "dbplyr"))
    # Loaded but not attached: attaching them would mask functions of the
    # ones above; library() of them in a session is then instant. survival
    # is left to the sessions that use it: with Matrix it would add about a
    # second of CPU to every container start.
    for (p in c("data.table", "jsonlite", "bit64", "RPostgreSQL", "evaluate"))
        loadNamespace(p)
})

# The warm-up and evaluation functions live in an attached environment of their own, so a
# session's ls() stays empty and rm(list = ls()) cannot remove them.
local({
    env <- attach(NULL, name = "omcp:sandbox")
    sys.source("/opt/omcp/warmup.R", envir = env)
    sys.source("/opt/omcp/exec.R", envir = env)
})

# Opening a PNG device once here loads cairo and the font cache in the
# parent instead of in every session.
local({
    f <- tempfile(fileext = ".png")
    grDevices::png(f, type = "cairo")
    plot.new()
    text(0.5, 0.5, "warm")
    grDevices::dev.off()
    unlink(f)
})

# One evaluation through the same path execute_in_session takes loads what
# it needs (evaluate's handlers, print and format methods, jsonlite's
# writer) and compiles it here once, so a session's first call is as fast
# as its second.
invisible(utils::capture.output(omcp_exec("data.frame(n = 1:2, s = c(\"a\", NA))")))

# Every session is a fork of this process and shares its memory until it
# writes. R's garbage collector writes to every object it marks, so the
# first full collection in a session copies the whole inherited heap
# (about 95 MB here). Collecting now leaves the session the most headroom
# before its first collection, which keeps an idle warm session small.
invisible(gc(full = TRUE))
