# What execute_in_session and omop_query run inside a session. The preload
# sources this file into the attached environment "omcp:sandbox". Each
# function answers with a list: `meta`, one JSON text (built by jsonlite)
# that the daemon reads as it is, and for an evaluation `value`, the last
# visible value itself, which the daemon converts to JSON on its side.

# Values larger than this (object.size) are not sent back as JSON.
omcp_value_max_bytes <- 1e6
# At most this many plots of one call come back as PNG images.
omcp_plot_max <- 8L
# Where output beyond the inline limit is saved, inside the workspace.
omcp_output_dir <- "/sandbox/.omcp"

# Cuts a string to at most n bytes without splitting a UTF-8 sequence.
omcp_cut_bytes <- function(s, n) {
    if (nchar(s, type = "bytes") <= n)
        return(s)
    cut <- rawToChar(charToRaw(s)[seq_len(n)])
    Encoding(cut) <- "UTF-8"
    iconv(cut, "UTF-8", "UTF-8", sub = "")
}

omcp_plot_png <- function(p) {
    f <- tempfile(fileext = ".png")
    on.exit(unlink(f))
    grDevices::png(f, width = 800, height = 600, type = "cairo")
    ok <- tryCatch({
        grDevices::replayPlot(p)
        TRUE
    }, error = function(e) FALSE, finally = grDevices::dev.off())
    if (!ok || !file.exists(f))
        return(NULL)
    gsub("\n", "", jsonlite::base64_enc(readBin(f, "raw", file.info(f)$size)), fixed = TRUE)
}

# The call a condition names, as R's console shows it: none for the
# top-level call evaluate() itself makes.
omcp_call_text <- function(cond) {
    call <- conditionCall(cond)
    if (is.null(call))
        return(NULL)
    text <- paste(deparse(call, nlines = 1L), collapse = "")
    if (identical(text, "eval(expr, envir, enclos)")) NULL else text
}

# One evaluate() item as a stream entry and its console text.
omcp_stream_entry <- function(item) {
    if (is.character(item))
        return(list(type = "output", text = paste(item, collapse = "")))
    if (inherits(item, "error"))
        return(list(type = "error", text = conditionMessage(item), call = omcp_call_text(item)))
    if (inherits(item, "warning"))
        return(list(type = "warning", text = conditionMessage(item), call = omcp_call_text(item)))
    if (inherits(item, "message"))
        return(list(type = "message", text = conditionMessage(item)))
    if (inherits(item, "recordedplot"))
        return(list(type = "plot"))
    NULL
}

omcp_console_text <- function(e) {
    switch(e$type,
           output = e$text,
           message = e$text,
           warning = paste0("Warning message:\n", e$text, "\n"),
           error = paste0(if (is.null(e$call)) "Error: " else paste0("Error in ", e$call, " : "),
                          e$text, "\n"),
           "")
}

# Saves all of the output to a new workspace file; returns its /sandbox path.
omcp_save_output <- function(text) {
    dir.create(omcp_output_dir, showWarnings = FALSE, recursive = TRUE)
    path <- file.path(omcp_output_dir,
                      sprintf("output-%s-%d.txt", format(Sys.time(), "%Y%m%d-%H%M%OS3"),
                              Sys.getpid()))
    ok <- tryCatch({
        writeLines(text, path, sep = "", useBytes = TRUE)
        TRUE
    }, error = function(e) FALSE, warning = function(w) FALSE)
    if (ok) path else NULL
}

# Evaluates code like R's console in the global environment: visible values
# are printed (so a ggplot draws), and everything comes back in order.
omcp_exec <- function(code, max_output = 100000) {
    last <- NULL
    has_value <- FALSE
    result <- NULL
    on_value <- function(x, visible) {
        if (!visible)
            return(invisible())
        last <<- x
        has_value <<- TRUE
        text <- utils::capture.output(print(x))
        result <<- paste(text, collapse = "\n")
        cat(text, sep = "\n")
    }
    items <- evaluate::evaluate(code, envir = globalenv(), stop_on_error = 1L,
                                output_handler = evaluate::new_output_handler(value = on_value))
    omcp_exec_answer(items, last, has_value, result, max_output)
}

omcp_exec_answer <- function(items, last, has_value, result, max_output) {
    stream <- Filter(Negate(is.null), lapply(items, omcp_stream_entry))
    output <- paste(vapply(stream, omcp_console_text, ""), collapse = "")
    plots <- Filter(Negate(is.null),
                    lapply(head(Filter(function(i) inherits(i, "recordedplot"), items),
                                omcp_plot_max), omcp_plot_png))
    errors <- Filter(function(e) e$type == "error", stream)
    truncated <- nchar(output, type = "bytes") > max_output
    output_file <- if (truncated) omcp_save_output(output) else NULL
    if (truncated) {
        output <- omcp_cut_bytes(output, max_output)
        stream <- omcp_cut_stream(stream, max_output)
    }
    value_omitted <- has_value && utils::object.size(last) > omcp_value_max_bytes
    meta <- list(output = output, result = result, stream = stream, plots = plots,
                 error = if (length(errors)) errors[[1]] else NULL,
                 output_truncated = truncated, output_file = output_file,
                 has_value = has_value, value_omitted = value_omitted)
    list(meta = as.character(jsonlite::toJSON(meta, auto_unbox = TRUE, null = "null")),
         value = if (has_value && !value_omitted) last else NULL)
}

# Keeps stream entries while their text fits in the byte budget.
omcp_cut_stream <- function(stream, budget) {
    for (i in seq_along(stream)) {
        n <- nchar(stream[[i]]$text %||% "", type = "bytes")
        if (!is.null(stream[[i]]$text))
            stream[[i]]$text <- omcp_cut_bytes(stream[[i]]$text, max(budget, 0))
        budget <- budget - n
    }
    stream
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Runs one read-only query on cdm_con: SQLite's query_only for the
# duration, or a read-only transaction that is rolled back elsewhere.
omcp_query <- function(sql, params = list(), max_rows = 1000L) {
    started <- Sys.time()
    answer <- tryCatch(omcp_query_run(sql, params, max_rows),
                       error = function(e) list(error = list(message = conditionMessage(e))))
    answer$elapsed_secs <- as.numeric(difftime(Sys.time(), started, units = "secs"))
    list(meta = as.character(jsonlite::toJSON(answer, auto_unbox = TRUE, null = "null",
                                              na = "null", digits = NA, dataframe = "values")))
}

omcp_query_run <- function(sql, params, max_rows) {
    con <- get0("cdm_con", envir = globalenv(), inherits = FALSE)
    if (!inherits(con, "DBIConnection"))
        stop("this session has no cdm_con connection")
    if (inherits(con, "SQLiteConnection")) {
        old <- DBI::dbGetQuery(con, "PRAGMA query_only")[[1]]
        DBI::dbExecute(con, "PRAGMA query_only = 1")
        on.exit(DBI::dbExecute(con, sprintf("PRAGMA query_only = %d", as.integer(old))))
    } else {
        DBI::dbBegin(con)
        on.exit(DBI::dbRollback(con))
        DBI::dbExecute(con, "SET TRANSACTION READ ONLY")
    }
    if (length(params) && !inherits(con, "SQLiteConnection")) {
        positional <- omcp_positional_params(sql, params)
        sql <- positional$sql
        params <- positional$params
    }
    rs <- if (length(params)) DBI::dbSendQuery(con, sql, params = params)
          else DBI::dbSendQuery(con, sql)
    on.exit(DBI::dbClearResult(rs), add = TRUE, after = FALSE)
    df <- DBI::dbFetch(rs, n = max_rows + 1L)
    info <- DBI::dbColumnInfo(rs)
    truncated <- nrow(df) > max_rows
    if (truncated)
        df <- df[seq_len(max_rows), , drop = FALSE]
    list(columns = I(Map(function(n, t) list(name = n, type = t), info$name, info$type,
                         USE.NAMES = FALSE)),
         rows = if (nrow(df)) df else I(list()), row_count = nrow(df), truncated = truncated)
}

# PostgreSQL's driver binds $1, $2, ... only: each named placeholder
# (:name, outside quoted text and comments, not the second colon of a
# ::type cast) becomes the position of its name, a name used twice keeps
# one position. The values travel as text parameters and the server types
# them by their context. Returns the SQL and the values in position order.
omcp_positional_params <- function(sql, params) {
    pattern <- paste0("(?s)'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|/\\*.*?\\*/",
                      "|(?<!:):[A-Za-z_][A-Za-z0-9_]*")
    found <- gregexpr(pattern, sql, perl = TRUE)
    used <- character()
    tokens <- vapply(regmatches(sql, found)[[1]], function(token) {
        name <- substring(token, 2L)
        if (!startsWith(token, ":") || !name %in% names(params))
            return(token)
        if (!name %in% used)
            used <<- c(used, name)
        paste0("$", match(name, used))
    }, "", USE.NAMES = FALSE)
    regmatches(sql, found) <- list(tokens)
    list(sql = sql, params = unname(params[used]))
}
