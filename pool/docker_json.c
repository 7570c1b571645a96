/* Docker Engine API bodies: building the hardened create request and reading
 * the engine's answers. No I/O; every reader tolerates any input. */
#include "pool/docker_json.h"
#include "proxy/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERROR_MESSAGE_MAX 512

/* ---- the create body ---- */

static bool bind_path_ok(const char *path)
{
    return path && path[0] == '/' && !strchr(path, ':') && !strchr(path, ',');
}

static const char *spec_refusal(const struct backend_spec *spec)
{
    if (!spec->image || !*spec->image)
        return "no image";
    if (spec->uid == 0 || spec->gid == 0)
        return "a sandbox never runs as root (uid or gid 0)";
    if (spec->memory_bytes <= 0)
        return "no memory limit";
    if (spec->pids_limit <= 0)
        return "no pids limit";
    if (spec->tmp_size_bytes <= 0)
        return "no size for /tmp";
    if (spec->cpu_quota_us < 0 || spec->cpu_period_us < 0)
        return "negative CPU quota or period";
    if (!spec->pool_label || !*spec->pool_label || !spec->instance_label || !*spec->instance_label)
        return "pool and instance labels are required";
    for (size_t i = 0; i < spec->n_mounts; i++) {
        if (!bind_path_ok(spec->mounts[i].host_path) ||
            !bind_path_ok(spec->mounts[i].container_path))
            return "bind paths must be absolute, without ':' or ','";
    }
    return NULL;
}

static json_t *string_array(const char *const *items)
{
    json_t *array = json_array();

    for (size_t i = 0; items && items[i]; i++)
        json_array_append_new(array, json_string(items[i]));
    return array;
}

static json_t *labels_object(const struct backend_spec *spec)
{
    json_t *labels = json_object();

    for (size_t i = 0; spec->labels && spec->labels[i] && spec->labels[i + 1]; i += 2)
        json_object_set_new(labels, spec->labels[i], json_string(spec->labels[i + 1]));
    /* Set last so that extra labels cannot override them. */
    json_object_set_new(labels, BACKEND_LABEL_POOL, json_string(spec->pool_label));
    json_object_set_new(labels, BACKEND_LABEL_INSTANCE, json_string(spec->instance_label));
    return labels;
}

static json_t *binds_array(const struct backend_spec *spec)
{
    json_t *binds = json_array();
    char bind[8192];

    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct backend_mount *m = &spec->mounts[i];

        snprintf(bind, sizeof(bind), "%s:%s:%s", m->host_path, m->container_path,
                 m->read_only ? "ro" : "rw");
        json_array_append_new(binds, json_string(bind));
    }
    return binds;
}

/* Everything that closes the sandbox lives here: one place to audit. */
static json_t *host_config(const struct backend_spec *spec)
{
    json_t *hc = json_object();
    char tmpfs[128];

    snprintf(tmpfs, sizeof(tmpfs), "rw,noexec,nosuid,nodev,size=%lld",
             (long long)spec->tmp_size_bytes);
    json_object_set_new(hc, "CapDrop", json_pack("[s]", "ALL"));
    json_object_set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
    json_object_set_new(hc, "ReadonlyRootfs", json_true());
    json_object_set_new(hc, "Privileged", json_false());
    json_object_set_new(hc, "Tmpfs", json_pack("{s:s}", "/tmp", tmpfs));
    json_object_set_new(hc, "Memory", json_integer(spec->memory_bytes));
    json_object_set_new(hc, "MemorySwap", json_integer(spec->memory_bytes));
    if (spec->cpu_quota_us > 0) {
        json_object_set_new(hc, "CpuQuota", json_integer(spec->cpu_quota_us));
        json_object_set_new(hc, "CpuPeriod",
                            json_integer(spec->cpu_period_us ? spec->cpu_period_us : 100000));
    }
    json_object_set_new(hc, "PidsLimit", json_integer(spec->pids_limit));
    json_object_set_new(hc, "NetworkMode", json_string("none"));
    json_object_set_new(hc, "PortBindings", json_object());
    json_object_set_new(hc, "PublishAllPorts", json_false());
    json_object_set_new(hc, "IpcMode", json_string("private"));
    json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
    json_object_set_new(hc, "Binds", binds_array(spec));
    return hc;
}

json_t *docker_create_body(const struct backend_spec *spec, const char **err)
{
    json_t *body;
    char user[48];

    *err = spec_refusal(spec);
    if (*err)
        return NULL;

    snprintf(user, sizeof(user), "%u:%u", spec->uid, spec->gid);
    body = json_object();
    json_object_set_new(body, "Image", json_string(spec->image));
    json_object_set_new(body, "User", json_string(user));
    if (spec->cmd)
        json_object_set_new(body, "Cmd", string_array(spec->cmd));
    json_object_set_new(body, "Env", string_array(spec->env));
    if (spec->workdir)
        json_object_set_new(body, "WorkingDir", json_string(spec->workdir));
    json_object_set_new(body, "Labels", labels_object(spec));
    json_object_set_new(body, "ExposedPorts", json_object());
    json_object_set_new(body, "AttachStdin", json_false());
    json_object_set_new(body, "OpenStdin", json_false());
    json_object_set_new(body, "Tty", json_false());
    json_object_set_new(body, "HostConfig", host_config(spec));
    return body;
}

/* ---- version ---- */

bool docker_api_version_parse(const char *text, int *major, int *minor)
{
    char *end;
    long ma, mi;

    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    ma = strtol(text, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return false;
    mi = strtol(end + 1, &end, 10);
    if (*end != '\0' || ma > 1000 || mi > 1000)
        return false;
    *major = (int)ma;
    *minor = (int)mi;
    return true;
}

static int api_compare(int major, int minor)
{
    if (major != DOCKER_API_MAJOR)
        return major < DOCKER_API_MAJOR ? -1 : 1;
    return minor < DOCKER_API_MINOR ? -1 : minor > DOCKER_API_MINOR;
}

bool docker_version_check(json_t *body, char *engine_version, size_t engine_len, char *api_version,
                          size_t api_len, struct buf *why)
{
    const char *engine = json_string_value(json_object_get(body, "Version"));
    const char *api = json_string_value(json_object_get(body, "ApiVersion"));
    const char *min_api = json_string_value(json_object_get(body, "MinAPIVersion"));
    int major, minor;

    snprintf(engine_version, engine_len, "%s", engine ? engine : "");
    snprintf(api_version, api_len, "%s", api ? api : "");
    if (!docker_api_version_parse(api, &major, &minor)) {
        buf_printf(why, "the engine's /version answer has no usable ApiVersion");
        return false;
    }
    if (api_compare(major, minor) < 0) {
        buf_printf(why,
                   "Docker engine %s speaks API %s; API %d.%d (Docker 20.10) or newer "
                   "is needed",
                   engine ? engine : "(unknown)", api, DOCKER_API_MAJOR, DOCKER_API_MINOR);
        return false;
    }
    if (docker_api_version_parse(min_api, &major, &minor) && api_compare(major, minor) > 0) {
        buf_printf(why, "Docker engine %s no longer speaks API %d.%d (its oldest is %s)",
                   engine ? engine : "(unknown)", DOCKER_API_MAJOR, DOCKER_API_MINOR, min_api);
        return false;
    }
    return true;
}

/* ---- errors ---- */

void docker_error_message(const char *body, size_t len, json_t *json, struct buf *out)
{
    const char *message = json_string_value(json_object_get(json, "message"));
    size_t start = out->len;

    if (message) {
        len = strlen(message);
        body = message;
    }
    while (len && isspace((unsigned char)body[len - 1]))
        len--;
    buf_append(out, body, len < ERROR_MESSAGE_MAX ? len : ERROR_MESSAGE_MAX);
    /* Engine text ends up in logs and JSON: keep it printable. */
    for (size_t i = start; i < out->len; i++) {
        if ((unsigned char)out->data[i] < 0x20)
            out->data[i] = ' ';
    }
}

bool docker_error_is_conflict(json_t *json)
{
    const char *cause = json_string_value(json_object_get(json, "cause"));

    return cause && strcmp(cause, "container state improper") == 0;
}

/* ---- containers ---- */

static const char *label_value(json_t *labels, const char *key)
{
    return json_string_value(json_object_get(labels, key));
}

bool docker_parse_inspect(json_t *body, struct backend_container *c)
{
    json_t *state = json_object_get(body, "State");
    json_t *config = json_object_get(body, "Config");
    const char *name = json_string_value(json_object_get(body, "Name"));

    memset(c, 0, sizeof(*c));
    c->id = json_string_value(json_object_get(body, "Id"));
    if (!c->id || !json_is_object(state))
        return false;
    c->name = name && name[0] == '/' ? name + 1 : name;
    c->state = json_string_value(json_object_get(state, "Status"));
    c->running = json_is_true(json_object_get(state, "Running"));
    c->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    c->pid = json_integer_value(json_object_get(state, "Pid"));
    c->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    c->labels = json_object_get(config, "Labels");
    if (!json_is_object(c->labels))
        c->labels = NULL;
    c->pool = label_value(c->labels, BACKEND_LABEL_POOL);
    c->instance = label_value(c->labels, BACKEND_LABEL_INSTANCE);
    return true;
}

static bool parse_list_entry(json_t *entry, struct backend_container *c)
{
    json_t *names = json_object_get(entry, "Names");
    const char *name = json_string_value(json_array_get(names, 0));

    memset(c, 0, sizeof(*c));
    c->id = json_string_value(json_object_get(entry, "Id"));
    if (!c->id)
        return false;
    c->name = name && name[0] == '/' ? name + 1 : name;
    c->state = json_string_value(json_object_get(entry, "State"));
    c->running = c->state && strcmp(c->state, "running") == 0;
    c->labels = json_object_get(entry, "Labels");
    if (!json_is_object(c->labels))
        c->labels = NULL;
    c->pool = label_value(c->labels, BACKEND_LABEL_POOL);
    c->instance = label_value(c->labels, BACKEND_LABEL_INSTANCE);
    return true;
}

bool docker_parse_list(json_t *body, struct backend_container **out, size_t *n)
{
    size_t count = json_array_size(body);

    *out = NULL;
    *n = 0;
    if (!json_is_array(body))
        return false;
    *out = xcalloc(count ? count : 1, sizeof(**out));
    for (size_t i = 0; i < count; i++) {
        if (!parse_list_entry(json_array_get(body, i), &(*out)[i])) {
            free(*out);
            *out = NULL;
            return false;
        }
    }
    *n = count;
    return true;
}

/* ---- events ---- */

bool docker_parse_event(json_t *body, struct backend_event *ev)
{
    json_t *actor = json_object_get(body, "Actor");
    json_t *attrs = json_object_get(actor, "Attributes");
    const char *type = json_string_value(json_object_get(body, "Type"));
    const char *exit_code = label_value(attrs, "exitCode");

    memset(ev, 0, sizeof(*ev));
    ev->json = body;
    ev->exit_code = -1;
    if (!type || strcmp(type, "container") != 0)
        return false;
    ev->action = json_string_value(json_object_get(body, "Action"));
    ev->id = json_string_value(json_object_get(actor, "ID"));
    if (!ev->action || !ev->id)
        return false;
    /* Podman's compatible API names Docker's "destroy" "remove". */
    if (strcmp(ev->action, "remove") == 0)
        ev->action = "destroy";
    ev->pool = label_value(attrs, BACKEND_LABEL_POOL);
    ev->instance = label_value(attrs, BACKEND_LABEL_INSTANCE);
    if (exit_code && isdigit((unsigned char)exit_code[0]))
        ev->exit_code = atoi(exit_code);
    ev->time_nano = json_integer_value(json_object_get(body, "timeNano"));
    return true;
}

/* ---- newline-delimited framing ---- */

void docker_lines_init(struct docker_lines *l, size_t max_line)
{
    memset(l, 0, sizeof(*l));
    l->max_line = max_line;
}

void docker_lines_free(struct docker_lines *l)
{
    buf_free(&l->pending);
    l->start = 0;
}

bool docker_lines_feed(struct docker_lines *l, const char *bytes, size_t n)
{
    /* Drop what was returned already before growing. */
    if (l->start) {
        memmove(l->pending.data, l->pending.data + l->start, l->pending.len - l->start);
        l->pending.len -= l->start;
        l->pending.data[l->pending.len] = '\0';
        l->start = 0;
    }
    buf_append(&l->pending, bytes, n);
    if (l->pending.len <= l->max_line)
        return true;
    /* Too much buffered: fine only if the last unfinished record is short. */
    const char *last_nl = memrchr(l->pending.data, '\n', l->pending.len);
    size_t tail =
        last_nl ? (size_t)(l->pending.data + l->pending.len - last_nl - 1) : l->pending.len;
    return tail <= l->max_line;
}

bool docker_lines_next(struct docker_lines *l, const char **line, size_t *len)
{
    while (l->start < l->pending.len) {
        char *begin = l->pending.data + l->start;
        char *nl = memchr(begin, '\n', l->pending.len - l->start);
        size_t n;

        if (!nl)
            return false;
        n = (size_t)(nl - begin);
        l->start += n + 1;
        if (n && begin[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        *line = begin;
        *len = n;
        return true;
    }
    return false;
}
