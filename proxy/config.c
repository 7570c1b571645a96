/* The settings table and its parsers. Every value, whatever its source, goes
 * through the same parser, so a default is checked exactly like user input. */
#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum setting_type {
    T_INT,     /* integer within [min, max] */
    T_SIZE,    /* bytes, with an optional k/m/g suffix (powers of 1024) */
    T_SECONDS, /* seconds, fractions allowed */
    T_NUMBER,  /* a plain decimal number */
    T_STRING,
    T_BOOL,
    T_RECYCLE,
    T_LEVEL,
    T_LISTEN,      /* one listen address, or empty for none */
    T_LISTEN_LIST, /* comma-separated listen addresses */
};

#define SECRET  1u /* masked when printed or logged */
#define DERIVED 2u /* empty means: computed from other settings */

struct setting {
    const char *name; /* the environment variable; file and --set keys match it in any case */
    enum setting_type type;
    size_t offset;
    const char *def;
    double min, max;
    unsigned flags;
    const char *help;
};

#define OFF(field) offsetof(struct config, field)
#define DAY        86400.0
#define GIB        1073741824.0

static const struct setting settings[] = {
    {"POOL_MIN_IDLE", T_INT, OFF(pool_min_idle), "4", 0, 10000, 0,
     "slots kept warm and idle, ready to lease"},
    {"MAX_SANDBOXES", T_INT, OFF(max_sandboxes), "10", 1, 10000, 0, "slots in all, leased or not"},
    {"POOL_MAX_STARTING", T_INT, OFF(pool_max_starting), "4", 1, 256, 0,
     "containers being created or warmed at once"},
    {"POOL_ACQUIRE_TIMEOUT", T_SECONDS, OFF(pool_acquire_timeout), "30", 0, 3600, 0,
     "how long an acquire waits for a slot that is still starting"},
    {"POOL_MAX_SLOT_AGE", T_SECONDS, OFF(pool_max_slot_age), "3600", 1, 30 * DAY, 0,
     "idle slots older than this are retired and replaced"},
    {"POOL_RECYCLE", T_RECYCLE, OFF(pool_recycle), "container", 0, 0, 0,
     "container: fresh container per session; process: reuse it, wiped (trusting sessions)"},
    {"SANDBOX_TIMEOUT", T_SECONDS, OFF(sandbox_timeout), "300", 1, 30 * DAY, 0,
     "an idle session is closed after this many seconds"},
    {"INTERRUPT_GRACE_SECS", T_SECONDS, OFF(interrupt_grace), "5", 0.1, 600, 0,
     "after an interrupt, how long R has to return before its container is killed"},
    {"DOCKER_HOST", T_STRING, OFF(docker_host), "unix:///var/run/docker.sock", 0, 0, 0,
     "the Docker Engine API socket (unix:// only)"},
    {"DOCKER_IMAGE", T_STRING, OFF(docker_image), "omcp-r-sandbox:latest", 0, 0, 0,
     "the sandbox image"},
    {"SANDBOX_UID", T_INT, OFF(sandbox_uid), "1000", 1, 2147483647.0, 0,
     "uid R runs as; a dedicated host account is created for it"},
    {"SANDBOX_MEMORY", T_SIZE, OFF(sandbox_memory), "512m", 64.0 * 1048576, 256 * GIB, 0,
     "memory limit of a sandbox, tmpfs included, no swap beyond it"},
    {"SANDBOX_CPUS", T_NUMBER, OFF(sandbox_cpus), "0.5", 0.01, 256, 0,
     "CPU quota of a sandbox, in cores"},
    {"SANDBOX_START_CPUS", T_NUMBER, OFF(sandbox_start_cpus), "0", 0, 256, 0,
     "CPU quota while a sandbox starts and warms, before any session code runs (0: none); "
     "SANDBOX_CPUS is in force before it is leased"},
    {"SANDBOX_PIDS_LIMIT", T_INT, OFF(sandbox_pids_limit), "256", 8, 1000000, 0,
     "processes and threads in a sandbox"},
    {"SANDBOX_TMP_SIZE", T_SIZE, OFF(sandbox_tmp_size), "64m", 1048576, 16 * GIB, 0,
     "size of the sandbox's /tmp (memory-backed: counts against SANDBOX_MEMORY)"},
    {"WORKSPACE_SIZE", T_SIZE, OFF(workspace_size), "500m", 1048576, 1024 * GIB, 0,
     "disk space of one session's /sandbox"},
    {"DEFAULT_EXEC_TIMEOUT_SECS", T_SECONDS, OFF(default_exec_timeout), "30", 0.1, DAY, 0,
     "limit of one evaluation unless the call asks for another"},
    {"MAX_OUTPUT_BYTES", T_SIZE, OFF(max_output_bytes), "100000", 1024, GIB, 0,
     "output returned by one evaluation; the rest is saved to the workspace"},
    {"MAX_CODE_CHARS", T_INT, OFF(max_code_chars), "50000", 1, 100000000, 0,
     "longest R code accepted in one call"},
    {"MAX_FILE_READ_BYTES", T_SIZE, OFF(max_file_read_bytes), "2000000", 1, 64 * GIB, 0,
     "largest file the file tools return"},
    {"MAX_FILE_WRITE_BYTES", T_SIZE, OFF(max_file_write_bytes), "2000000", 1, 64 * GIB, 0,
     "largest file the file tools accept"},
    {"MAX_FRAME_BYTES", T_SIZE, OFF(max_frame_bytes), "1g", 4096, 64 * GIB, 0,
     "largest QAP1 frame accepted from a client or a backend"},
    {"STATE_DIR", T_STRING, OFF(state_dir), "", 0, 0, DERIVED,
     "state file, socket directories, workspaces (default /var/lib/omcp-rproxy as root, "
     "else $XDG_STATE_HOME/omcp-rproxy)"},
    {"WORKSPACE_ROOT", T_STRING, OFF(workspace_root), "", 0, 0, DERIVED,
     "where session workspaces live (default STATE_DIR/workspaces)"},
    {"CDM_DIR", T_STRING, OFF(cdm_dir), "", 0, 0, DERIVED,
     "where the CDMs are: <name>.sqlite files, <name>.pg descriptions of CDMs on the "
     "PostgreSQL cluster in DB_HOST (default STATE_DIR/cdm)"},
    {"CDM_DEFAULT", T_STRING, OFF(cdm_default), "synthetic", 0, 0, 0,
     "the CDM a session gets when it names none"},
    {"DB_HOST", T_STRING, OFF(db_host), "", 0, 0, 0,
     "socket directory of the PostgreSQL CDM cluster; mounted read-only into every sandbox "
     "when CDM_DIR holds <name>.pg CDMs"},
    {"DB_PORT", T_INT, OFF(db_port), "5432", 1, 65535, 0, "PostgreSQL CDM port"},
    {"DB_USER", T_STRING, OFF(db_user), "", 0, 0, 0,
     "PostgreSQL loader role (never given to a sandbox)"},
    {"DB_PASSWORD", T_STRING, OFF(db_password), "", 0, 0, SECRET,
     "PostgreSQL loader password (never given to a sandbox)"},
    {"DB_NAME", T_STRING, OFF(db_name), "", 0, 0, 0, "PostgreSQL CDM database of the loader"},
    {"DB_SANDBOX_USER", T_STRING, OFF(db_sandbox_user), "omcp_cdm_reader", 0, 0, 0,
     "read-only PostgreSQL role sandboxes reach by peer authentication; their DB_USER"},
    {"HTTP_LISTEN", T_LISTEN, OFF(http_listen), "127.0.0.1:8080", 0, 0, 0,
     "MCP Streamable HTTP, /metrics, /healthz, /readyz (empty: off)"},
    {"HTTP_ALLOWED_ORIGINS", T_STRING, OFF(http_allowed_origins), "", 0, 0, 0,
     "browser origins allowed on the HTTP listener, comma-separated (empty: http://localhost "
     "and http://127.0.0.1 on any port); requests without Origin are allowed"},
    {"HTTP_TOKENS", T_STRING, OFF(http_tokens), "", 0, 0, SECRET,
     "bearer tokens, comma-separated TOKEN or NAME:TOKEN; each is a client identity"},
    {"HTTP_TOKENS_FILE", T_STRING, OFF(http_tokens_file), "", 0, 0, 0,
     "file of bearer tokens, one TOKEN or NAME:TOKEN per line (# comments)"},
    {"HTTP_MAX_CONNECTIONS", T_INT, OFF(http_max_connections), "4096", 1, 1000000, 0,
     "open HTTP connections at most; past it the oldest idle one is closed"},
    {"HTTP_HEADER_TIMEOUT", T_SECONDS, OFF(http_header_timeout), "10", 0.1, 3600, 0,
     "time from a request's first byte to the end of its headers"},
    {"HTTP_BODY_TIMEOUT", T_SECONDS, OFF(http_body_timeout), "30", 0.1, 3600, 0,
     "time from the end of a request's headers to the end of its body"},
    {"HTTP_IDLE_TIMEOUT", T_SECONDS, OFF(http_idle_timeout), "60", 0.1, DAY, 0,
     "a kept-alive HTTP connection without a request is closed after this long"},
    {"HTTP_SESSION_TIMEOUT", T_SECONDS, OFF(http_session_timeout), "1800", 1, 30 * DAY, 0,
     "an MCP session over HTTP without requests or open stream ends after this long"},
    {"HTTP_MAX_SESSIONS_PER_IDENTITY", T_INT, OFF(http_max_sessions_per_identity), "8", 0, 10000, 0,
     "R sessions one HTTP client identity may hold at once (0: only MAX_SANDBOXES)"},
    {"HTTP_RATE_LIMIT", T_NUMBER, OFF(http_rate_limit), "100", 0, 1000000, 0,
     "MCP requests per second per HTTP client identity, sustained (0: no limit)"},
    {"HTTP_RATE_BURST", T_INT, OFF(http_rate_burst), "200", 1, 10000000, 0,
     "MCP requests an HTTP client identity may send at once above HTTP_RATE_LIMIT"},
    {"HTTP_DRAIN_TIMEOUT", T_SECONDS, OFF(http_drain_timeout), "30", 0, 3600, 0,
     "on SIGTERM, how long HTTP calls in flight may finish before the listener closes"},
    {"QAP_LISTEN", T_LISTEN_LIST, OFF(qap_listen), "127.0.0.1:6311", 0, 0, 0,
     "Rserve QAP1 listeners, comma-separated HOST:PORT or unix:PATH (empty: off)"},
    {"QAP_ALLOW_REMOTE", T_BOOL, OFF(qap_allow_remote), "false", 0, 0, 0,
     "let a QAP1 listener without QAP_PASSWORD_FILE bind an address that is not loopback"},
    {"QAP_MAX_CLIENTS", T_INT, OFF(qap_max_clients), "1000", 1, 1000000, 0,
     "QAP1 client connections at once; more are closed as they are accepted"},
    {"QAP_IDLE_TIMEOUT", T_SECONDS, OFF(qap_idle_timeout), "300", 1, 30 * DAY, 0,
     "a QAP1 client silent this long with no request in flight is disconnected"},
    {"QAP_REQUEST_TIMEOUT", T_SECONDS, OFF(qap_request_timeout), "0", 0, 30 * DAY, 0,
     "a QAP1 request running longer is interrupted, then its sandbox killed (0: no limit)"},
    {"QAP_PASSWORD_FILE", T_STRING, OFF(qap_password_file), "", 0, 0, 0,
     "USER:CRYPT-HASH lines; when set, QAP1 clients log in (loopback and unix listeners)"},
    {"STDIO", T_BOOL, OFF(stdio), "false", 0, 0, 0, "serve one MCP client on stdin/stdout"},
    {"LOG_LEVEL", T_LEVEL, OFF(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
    {"LOG_FILE", T_STRING, OFF(log_file), "", 0, 0, 0,
     "log file, reopened on SIGHUP (empty: stderr)"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

_Static_assert(NSETTINGS <= CONFIG_MAX_SETTINGS, "raise CONFIG_MAX_SETTINGS");

static const char *const source_names[] = {"default", "file", "env", "cli"};

static void add_error(struct config_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_error(struct config_errors *errs, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    errs->lines = xrealloc(errs->lines, sizeof(char *) * (size_t)(errs->count + 1));
    errs->lines[errs->count++] = xstrdup(line);
}

void config_errors_free(struct config_errors *errs)
{
    for (int i = 0; i < errs->count; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->count = 0;
}

static const struct setting *find_setting(const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcasecmp(settings[i].name, key) == 0)
            return &settings[i];
    }
    return NULL;
}

static bool parse_number(const char *text, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return false;
    while (*end == ' ')
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool parse_size(const char *text, double *out)
{
    char *end;
    double v, mult = 1;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno || !isfinite(v))
        return false;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1048576.0;
        end++;
        break;
    case 'g':
    case 'G':
        mult = GIB;
        end++;
        break;
    default:
        break;
    }
    if (mult > 1 && (*end == 'b' || *end == 'B'))
        end++;
    if (*end)
        return false;
    *out = floor(v * mult);
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return (*out = true);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (strcasecmp(text, no[i]) == 0)
            return !(*out = false);
    }
    return false;
}

/* "HOST:PORT" with a numeric port (IPv6 as [addr]:port), or "unix:/abs/path". */
static bool valid_listen(const char *addr)
{
    const char *colon;
    char *end;
    long port;

    if (strncmp(addr, "unix:", 5) == 0)
        return addr[5] == '/' && strlen(addr + 5) < 108;
    colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return false;
    if (addr[0] == '[' && colon[-1] != ']')
        return false;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return !errno && *end == '\0' && colon[1] && port > 0 && port <= 65535;
}

static void free_listen_list(struct listen_list *list)
{
    for (int i = 0; i < list->count; i++)
        free(list->addrs[i]);
    free(list->addrs);
    list->addrs = NULL;
    list->count = 0;
}

static bool parse_listen_list(const char *text, struct listen_list *out)
{
    struct listen_list list = {NULL, 0};
    char *copy = xstrdup(text), *save = NULL;

    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!valid_listen(tok)) {
            free_listen_list(&list);
            free(copy);
            return false;
        }
        list.addrs = xrealloc(list.addrs, sizeof(char *) * (size_t)(list.count + 1));
        list.addrs[list.count++] = xstrdup(tok);
    }
    free(copy);
    free_listen_list(out);
    *out = list;
    return true;
}

static void set_string(char **slot, const char *value)
{
    free(*slot);
    *slot = xstrdup(value);
}

/* Parses value into the field of s; false if it does not fit the type. */
static bool apply(struct config *cfg, const struct setting *s, const char *value)
{
    char *field = (char *)cfg + s->offset;
    enum log_level level;
    double v;

    switch (s->type) {
    case T_INT:
        if (!parse_number(value, &v) || v != floor(v) || v < s->min || v > s->max)
            return false;
        *(int64_t *)field = (int64_t)v;
        return true;
    case T_SIZE:
        if (!parse_size(value, &v) || v < s->min || v > s->max)
            return false;
        *(int64_t *)field = (int64_t)v;
        return true;
    case T_SECONDS:
    case T_NUMBER:
        if (!parse_number(value, &v) || v < s->min || v > s->max)
            return false;
        *(double *)field = v;
        return true;
    case T_STRING:
        set_string((char **)field, value);
        return true;
    case T_BOOL:
        return parse_bool(value, (bool *)field);
    case T_RECYCLE:
        if (strcasecmp(value, "container") == 0)
            *(enum recycle_mode *)field = RECYCLE_CONTAINER;
        else if (strcasecmp(value, "process") == 0)
            *(enum recycle_mode *)field = RECYCLE_PROCESS;
        else
            return false;
        return true;
    case T_LEVEL:
        if (!log_level_parse(value, &level))
            return false;
        *(int *)field = (int)level;
        return true;
    case T_LISTEN:
        if (*value && !valid_listen(value))
            return false;
        set_string((char **)field, value);
        return true;
    case T_LISTEN_LIST:
        return parse_listen_list(value, (struct listen_list *)field);
    }
    return false;
}

static const char *expected(enum setting_type type)
{
    switch (type) {
    case T_INT:
        return "an integer";
    case T_SIZE:
        return "a size in bytes (suffix k, m or g allowed)";
    case T_SECONDS:
        return "a number of seconds";
    case T_NUMBER:
        return "a number";
    case T_STRING:
        return "a string";
    case T_BOOL:
        return "true or false";
    case T_RECYCLE:
        return "container or process";
    case T_LEVEL:
        return "debug, info, warn or error";
    case T_LISTEN:
        return "HOST:PORT, unix:/PATH or empty";
    case T_LISTEN_LIST:
        return "comma-separated HOST:PORT or unix:/PATH";
    }
    return "?";
}

static bool set_one(struct config *cfg, const struct setting *s, const char *value,
                    enum config_source src, struct config_errors *errs)
{
    if (!apply(cfg, s, value)) {
        bool ranged =
            s->type == T_INT || s->type == T_SIZE || s->type == T_SECONDS || s->type == T_NUMBER;

        if (ranged)
            add_error(errs, "%s (%s): invalid value %s: expected %s from %g to %g", s->name,
                      source_names[src], log_quote(s->flags & SECRET ? "***" : value),
                      expected(s->type), s->min, s->max);
        else
            add_error(errs, "%s (%s): invalid value %s: expected %s", s->name, source_names[src],
                      log_quote(s->flags & SECRET ? "***" : value), expected(s->type));
        return false;
    }
    cfg->source[s - settings] = (unsigned char)src;
    return true;
}

void config_init(struct config *cfg)
{
    struct config_errors errs = {NULL, 0};

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!set_one(cfg, &settings[i], settings[i].def, SRC_DEFAULT, &errs))
            panic("built-in default of %s does not parse", settings[i].name);
    }
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        char *field = (char *)cfg + settings[i].offset;

        if (settings[i].type == T_STRING || settings[i].type == T_LISTEN) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (settings[i].type == T_LISTEN_LIST) {
            free_listen_list((struct listen_list *)field);
        }
    }
}

bool config_set(struct config *cfg, const char *key, const char *value, enum config_source src,
                struct config_errors *errs)
{
    const struct setting *s = find_setting(key);

    if (!s) {
        add_error(errs, "%s (%s): unknown setting", key, source_names[src]);
        return false;
    }
    return set_one(cfg, s, value, src, errs);
}

struct file_ctx {
    struct config *cfg;
    struct config_errors *errs;
    const char *path;
    bool ok;
};

static int on_ini_pair(void *user, const char *section, const char *key, const char *value)
{
    struct file_ctx *ctx = user;

    (void)section; /* sections are allowed for grouping; keys are global */
    if (!config_set(ctx->cfg, key, value, SRC_FILE, ctx->errs))
        ctx->ok = false;
    return 1;
}

bool config_load_file(struct config *cfg, const char *path, struct config_errors *errs)
{
    struct file_ctx ctx = {cfg, errs, path, true};
    int rc = ini_parse(path, on_ini_pair, &ctx);

    if (rc < 0) {
        add_error(errs, "config file %s: cannot read: %s", path, strerror(errno));
        return false;
    }
    if (rc > 0) {
        add_error(errs, "config file %s: syntax error on line %d", path, rc);
        return false;
    }
    return ctx.ok;
}

void config_load_env(struct config *cfg, struct config_errors *errs)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *value = getenv(settings[i].name);

        if (value)
            set_one(cfg, &settings[i], value, SRC_ENV, errs);
    }
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = xmalloc(len);

    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

void config_finish(struct config *cfg, struct config_errors *errs)
{
    if (!*cfg->state_dir) {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *base = NULL;

        if (geteuid() == 0)
            base = xstrdup("/var/lib");
        else if (xdg && *xdg)
            base = xstrdup(xdg);
        else if (home && *home)
            base = join_path(home, ".local/state");
        else
            add_error(errs, "STATE_DIR: not set, and neither XDG_STATE_HOME nor HOME is");
        if (base) {
            free(cfg->state_dir);
            cfg->state_dir = join_path(base, "omcp-rproxy");
            free(base);
        }
    }
    if (!*cfg->workspace_root) {
        free(cfg->workspace_root);
        cfg->workspace_root = join_path(cfg->state_dir, "workspaces");
    }
    if (!*cfg->cdm_dir) {
        free(cfg->cdm_dir);
        cfg->cdm_dir = join_path(cfg->state_dir, "cdm");
    }
    if (strncmp(cfg->docker_host, "unix://", 7) != 0 || cfg->docker_host[7] != '/')
        add_error(errs, "DOCKER_HOST: %s: only a local unix:///path engine is supported",
                  log_quote(cfg->docker_host));
    if (cfg->pool_min_idle > cfg->max_sandboxes)
        add_error(errs, "POOL_MIN_IDLE (%lld) is larger than MAX_SANDBOXES (%lld)",
                  (long long)cfg->pool_min_idle, (long long)cfg->max_sandboxes);
    if (!*cfg->docker_image)
        add_error(errs, "DOCKER_IMAGE: must not be empty");
    if (*cfg->db_host && cfg->db_host[0] != '/')
        add_error(errs,
                  "DB_HOST: %s: sandboxes have no network; name the socket directory of "
                  "the CDM cluster (an absolute path)",
                  log_quote(cfg->db_host));
    if (cfg->sandbox_tmp_size >= cfg->sandbox_memory)
        add_error(errs, "SANDBOX_TMP_SIZE must be smaller than SANDBOX_MEMORY");
}

/* Writes the value of s as text into out. */
static void format_value(const struct config *cfg, const struct setting *s, char *out, size_t n)
{
    const char *field = (const char *)cfg + s->offset;
    const struct listen_list *list;
    size_t o = 0;

    switch (s->type) {
    case T_INT:
    case T_SIZE:
        snprintf(out, n, "%lld", (long long)*(const int64_t *)field);
        break;
    case T_SECONDS:
    case T_NUMBER:
        snprintf(out, n, "%g", *(const double *)field);
        break;
    case T_STRING:
    case T_LISTEN:
        snprintf(out, n, "%s", *(char *const *)field ? *(char *const *)field : "");
        break;
    case T_BOOL:
        snprintf(out, n, "%s", *(const bool *)field ? "true" : "false");
        break;
    case T_RECYCLE:
        snprintf(out, n, "%s",
                 *(const enum recycle_mode *)field == RECYCLE_PROCESS ? "process" : "container");
        break;
    case T_LEVEL:
        snprintf(out, n, "%s", log_level_name((enum log_level) * (const int *)field));
        break;
    case T_LISTEN_LIST:
        list = (const struct listen_list *)field;
        out[0] = '\0';
        for (int i = 0; i < list->count && o < n; i++)
            o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "," : "", list->addrs[i]);
        break;
    }
    if ((s->flags & SECRET) && out[0])
        snprintf(out, n, "***");
}

void config_print(const struct config *cfg, FILE *out)
{
    char value[1024];

    for (size_t i = 0; i < NSETTINGS; i++) {
        format_value(cfg, &settings[i], value, sizeof(value));
        fprintf(out, "%s=%s # %s\n", settings[i].name, value, source_names[cfg->source[i]]);
    }
}

void config_log(const struct config *cfg)
{
    char value[1024];

    for (size_t i = 0; i < NSETTINGS; i++) {
        format_value(cfg, &settings[i], value, sizeof(value));
        log_info("msg=\"setting\" key=%s value=%s source=%s", settings[i].name, log_quote(value),
                 source_names[cfg->source[i]]);
    }
}

bool config_fit_clients(struct config *cfg, uint64_t room)
{
    bool http = *cfg->http_listen, qap = cfg->qap_listen.count > 0;
    uint64_t h = http ? (uint64_t)cfg->http_max_connections : 0;
    uint64_t q = qap ? (uint64_t)cfg->qap_max_clients : 0;
    uint64_t h_fit, q_fit;

    if (h + q <= room)
        return false;
    h_fit = h ? room * h / (h + q) : 0;
    if (http && h_fit < 1)
        h_fit = 1;
    q_fit = q ? (room > h_fit ? room - h_fit : 0) : 0;
    if (qap && q_fit < 1)
        q_fit = 1;
    if (http)
        cfg->http_max_connections = (int64_t)h_fit;
    if (qap)
        cfg->qap_max_clients = (int64_t)q_fit;
    return true;
}

void config_print_help(FILE *out)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *def = settings[i].def;

        if (!*def)
            def = settings[i].flags & DERIVED ? "(derived)" : "(empty)";
        fprintf(out, "  %-26s %-28s %s\n", settings[i].name, def, settings[i].help);
    }
}
