/* The CDMs a pool serves, as CDM_DIR lists them: each <name>.sqlite file is
 * bind-mounted read-only into every sandbox; each <name>.pg file names the
 * database <name> of the PostgreSQL CDM cluster, whose socket directory is
 * mounted instead (and describes it, for describe_cdm). */
#ifndef OMCP_POOL_CDMS_H
#define OMCP_POOL_CDMS_H

#include <stdbool.h>

/* Where a sandbox sees the CDM cluster's socket directory. */
#define POOL_CDM_PG_MOUNT "/run/cdm-pg"

/* Whether CDMs on PostgreSQL can be served: socket_dir (DB_HOST) is set
 * and is a directory; a warning says why not when it is set. */
bool pool_cdm_pg_usable(const char *socket_dir);
/* Every CDM in dir, sorted and NULL-terminated: the .sqlite ones and, when
 * with_pg, the .pg ones, which also go to *pg (NULL-terminated, never NULL).
 * A name with both files is an embedded CDM, as the warm-up opens it. */
char **pool_cdm_scan(const char *dir, bool with_pg, char ***pg);
/* Whether name is one of names (a NULL-terminated list). */
bool pool_cdm_listed(char *const *names, const char *name);
void pool_cdm_names_free(char **names);

#endif
