/* What describe_cdm reports about one CDM, read on the host: from its
 * SQLite file (read-only), or for a CDM on PostgreSQL from the <name>.pg
 * description its loader wrote: version and source from cdm_source, tables
 * with row counts, vocabularies. */
#ifndef OMCP_MCP_CDMINFO_H
#define OMCP_MCP_CDMINFO_H

#include <jansson.h>

/* {name, source, cdm_version, cdm_source_name, tables: [{name, rows}],
 * vocabularies: [...]} for <dir>/<name>.sqlite (source "sqlite"), else for
 * <dir>/<name>.pg (source "postgresql", with database and loaded_at), or
 * {name, source, error} when the file cannot be read. A new reference.
 * Blocks for the time of the SQLite counts: a few milliseconds on the CDMs
 * this serves. */
json_t *mcp_cdm_describe(const char *dir, const char *name);

#endif
