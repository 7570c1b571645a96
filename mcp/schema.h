/* A small JSON Schema checker for tool arguments: the subset the tool table
 * uses (type, properties, required, additionalProperties, enum, bounds,
 * lengths, items), so a tool's declared schema is also what is enforced. */
#ifndef OMCP_MCP_SCHEMA_H
#define OMCP_MCP_SCHEMA_H

#include <stdbool.h>

#include <jansson.h>

struct mcp_schema_error {
    char path[128];    /* where: "limits.max_duration_secs", "" for the whole value */
    char top[64];      /* the top-level property involved, "" when none */
    char message[256]; /* what is wrong, naming the argument */
};

/* Returns true when value fits schema; otherwise fills err with the first problem. */
bool mcp_schema_check(const json_t *schema, const json_t *value, struct mcp_schema_error *err);

#endif
