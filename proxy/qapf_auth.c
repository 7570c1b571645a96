/* The QAP1 password file and the check of a login. Lines are USER:HASH
 * (blank lines and lines starting with # are skipped); HASH is what
 * crypt(3) returns for a salted method, e.g. from `mkpasswd -m yescrypt`.
 * An unknown user costs the same hash computation as a known one. */
#include "proxy/qapf_auth.h"

#include "proxy/log.h"
#include "proxy/mem.h"
#include "rserve/qap.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AUTH_USER_MAX 63
#define AUTH_LINE_MAX 512

struct auth_user {
    char name[AUTH_USER_MAX + 1];
    char *hash;
};

struct qapf_auth {
    struct auth_user *users;
    unsigned count;
    char *dummy_hash;        /* checked for unknown users, so they take as long */
    struct crypt_data *work; /* crypt_r's scratch space, about 32 KiB */
};

static bool hash_usable(const char *hash)
{
    /* salted methods only: yescrypt, SHA-512, SHA-256, bcrypt, gost-yescrypt */
    static const char *const ids[] = {"$y$", "$6$", "$5$", "$2b$", "$gy$"};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strncmp(hash, ids[i], strlen(ids[i])) == 0)
            return true;
    return false;
}

static bool auth_add_line(struct qapf_auth *a, char *line)
{
    char *colon = strchr(line, ':');
    size_t n = strcspn(line, "\r\n");
    struct auth_user *u;

    line[n] = '\0';
    if (!*line || *line == '#')
        return true;
    if (!colon || colon == line || (size_t)(colon - line) > AUTH_USER_MAX ||
        !hash_usable(colon + 1))
        return false;
    a->users = xrealloc(a->users, sizeof(*a->users) * (a->count + 1));
    u = &a->users[a->count++];
    memcpy(u->name, line, (size_t)(colon - line));
    u->name[colon - line] = '\0';
    u->hash = xstrdup(colon + 1);
    return true;
}

static void warn_if_readable(FILE *in, const char *path)
{
    struct stat st;

    if (fstat(fileno(in), &st) == 0 && (st.st_mode & 0004))
        log_warn("front_end=qap1 msg=\"password file is readable by everyone\" file=%s",
                 log_quote(path));
}

struct qapf_auth *qapf_auth_load(const char *path, const char **err)
{
    struct qapf_auth *a = xcalloc(1, sizeof(*a));
    char line[AUTH_LINE_MAX];
    FILE *in = fopen(path, "re");

    if (!in) {
        *err = "QAP_PASSWORD_FILE cannot be read";
        goto failed;
    }
    warn_if_readable(in, path);
    while (fgets(line, sizeof(line), in)) {
        if (!auth_add_line(a, line)) {
            *err = "QAP_PASSWORD_FILE: a line is not USER:HASH with a salted crypt(3) hash";
            goto failed;
        }
    }
    fclose(in);
    in = NULL;
    if (a->count == 0) {
        *err = "QAP_PASSWORD_FILE names no user";
        goto failed;
    }
    a->work = xcalloc(1, sizeof(*a->work));
    a->dummy_hash = xstrdup(a->users[0].hash);
    return a;

failed:
    if (in)
        fclose(in);
    qapf_auth_free(a);
    return NULL;
}

void qapf_auth_free(struct qapf_auth *a)
{
    for (unsigned i = 0; i < a->count; i++)
        free(a->users[i].hash);
    free(a->users);
    free(a->dummy_hash);
    free(a->work);
    free(a);
}

unsigned qapf_auth_users(const struct qapf_auth *a)
{
    return a->count;
}

static const struct auth_user *auth_find(const struct qapf_auth *a, const char *name)
{
    for (unsigned i = 0; i < a->count; i++)
        if (strcmp(a->users[i].name, name) == 0)
            return &a->users[i];
    return NULL;
}

static bool same_string(const char *x, const char *y)
{
    size_t nx = strlen(x), ny = strlen(y);
    unsigned char diff = nx != ny;

    for (size_t i = 0; i < nx && i < ny; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

/* "user\npassword" inside one DT_STRING parameter; the password stays in
 * place (NUL-terminated) for the caller to wipe. */
static bool login_split(uint8_t *payload, size_t len, char **user, char **password)
{
    struct qap_item item;
    char *text, *nl;

    if (qap_item_parse(payload, len, QAP_DT_LARGE, &item) != QAP_OK || item.type != QAP_DT_STRING ||
        item.len == 0 || !memchr(item.body, '\0', item.len))
        return false;
    text = (char *)payload + item.hdr_len;
    nl = strchr(text, '\n');
    if (!nl || nl == text || nl - text > AUTH_USER_MAX)
        return false;
    *nl = '\0';
    *user = text;
    *password = nl + 1;
    return true;
}

bool qapf_auth_check(const struct qapf_auth *a, uint8_t *payload, size_t len, char *user, size_t n)
{
    char *name = NULL, *password = NULL;
    const struct auth_user *u;
    const char *hash, *got;
    bool ok;

    if (!login_split(payload, len, &name, &password))
        return false;
    u = auth_find(a, name);
    hash = u ? u->hash : a->dummy_hash;
    got = crypt_r(password, hash, a->work);
    ok = u && got && got[0] != '*' && same_string(got, hash);
    explicit_bzero(password, strlen(password));
    if (ok)
        snprintf(user, n, "%s", name);
    return ok;
}
