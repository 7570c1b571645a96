/* A streaming CSV reader for CDM extracts (RFC 4180 quoting, LF or CRLF
 * line ends): bytes go in as they come off the archive, records come out. */
#ifndef OMCP_CDMCSV_H
#define OMCP_CDMCSV_H

#include "proxy/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum cdmcsv_state {
    CDMCSV_FIELD_START, /* at the start of a field */
    CDMCSV_UNQUOTED,    /* inside a field without quotes */
    CDMCSV_QUOTED,      /* inside a quoted field */
    CDMCSV_QUOTE_SEEN,  /* a quote inside a quoted field: end or escaped quote */
    CDMCSV_CR_SEEN,     /* a CR that must be followed by LF */
};

/* One record: nfields NUL-terminated fields. A field never holds a NUL byte
 * (such input is refused), so each is a complete C string. */
struct cdmcsv_record {
    const char **fields;
    size_t nfields;
    size_t line; /* line number where the record starts, from 1 */
};

/* Returns false to stop the reader; cdmcsv_feed() then returns false too. */
typedef bool (*cdmcsv_record_fn)(void *ctx, const struct cdmcsv_record *record);

struct cdmcsv {
    enum cdmcsv_state state;
    struct buf record; /* field bytes, each followed by NUL */
    size_t *starts;    /* offset of each field in record */
    size_t nfields;
    size_t cap_fields;
    const char **fields; /* pointers handed to the callback */
    size_t line;         /* current line, from 1 */
    size_t record_line;  /* line where the pending record started */
    size_t max_record;   /* bytes one record may take */
    size_t max_fields;   /* fields one record may have */
    bool at_start;       /* still where a UTF-8 BOM may be */
    bool in_record;      /* a record has begun and not ended */
    bool field_open;     /* a field has begun and not ended */
    unsigned bom_seen;   /* bytes of a leading UTF-8 BOM matched so far */
    bool stopped;        /* the callback asked to stop */
    char error[160];     /* why the input was refused */
};

void cdmcsv_init(struct cdmcsv *csv, size_t max_record, size_t max_fields);
void cdmcsv_free(struct cdmcsv *csv);

/* Parses len bytes, calling fn for every complete record. Returns false on
 * malformed input (csv->error says why and where) or when fn stopped. */
bool cdmcsv_feed(struct cdmcsv *csv, const char *bytes, size_t len, cdmcsv_record_fn fn, void *ctx);

/* Ends the input: emits a last record that lacks its newline, and refuses a
 * quoted field left open. */
bool cdmcsv_finish(struct cdmcsv *csv, cdmcsv_record_fn fn, void *ctx);

#endif
