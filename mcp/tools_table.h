/* The tool definitions: descriptions and schemas as JSON text, shared by the
 * tool table and its tests. Only mcp/tools.c includes this directly. */
#ifndef OMCP_MCP_TOOLS_TABLE_H
#define OMCP_MCP_TOOLS_TABLE_H

/* JSON text reads better laid out by hand. */
/* clang-format off */
#define TOOL_SESSION_ID                                                                           \
    "\"session_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,"                      \
    "\"description\":\"The session_id returned by create_session. Only sessions created by this " \
    "client are visible.\"}"

#define TOOL_PATH(what)                                                                            \
    "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,\"description\":\"" what     \
    " Relative paths are taken under /sandbox (the session's workspace); absolute paths must lie " \
    "under /sandbox. Paths that leave /sandbox fail with invalid_path.\"}"

#define TOOL_ENCODING(what)                                                                  \
    "\"encoding\":{\"type\":\"string\",\"enum\":[\"text\",\"base64\"],\"default\":\"text\"," \
    "\"description\":\"" what "\"}"

#define TOOL_NO_ARGS "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"

#define TOOL_META_EXEC                                                                          \
    "\"meta\":{\"type\":\"object\",\"description\":\"elapsed_secs, output_truncated and, when " \
    "output was cut, output_file (the workspace path holding all of it)\",\"properties\":{"     \
    "\"elapsed_secs\":{\"type\":\"number\"},\"output_truncated\":{\"type\":\"boolean\"},"       \
    "\"output_file\":{\"type\":\"string\"}}}"

#define TOOL_SESSION_FIELDS                                                                  \
    "\"session_id\":{\"type\":\"string\"},\"created_at\":{\"type\":\"string\","              \
    "\"description\":\"ISO 8601, UTC\"},\"last_used\":{\"type\":\"string\"},"                \
    "\"cdm\":{\"type\":[\"string\",\"null\"],\"description\":\"the CDM bound to cdm_con\"}," \
    "\"idle_timeout_secs\":{\"type\":\"number\"}"

#define TOOL_CHECKSUM \
    "\"xxh3\":{\"type\":\"string\",\"description\":\"XXH3-64 of the file's bytes, 16 hex digits\"}"

#define CREATE_SESSION_INPUT                                                                      \
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"                        \
    "\"timeout\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":86400,"               \
    "\"description\":\"Idle timeout in seconds: the session is closed after this long without a " \
    "call. Defaults to the server's SANDBOX_TIMEOUT (300).\"},"                                   \
    "\"cdm\":{\"type\":[\"string\",\"null\"],\"minLength\":1,\"maxLength\":64,"                   \
    "\"description\":\"Name of the OMOP CDM to open as cdm_con (see describe_cdm). Defaults to "  \
    "the server's default CDM.\"}}}"

#define CREATE_SESSION_OUTPUT                                                                  \
    "{" TOOL_SESSION_FIELDS ",\"acquire_ms\":{\"type\":\"number\",\"description\":\"how long " \
    "getting a warm R process took\"}}"

#define LIST_SESSIONS_OUTPUT                                                            \
    "{\"sessions\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
    "\"id\":{\"type\":\"string\"}," TOOL_SESSION_FIELDS                                 \
    ",\"history_count\":{\"type\":\"integer\"}"                                         \
    "}}},\"count\":{\"type\":\"integer\"}}"

#define CLOSE_SESSION_INPUT                                                              \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\"]," \
    "\"properties\":{" TOOL_SESSION_ID "}}"

#define MESSAGE_OUTPUT "{\"message\":{\"type\":\"string\"}}"

#define EXECUTE_INPUT                                                                             \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\",\"code\"]," \
    "\"properties\":{" TOOL_SESSION_ID ",\"code\":{\"type\":\"string\",\"minLength\":1,"          \
    "\"description\":\"R code, evaluated like R's console: visible values are printed (so a "     \
    "ggplot is drawn), variables persist between calls of the same session, plots drawn come "    \
    "back as PNG images, and cdm_con is an open read-only DBI connection to the session's CDM. "  \
    "At most MAX_CODE_CHARS characters (code_too_large beyond).\"},"                              \
    "\"limits\":{\"type\":[\"object\",\"null\"],\"additionalProperties\":false,"                  \
    "\"description\":\"Optional limits for this call (invalid_limits when not positive).\","      \
    "\"properties\":{\"max_duration_secs\":{\"type\":\"number\",\"exclusiveMinimum\":0,"          \
    "\"description\":\"Interrupt R after this many seconds (execution_timeout); the session "     \
    "keeps its variables.\"},\"max_output_bytes\":{\"type\":\"integer\",\"exclusiveMinimum\":0,"  \
    "\"description\":\"Return at most this many bytes of output; the rest is saved to a file in " \
    "the workspace named in meta.output_file.\"}}}}}"

#define EXECUTE_OUTPUT                                                                          \
    "{\"output\":{\"type\":\"string\",\"description\":\"printed output, messages and warnings, "  \
    "in order\"},\"result\":{\"type\":\"string\",\"description\":\"the last value as R prints "   \
    "it\"},\"value\":{\"description\":\"the last value as JSON\"},"                                \
    "\"stream\":{\"type\":\"array\",\"description\":\"output, message, warning and error entries " \
    "in the order R produced them\",\"items\":{\"type\":\"object\"}},"                             \
    "\"plots\":{\"type\":\"integer\",\"description\":\"PNG images returned as image content\"},"  \
    TOOL_META_EXEC                                                                                \
    "}"

#define LIST_FILES_INPUT                                                                           \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\"],"           \
    "\"properties\":{" TOOL_SESSION_ID "," TOOL_PATH("Directory to list; \\\".\\\" (the default) " \
                                                     "is the workspace root.") "}}"

#define LIST_FILES_OUTPUT                                                                 \
    "{\"files\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"      \
    "\"name\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"is_dir\":{\"type\":" \
    "\"boolean\"},\"size\":{\"type\":\"integer\"},\"modified_at\":{\"type\":\"string\"}}}}}"

#define READ_FILE_INPUT                                                                           \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\",\"path\"]," \
    "\"properties\":{" TOOL_SESSION_ID "," TOOL_PATH("File to read.") "," TOOL_ENCODING(          \
        "text returns the bytes as UTF-8 text (invalid sequences replaced); base64 "              \
        "returns them exactly, base64-encoded, for binary files such as PNG or RDS.") "}}"

#define READ_FILE_OUTPUT                                                                        \
    "{\"content\":{\"type\":\"string\"},\"encoding\":{\"type\":\"string\"},\"path\":{\"type\":" \
    "\"string\"},\"size\":{\"type\":\"integer\"}," TOOL_CHECKSUM "}"

#define WRITE_FILE_INPUT                                                                        \
    "{\"type\":\"object\",\"additionalProperties\":false,"                                         \
    "\"required\":[\"session_id\",\"path\",\"content\"],\"properties\":{"                          \
    TOOL_SESSION_ID ","                                                                           \
    TOOL_PATH("File to create or replace; missing directories are created.") ","                  \
    "\"content\":{\"type\":\"string\",\"description\":\"The file's content: UTF-8 text, or "      \
    "base64 when encoding is base64. At most MAX_FILE_WRITE_BYTES bytes once decoded "             \
    "(file_too_large beyond).\"},"                                                                 \
    TOOL_ENCODING("How content is encoded: text (stored as UTF-8) or base64 (decoded, stored "     \
                  "byte for byte).")                                                              \
    "}}"

#define WRITE_FILE_OUTPUT                                                                   \
    "{\"message\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"size\":{\"type\":" \
    "\"integer\"}," TOOL_CHECKSUM "}"

#define EXPORT_INPUT                                                                       \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\"],"      \
    "\"properties\":{" TOOL_SESSION_ID "," TOOL_PATH("Directory to export; \\\".\\\" (the "     \
                                                     "default) is the whole workspace.") "}}"

#define EXPORT_OUTPUT                                                                          \
    "{\"archive\":{\"type\":\"string\",\"description\":\"the tar archive, base64\"},"          \
    "\"format\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"files\":{\"type\":"    \
    "\"integer\"},\"skipped\":{\"type\":\"integer\",\"description\":\"links and special files " \
    "left out\"},\"bytes\":{\"type\":\"integer\"},\"size\":{\"type\":\"integer\"},"             \
    TOOL_CHECKSUM "}"

#define IMPORT_INPUT                                                                              \
    "{\"type\":\"object\",\"additionalProperties\":false,"                                        \
    "\"required\":[\"session_id\",\"archive\"],\"properties\":{" TOOL_SESSION_ID ","              \
    TOOL_PATH("Directory to unpack into; \\\".\\\" (the default) is the workspace root.") ","     \
    "\"archive\":{\"type\":\"string\",\"description\":\"A tar archive (plain or gzip), base64. "  \
    "Only files and directories are accepted; links, special files and names leaving /sandbox " \
    "refuse the whole archive. At most MAX_FILE_WRITE_BYTES once decoded.\"}}}"

#define IMPORT_OUTPUT                                                                           \
    "{\"message\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"},\"files\":{\"type\":"    \
    "\"integer\"},\"bytes\":{\"type\":\"integer\"}}"

#define INSTALL_INPUT                                                                             \
    "{\"type\":\"object\",\"additionalProperties\":false,"                                        \
    "\"required\":[\"session_id\",\"package_name\"],\"properties\":{" TOOL_SESSION_ID ","         \
    "\"package_name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,\"description\":"    \
    "\"An R package name (CRAN), or owner/repo (GitHub).\"},"                                     \
    "\"source\":{\"type\":\"string\",\"default\":\"CRAN\",\"description\":\"CRAN or GitHub "      \
    "(any case; invalid_source otherwise). Sandboxes have no network: only packages in the "      \
    "operator's local repository can be installed, into this session's library, and only pure-R " \
    "ones; others fail with a structured error saying why.\"}}}"

#define INSTALL_OUTPUT \
    "{\"message\":{\"type\":\"string\"},\"output\":{\"type\":\"string\"}," TOOL_META_EXEC "}"

#define OMOP_QUERY_INPUT                                                                        \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"session_id\",\"sql\"],"   \
    "\"properties\":{" TOOL_SESSION_ID ",\"sql\":{\"type\":\"string\",\"minLength\":1,"            \
    "\"maxLength\":100000,\"description\":\"One read-only SQL statement run on the session's "    \
    "cdm_con (SELECT or WITH; anything that writes is refused). Use named parameters such as "    \
    "$person_id or :person_id for values.\"},\"params\":{\"type\":[\"object\",\"null\"],"          \
    "\"description\":\"Values of the named parameters: strings, numbers, booleans or null.\","    \
    "\"additionalProperties\":{\"type\":[\"string\",\"number\",\"boolean\",\"null\"]}},"           \
    "\"max_rows\":{\"type\":[\"integer\",\"null\"],\"minimum\":1,\"maximum\":100000,"              \
    "\"description\":\"Return at most this many rows (default 1000); truncated says whether "     \
    "more existed.\"}}}"

#define OMOP_QUERY_OUTPUT                                                              \
    "{\"columns\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{" \
    "\"name\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"}}}},"                \
    "\"rows\":{\"type\":\"array\",\"items\":{\"type\":\"array\"}},"                    \
    "\"row_count\":{\"type\":\"integer\"},\"truncated\":{\"type\":\"boolean\"},"       \
    "\"cdm\":{\"type\":\"string\"},\"elapsed_secs\":{\"type\":\"number\"}}"

#define DESCRIBE_CDM_OUTPUT                                                                    \
    "{\"default\":{\"type\":[\"string\",\"null\"]},\"cdms\":{\"type\":\"array\",\"items\":{"   \
    "\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"cdm_version\":{"     \
    "\"type\":\"string\"},\"source\":{\"type\":\"string\"},\"tables\":{\"type\":\"array\","    \
    "\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"rows\":{" \
    "\"type\":\"integer\"}}}},\"vocabularies\":{\"type\":\"array\"}}}}}"

#define POOL_STATUS_OUTPUT                                                                        \
    "{\"slots\":{\"type\":\"object\",\"description\":\"slot count by state: creating, starting, " \
    "warming, idle, leased, retiring\"},\"max_sandboxes\":{\"type\":\"integer\"},"                \
    "\"warm_target\":{\"type\":\"integer\"},\"sessions\":{\"type\":\"array\",\"items\":{"         \
    "\"type\":\"object\"}},\"counters\":{\"type\":\"object\"}}"

/* clang-format on */

#endif
