/* What describe_cdm reports about one embedded CDM, read on the host from
 * its SQLite file (read-only): version and source from cdm_source, tables
 * with row counts, vocabularies. */
#ifndef OMCP_MCP_CDMINFO_H
#define OMCP_MCP_CDMINFO_H

#include <jansson.h>

/* {name, source, cdm_version, cdm_source_name, tables: [{name, rows}],
 * vocabularies: [...]} for <dir>/<name>.sqlite, or {name, error} when the
 * file cannot be read. A new reference. Blocks for the time of the counts:
 * a few milliseconds on the CDMs this serves. */
json_t *mcp_cdm_describe(const char *dir, const char *name);

#endif
