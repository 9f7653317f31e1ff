/* store.c — opening the store: picks the backend from the URL, opens the pool, and the
 * liveness check. Everything else lives in one file per area (users.c, sessions.c, ...). */
#include "store/internal.h"
#include "core/buf.h"
#include "core/log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

store_t *store_open(const char *url, const char *data_dir, int pool_size, char *err, size_t errlen)
{
    db_dialect_t dialect = DB_SQLITE;
    char *target = NULL;
    if (!url || !*url) {
        const char *dir = (data_dir && *data_dir) ? data_dir : ".";
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create data dir %s: %s", dir, strerror(errno));
            return NULL;
        }
        buf_t b = {0};
        buf_printf(&b, "%s/rodeo.db", dir);
        target = buf_steal(&b);
    } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        dialect = DB_POSTGRES;
        target = xstrdup(url);
    } else if (!strncmp(url, "sqlite://", 9)) {
        target = xstrdup(url + 9);          /* sqlite:///abs -> /abs, sqlite://rel -> rel */
    } else if (!strncmp(url, "sqlite:", 7)) {
        target = xstrdup(url + 7);
    } else if (strstr(url, "://")) {
        snprintf(err, errlen, "unsupported DATABASE_URL scheme in '%.*s' (use sqlite:// or "
                 "postgresql://)", (int)(strstr(url, "://") - url + 3), url);
        return NULL;
    } else {
        target = xstrdup(url);
    }
    if (!*target) {
        snprintf(err, errlen, "empty database path in DATABASE_URL");
        free(target);
        return NULL;
    }
    db_pool_t *pool = db_pool_open(dialect, target, pool_size, err, errlen);
    free(target);
    if (!pool) return NULL;
    store_t *st = xcalloc(1, sizeof *st);
    st->pool = pool;
    st->dialect = dialect;
    return st;
}

void store_close(store_t *st)
{
    if (!st) return;
    db_pool_close(st->pool);
    free(st);
}

const char *store_backend(const store_t *st)
{
    return st->dialect == DB_POSTGRES ? "postgres" : "sqlite";
}

int store_ping(store_t *st)
{
    int64_t one = 0;
    int rc = db_pool_query_int64(st->pool, "SELECT 1", NULL, 0, &one);
    return (rc == DB_OK && one == 1) ? 0 : -1;
}
