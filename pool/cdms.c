/* Finding the CDMs of CDM_DIR: embedded SQLite files and descriptions of
 * databases on the PostgreSQL CDM cluster. */
#include "pool/cdms.h"

#include "pool/pool_impl.h"
#include "proxy/log.h"
#include "proxy/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool cdm_name_ok(const char *name, size_t len)
{
    if (len == 0 || len >= POOL_CDM_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            c != '_' && c != '-' && c != '.')
            return false;
    }
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_add(char ***names, size_t *n, char *name)
{
    *names = xrealloc(*names, (*n + 2) * sizeof(char *));
    (*names)[(*n)++] = name;
    (*names)[*n] = NULL;
}

/* The names of the regular files <name><suffix> in d, unsorted. */
static char **scan_suffix(DIR *d, const char *suffix, size_t *n)
{
    char **names = xcalloc(1, sizeof(char *));
    size_t cut = strlen(suffix);
    struct dirent *de;

    *n = 0;
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        struct stat st;

        if (len <= cut || strcmp(de->d_name + len - cut, suffix) != 0 ||
            !cdm_name_ok(de->d_name, len - cut) || fstatat(dirfd(d), de->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        names_add(&names, n, xstrndup(de->d_name, len - cut));
    }
    return names;
}

bool pool_cdm_pg_usable(const char *socket_dir)
{
    struct stat st;

    if (!socket_dir || !*socket_dir)
        return false;
    if (stat(socket_dir, &st) == 0 && S_ISDIR(st.st_mode))
        return true;
    log_warn("msg=\"DB_HOST is not a directory; CDMs on PostgreSQL are not served\" dir=%s "
             "errno=%d",
             log_quote(socket_dir), errno);
    return false;
}

char **pool_cdm_scan(const char *dir, bool with_pg, char ***pg)
{
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    size_t n = 0, nfound = 0, npg = 0;
    char **names, **found;

    *pg = xcalloc(1, sizeof(char *));
    if (!d)
        return xcalloc(1, sizeof(char *));
    names = scan_suffix(d, ".sqlite", &n);
    found = with_pg ? scan_suffix(d, ".pg", &nfound) : xcalloc(1, sizeof(char *));
    closedir(d);
    for (char **f = found; *f; f++) {
        if (pool_cdm_listed(names, *f)) {
            free(*f);
            continue;
        }
        names_add(pg, &npg, *f);
        names_add(&names, &n, xstrdup(*f));
    }
    free(found);
    qsort(names, n, sizeof(char *), compare_names);
    qsort(*pg, npg, sizeof(char *), compare_names);
    return names;
}

bool pool_cdm_listed(char *const *names, const char *name)
{
    for (; *names; names++) {
        if (strcmp(*names, name) == 0)
            return true;
    }
    return false;
}

void pool_cdm_names_free(char **names)
{
    if (!names)
        return;
    for (char **c = names; *c; c++)
        free(*c);
    free(names);
}
