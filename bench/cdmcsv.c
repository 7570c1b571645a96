/* The CSV reader behind the CDM loader: a byte-at-a-time state machine so it
 * never needs a whole file in memory and never reads past what it was given. */
#include "bench/cdmcsv.h"

#include "proxy/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cdmcsv_init(struct cdmcsv *csv, size_t max_record, size_t max_fields)
{
    memset(csv, 0, sizeof(*csv));
    csv->state = CDMCSV_FIELD_START;
    csv->line = 1;
    csv->record_line = 1;
    csv->max_record = max_record;
    csv->max_fields = max_fields;
    csv->at_start = true;
}

void cdmcsv_free(struct cdmcsv *csv)
{
    buf_free(&csv->record);
    free(csv->starts);
    free(csv->fields);
    csv->starts = NULL;
    csv->fields = NULL;
}

static bool csv_fail(struct cdmcsv *csv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool csv_fail(struct cdmcsv *csv, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(csv->error, sizeof(csv->error), "line %zu: ", csv->line);

    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(csv->error))
        vsnprintf(csv->error + n, sizeof(csv->error) - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static bool csv_put(struct cdmcsv *csv, char c)
{
    if (csv->record.len >= csv->max_record)
        return csv_fail(csv, "record longer than %zu bytes", csv->max_record);
    buf_putc_fast(&csv->record, c);
    return true;
}

/* Opens a new field at the current end of the record. */
static bool csv_begin_field(struct cdmcsv *csv)
{
    if (csv->nfields >= csv->max_fields)
        return csv_fail(csv, "more than %zu fields", csv->max_fields);
    if (csv->nfields == csv->cap_fields) {
        csv->cap_fields = csv->cap_fields ? csv->cap_fields * 2 : 32;
        csv->starts = xrealloc(csv->starts, csv->cap_fields * sizeof(*csv->starts));
        csv->fields = xrealloc(csv->fields, csv->cap_fields * sizeof(*csv->fields));
    }
    csv->starts[csv->nfields++] = csv->record.len;
    csv->in_record = true;
    csv->field_open = true;
    return true;
}

/* Closes the open field, or adds an empty one (after a comma). */
static bool csv_end_field(struct cdmcsv *csv)
{
    if (!csv->field_open && !csv_begin_field(csv))
        return false;
    csv->field_open = false;
    return csv_put(csv, '\0');
}

/* Hands the finished record to the callback and resets for the next one. */
static bool csv_emit(struct cdmcsv *csv, cdmcsv_record_fn fn, void *ctx)
{
    struct cdmcsv_record record;
    bool ok;

    for (size_t i = 0; i < csv->nfields; i++)
        csv->fields[i] = csv->record.data + csv->starts[i];
    record.fields = csv->fields;
    record.nfields = csv->nfields;
    record.line = csv->record_line;
    csv->nfields = 0;
    csv->in_record = false;
    csv->field_open = false;
    csv->state = CDMCSV_FIELD_START;
    ok = fn(ctx, &record);
    buf_reset(&csv->record); /* only now: the fields point into it */
    if (!ok) {
        csv->stopped = true;
        snprintf(csv->error, sizeof(csv->error), "line %zu: stopped by the reader", record.line);
        return false;
    }
    return true;
}

/* A line end outside quotes: ends the record; blank lines are skipped. */
static bool csv_newline(struct cdmcsv *csv, cdmcsv_record_fn fn, void *ctx)
{
    bool ok = true;

    if (csv->in_record)
        ok = csv_end_field(csv) && csv_emit(csv, fn, ctx);
    csv->state = CDMCSV_FIELD_START;
    csv->line++;
    csv->record_line = csv->line;
    return ok;
}

static bool csv_step_outside(struct cdmcsv *csv, char c, cdmcsv_record_fn fn, void *ctx)
{
    switch (c) {
    case ',':
        csv->state = CDMCSV_FIELD_START;
        return csv_end_field(csv);
    case '\n':
        return csv_newline(csv, fn, ctx);
    case '\r':
        csv->state = CDMCSV_CR_SEEN;
        return true;
    case '"':
        if (csv->state == CDMCSV_FIELD_START && !csv->field_open) {
            csv->state = CDMCSV_QUOTED;
            return csv_begin_field(csv);
        }
        return csv_fail(csv, "quote inside an unquoted field");
    default:
        if (csv->state == CDMCSV_QUOTE_SEEN)
            return csv_fail(csv, "text after a closing quote");
        if (!csv->field_open && !csv_begin_field(csv))
            return false;
        csv->state = CDMCSV_UNQUOTED;
        return csv_put(csv, c);
    }
}

static bool csv_step(struct cdmcsv *csv, char c, cdmcsv_record_fn fn, void *ctx)
{
    if (c == '\0')
        return csv_fail(csv, "NUL byte");
    switch (csv->state) {
    case CDMCSV_QUOTED:
        if (c == '"') {
            csv->state = CDMCSV_QUOTE_SEEN;
            return true;
        }
        if (c == '\n')
            csv->line++;
        return csv_put(csv, c);
    case CDMCSV_QUOTE_SEEN:
        if (c == '"') {
            csv->state = CDMCSV_QUOTED;
            return csv_put(csv, c);
        }
        return csv_step_outside(csv, c, fn, ctx);
    case CDMCSV_CR_SEEN:
        if (c != '\n')
            return csv_fail(csv, "CR not followed by LF");
        return csv_newline(csv, fn, ctx);
    default:
        return csv_step_outside(csv, c, fn, ctx);
    }
}

static const char csv_bom[3] = {'\xef', '\xbb', '\xbf'};

/* Parses the bytes held back while they looked like a byte order mark. */
static bool csv_replay_bom(struct cdmcsv *csv, cdmcsv_record_fn fn, void *ctx)
{
    csv->at_start = false;
    for (unsigned i = 0; i < csv->bom_seen; i++) {
        if (!csv_step(csv, csv_bom[i], fn, ctx))
            return false;
    }
    return true;
}

/* Skips a UTF-8 byte order mark at the very start; bytes that only looked
 * like its beginning are parsed as ordinary input. */
static bool csv_step_bom(struct cdmcsv *csv, char c, cdmcsv_record_fn fn, void *ctx)
{
    if (c == csv_bom[csv->bom_seen]) {
        if (++csv->bom_seen == sizeof(csv_bom))
            csv->at_start = false;
        return true;
    }
    return csv_replay_bom(csv, fn, ctx) && csv_step(csv, c, fn, ctx);
}

bool cdmcsv_feed(struct cdmcsv *csv, const char *bytes, size_t len, cdmcsv_record_fn fn, void *ctx)
{
    if (csv->error[0])
        return false;
    for (size_t i = 0; i < len; i++) {
        bool ok =
            csv->at_start ? csv_step_bom(csv, bytes[i], fn, ctx) : csv_step(csv, bytes[i], fn, ctx);
        if (!ok)
            return false;
    }
    return true;
}

bool cdmcsv_finish(struct cdmcsv *csv, cdmcsv_record_fn fn, void *ctx)
{
    if (csv->error[0])
        return false;
    if (csv->at_start && !csv_replay_bom(csv, fn, ctx))
        return false;
    if (csv->state == CDMCSV_QUOTED)
        return csv_fail(csv, "quoted field not closed at end of input");
    if (csv->in_record || csv->state == CDMCSV_CR_SEEN)
        return csv_newline(csv, fn, ctx);
    return true;
}
