/* The R source and SQL checks the session backend builds from tool
 * arguments: R string literals that no argument can break out of, named
 * query parameters as an R list, and the first keyword of a SQL statement. */
#ifndef OMCP_MCP_RCODE_H
#define OMCP_MCP_RCODE_H

#include "proxy/buf.h"

#include <stdbool.h>

#include <jansson.h>

/* Appends s as a double-quoted R string literal: backslash, quote and
 * control characters escaped, other bytes (UTF-8) kept. */
void mcp_rcode_string(struct buf *out, const char *s);

/* Appends params (an object of strings, numbers, booleans and nulls) as an
 * R list(name = value, ...). False, with nothing useful appended, when a
 * name is not [A-Za-z_][A-Za-z0-9_]* or a value is not a scalar. */
bool mcp_rcode_params(struct buf *out, const json_t *params);

/* The first keyword of sql, after blanks and comments, upper-cased into
 * out (at most size-1 letters; "" when there is none). */
void mcp_sql_first_keyword(const char *sql, char *out, size_t size);

/* True for statements omop_query lets through to the read-only connection. */
bool mcp_sql_reads_only(const char *keyword);

#endif
