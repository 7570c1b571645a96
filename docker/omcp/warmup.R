# Warm-up of one sandbox session. The preload sources this file into the
# attached environment "omcp:sandbox" of the Rserve parent; the pool then
# calls omcp_warmup() once on each new connection (a fresh fork).

# Where CDMs are bind-mounted read-only, one SQLite file per CDM name.
omcp_cdm_dir <- "/cdm"

# Opens the CDM `name` read-only as `cdm_con` in the session's global
# environment, closing the one open before; "" closes and opens nothing.
# An embedded CDM is /cdm/<name>.sqlite; otherwise a PostgreSQL CDM is the
# database of that name, reached through the socket directory in DB_HOST
# with peer authentication as the read-only role DB_USER (no password exists
# anywhere in the container); DB_NAME then names it. Returns the name.
omcp_open_cdm <- function(name = "") {
    stopifnot(is.character(name), length(name) == 1L, !is.na(name))
    if (!grepl("^[A-Za-z0-9_.-]*$", name) || startsWith(name, "."))
        stop("invalid CDM name: ", name)
    genv <- globalenv()
    old <- get0("cdm_con", envir = genv, inherits = FALSE)
    if (inherits(old, "DBIConnection"))
        try(DBI::dbDisconnect(old), silent = TRUE)
    if (exists("cdm_con", envir = genv, inherits = FALSE))
        rm("cdm_con", envir = genv)
    if (!nzchar(name))
        return(invisible(""))

    path <- file.path(omcp_cdm_dir, paste0(name, ".sqlite"))
    if (file.exists(path)) {
        con <- DBI::dbConnect(RSQLite::SQLite(), path, flags = RSQLite::SQLITE_RO)
    } else if (nzchar(Sys.getenv("DB_HOST"))) {
        con <- DBI::dbConnect(RPostgreSQL::PostgreSQL(),
                              host = Sys.getenv("DB_HOST"),
                              port = as.integer(Sys.getenv("DB_PORT", "5432")),
                              dbname = name, user = Sys.getenv("DB_USER"))
        Sys.setenv(DB_NAME = name)
    } else {
        stop("CDM not mounted: ", name)
    }
    # One tiny query makes the connection really open (file header read,
    # or the server session started) before anyone waits for it.
    DBI::dbGetQuery(con, "SELECT 1 AS ok")
    assign("cdm_con", con, envir = genv)
    invisible(name)
}

# Prepares a fresh session and returns its process id, the one the pool
# signals to interrupt an evaluation. Arguments:
#   cdm      name of the default CDM ("" for none)
#   db_host, db_port, db_name, db_user
#            exported as DB_HOST, DB_PORT, DB_NAME, DB_USER for scripts
#            written for the reference server; empty ones are left unset.
#            Never a password.
#   workdir  the session's working directory (the workspace)
omcp_warmup <- function(cdm = Sys.getenv("OMCP_CDM"), db_host = "", db_port = "",
                        db_name = "", db_user = "", workdir = "/sandbox") {
    vars <- c(DB_HOST = db_host, DB_PORT = as.character(db_port), DB_NAME = db_name,
              DB_USER = db_user)
    vars <- vars[nzchar(vars)]
    if (length(vars))
        do.call(Sys.setenv, as.list(vars))
    # After process recycling the parent's temporary directory is gone:
    # this session gets one of its own, under a new name.
    tempdir(check = TRUE)
    if (dir.exists(workdir))
        setwd(workdir)
    omcp_open_cdm(cdm)
    # A fresh fork pays tens of milliseconds on its first evaluation (pages
    # of the parent's heap copied as they are written, a graphics device
    # opened); one evaluation here pays them before the session is leased.
    invisible(utils::capture.output(omcp_exec("invisible(NULL)")))
    Sys.getpid()
}
