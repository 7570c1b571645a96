/* The state file in msgpack: maps with named fields, so a reader skips what
 * it does not know and any msgpack tool can show the file. */
#include "pool/state.h"

#include "proxy/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- writing ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_key(msgpack_packer *pk, const char *key)
{
    pack_str(pk, key);
}

static void pack_lease(msgpack_packer *pk, const struct state_lease *l)
{
    msgpack_pack_map(pk, 6);
    pack_key(pk, "session");
    pack_str(pk, l->session);
    pack_key(pk, "owner");
    pack_str(pk, l->owner);
    pack_key(pk, "cdm");
    pack_str(pk, l->cdm);
    pack_key(pk, "created_at");
    msgpack_pack_double(pk, l->created_at);
    pack_key(pk, "last_used");
    msgpack_pack_double(pk, l->last_used);
    pack_key(pk, "idle_timeout");
    msgpack_pack_double(pk, l->idle_timeout);
}

static void pack_slot(msgpack_packer *pk, const struct state_slot *s)
{
    msgpack_pack_map(pk, 7);
    pack_key(pk, "name");
    pack_str(pk, s->name);
    pack_key(pk, "container");
    pack_str(pk, s->container);
    pack_key(pk, "workspace");
    pack_str(pk, s->workspace);
    pack_key(pk, "sock_dir");
    pack_str(pk, s->sock_dir);
    pack_key(pk, "state");
    pack_str(pk, s->state);
    pack_key(pk, "created_at");
    msgpack_pack_double(pk, s->created_at);
    pack_key(pk, "lease");
    if (s->leased)
        pack_lease(pk, &s->lease);
    else
        msgpack_pack_nil(pk);
}

static void pack_state(msgpack_packer *pk, const struct state *st)
{
    msgpack_pack_map(pk, 5);
    pack_key(pk, "version");
    msgpack_pack_int(pk, STATE_VERSION);
    pack_key(pk, "instance");
    pack_str(pk, st->instance);
    pack_key(pk, "written_at");
    msgpack_pack_double(pk, st->written_at);
    pack_key(pk, "slots");
    msgpack_pack_array(pk, st->n_slots);
    for (size_t i = 0; i < st->n_slots; i++)
        pack_slot(pk, &st->slots[i]);
    pack_key(pk, "orphans");
    msgpack_pack_array(pk, st->n_orphans);
    for (size_t i = 0; i < st->n_orphans; i++) {
        msgpack_pack_map(pk, 3);
        pack_key(pk, "workspace");
        pack_str(pk, st->orphans[i].workspace);
        pack_key(pk, "cause");
        pack_str(pk, st->orphans[i].cause);
        pack_key(pk, "lease");
        pack_lease(pk, &st->orphans[i].lease);
    }
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

char *state_encode(const struct state *st, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_state(&pk, st);
    *len = sb.size;
    return msgpack_sbuffer_release(&sb);
}

bool state_save(const char *path, const struct state *st, size_t *bytes, const char **err)
{
    char tmp[4096];
    size_t len;
    char *data = state_encode(st, &len);
    int fd;
    bool ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ok = fd >= 0 && write_all(fd, data, len) && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        *err = strerror(errno);
        unlink(tmp);
    }
    *bytes = len;
    free(data);
    return ok;
}

/* ---- reading ---- */

static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    size_t len = strlen(key);

    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == len &&
            memcmp(kv->key.via.str.ptr, key, len) == 0)
            return &kv->val;
    }
    return NULL;
}

/* A string field as a new C string; NULL when absent, nil or not a string
 * (or holding a NUL, which no path or id may). */
static char *get_str(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = field(map, key);

    if (!v || v->type != MSGPACK_OBJECT_STR || memchr(v->via.str.ptr, 0, v->via.str.size))
        return NULL;
    return xstrndup(v->via.str.ptr, v->via.str.size);
}

static double get_num(const msgpack_object *map, const char *key)
{
    const msgpack_object *v = field(map, key);

    if (!v)
        return 0;
    if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
        return v->via.f64;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (double)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (double)v->via.i64;
    return 0;
}

static bool read_lease(const msgpack_object *m, struct state_lease *l)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return false;
    l->session = get_str(m, "session");
    l->owner = get_str(m, "owner");
    l->cdm = get_str(m, "cdm");
    l->created_at = get_num(m, "created_at");
    l->last_used = get_num(m, "last_used");
    l->idle_timeout = get_num(m, "idle_timeout");
    return l->session && l->owner;
}

static bool read_slot(const msgpack_object *m, struct state_slot *s)
{
    const msgpack_object *lease = field(m, "lease");

    if (m->type != MSGPACK_OBJECT_MAP)
        return false;
    s->name = get_str(m, "name");
    s->container = get_str(m, "container");
    s->workspace = get_str(m, "workspace");
    s->sock_dir = get_str(m, "sock_dir");
    s->state = get_str(m, "state");
    s->created_at = get_num(m, "created_at");
    if (lease && lease->type != MSGPACK_OBJECT_NIL) {
        s->leased = true;
        if (!read_lease(lease, &s->lease))
            return false;
    }
    return s->name && s->workspace && s->sock_dir && s->state;
}

static bool read_orphan(const msgpack_object *m, struct state_orphan *o)
{
    if (m->type != MSGPACK_OBJECT_MAP)
        return false;
    o->workspace = get_str(m, "workspace");
    o->cause = get_str(m, "cause");
    return read_lease(field(m, "lease"), &o->lease) && o->workspace;
}

static const char *read_state(const msgpack_object *root, struct state *st)
{
    const msgpack_object *version = field(root, "version"), *slots = field(root, "slots");
    const msgpack_object *orphans = field(root, "orphans");

    if (!version || version->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        version->via.u64 != STATE_VERSION)
        return "not a state file of this version";
    if (!slots || slots->type != MSGPACK_OBJECT_ARRAY || !orphans ||
        orphans->type != MSGPACK_OBJECT_ARRAY)
        return "slots or orphans missing";
    if (slots->via.array.size > STATE_MAX_RECORDS || orphans->via.array.size > STATE_MAX_RECORDS)
        return "more records than a pool can hold";
    st->instance = get_str(root, "instance");
    st->written_at = get_num(root, "written_at");
    /* Each record counts as soon as it is started, so that state_free()
     * frees what a malformed one had read. */
    st->slots = xcalloc(slots->via.array.size + 1, sizeof(*st->slots));
    for (uint32_t i = 0; i < slots->via.array.size; i++)
        if (!read_slot(&slots->via.array.ptr[i], &st->slots[st->n_slots++]))
            return "a slot record is malformed";
    st->orphans = xcalloc(orphans->via.array.size + 1, sizeof(*st->orphans));
    for (uint32_t i = 0; i < orphans->via.array.size; i++)
        if (!read_orphan(&orphans->via.array.ptr[i], &st->orphans[st->n_orphans++]))
            return "an orphan record is malformed";
    return NULL;
}

static char *slurp(const char *path, size_t *len, const char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *data = NULL;
    size_t got = 0;

    *err = NULL;
    if (fd < 0) {
        if (errno != ENOENT)
            *err = strerror(errno);
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > STATE_MAX_BYTES) {
        *err = "not a regular file, or larger than the state file may be";
        goto out;
    }
    data = xmalloc((size_t)sb.st_size + 1);
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, data + got, (size_t)sb.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != (size_t)sb.st_size) {
        *err = "short read";
        free(data);
        data = NULL;
    }
    *len = got;
out:
    close(fd);
    return data;
}

bool state_load(const char *path, struct state *st, const char **err)
{
    msgpack_unpacked msg;
    size_t len = 0, off = 0;
    char *data = slurp(path, &len, err);
    bool ok = false;

    memset(st, 0, sizeof(*st));
    if (!data)
        return false;
    msgpack_unpacked_init(&msg);
    if (msgpack_unpack_next(&msg, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        *err = "not one whole msgpack value (truncated or corrupt)";
    else
        ok = (*err = read_state(&msg.data, st)) == NULL;
    msgpack_unpacked_destroy(&msg);
    free(data);
    if (!ok)
        state_free(st);
    return ok;
}

void state_set_aside(const char *path)
{
    char aside[4096];

    snprintf(aside, sizeof(aside), "%s.bad-%lld", path, (long long)time(NULL));
    if (rename(path, aside) != 0)
        unlink(path);
}

static void lease_free(struct state_lease *l)
{
    free(l->session);
    free(l->owner);
    free(l->cdm);
}

void state_free(struct state *st)
{
    for (size_t i = 0; i < st->n_slots; i++) {
        free(st->slots[i].name);
        free(st->slots[i].container);
        free(st->slots[i].workspace);
        free(st->slots[i].sock_dir);
        free(st->slots[i].state);
        lease_free(&st->slots[i].lease);
    }
    for (size_t i = 0; i < st->n_orphans; i++) {
        free(st->orphans[i].workspace);
        free(st->orphans[i].cause);
        lease_free(&st->orphans[i].lease);
    }
    free(st->slots);
    free(st->orphans);
    free(st->instance);
    memset(st, 0, sizeof(*st));
}
