/* internal.h — what store area files (users.c, billing.c, catalog.c, ...) share: the store
 * handle's layout and the migration list. Handlers never include this; they use store.h. */
#ifndef RODEO_STORE_INTERNAL_H
#define RODEO_STORE_INTERNAL_H
#include "store/db.h"
#include "store/store.h"

struct store {
    db_pool_t   *pool;
    db_dialect_t dialect;
};

/* The pool behind a store; area files run their SQL on it (db_pool_* or db_acquire). */
static inline db_pool_t *store_pool(store_t *st) { return st->pool; }

/* One schema step (migrations.c). sql may hold several statements and the dialect tokens
 * {{ID}} (auto-increment integer primary key) and {{BLOB}} (binary column type). */
typedef struct {
    int         version;
    const char *name;
    const char *sql;
} store_migration_t;

extern const store_migration_t store_migrations[];
extern const int store_migrations_count;

/* Expands the dialect tokens of a migration; caller frees. */
char *store_migration_render(const char *sql, db_dialect_t dialect);
#endif
