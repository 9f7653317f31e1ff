/* Tests for the migration runner beyond idempotence: a failing migration leaves nothing
 * behind (one transaction), and several processes' worth of concurrent store_migrate calls on
 * a fresh database apply each version exactly once. On PostgreSQL a fresh schema is made
 * for the test and selected with search_path in the connection URL. */
#include "test.h"
#include "store_fixture.h"
#include "store/internal.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <pthread.h>
#include <stdlib.h>

/* A URL for an empty database: a new SQLite file, or a new PostgreSQL schema (*schema set,
 * caller drops it with drop_schema). */
static char *fresh_url(char *schema, size_t cap)
{
    const char *pg = getenv("TEST_DATABASE_URL");
    buf_t b = {0};
    schema[0] = 0;
    if (pg && *pg) {
        uint8_t r[6];
        char hex[13];
        random_bytes(r, sizeof r);
        hex_encode(r, sizeof r, hex);
        snprintf(schema, cap, "mig_%s", hex);
        char err[256];
        store_t *st = store_open(pg, NULL, 1, err, sizeof err);
        if (!st) return NULL;
        buf_printf(&b, "CREATE SCHEMA %s", schema);
        int rc = db_pool_exec(store_pool(st), b.data, NULL, 0, NULL);
        store_close(st);
        buf_reset(&b);
        if (rc != DB_OK) { buf_free(&b); return NULL; }
        buf_printf(&b, "%s%soptions=-csearch_path%%3D%s", pg, strchr(pg, '?') ? "&" : "?", schema);
    } else {
        char *dir = test_tmpdir();
        buf_printf(&b, "sqlite://%s/fresh.db", dir);
        free(dir);
    }
    return buf_steal(&b);
}

static void drop_schema(const char *schema)
{
    const char *pg = getenv("TEST_DATABASE_URL");
    if (!schema[0] || !pg) return;
    char err[256], sql[128];
    store_t *st = store_open(pg, NULL, 1, err, sizeof err);
    if (!st) return;
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
    db_pool_exec(store_pool(st), sql, NULL, 0, NULL);
    store_close(st);
}

TEST(store_migrate_failure_rolls_back_everything)
{
    char schema[64];
    char *url = fresh_url(schema, sizeof schema);
    REQUIRE(url);
    char err[512] = "";
    store_t *st = store_open(url, NULL, 2, err, sizeof err);
    REQUIRE(st);
    /* a table in the way makes migration 1 fail part-way through */
    REQUIRE(db_pool_exec(store_pool(st), "CREATE TABLE jobs (x INTEGER)", NULL, 0, NULL) == DB_OK);
    CHECK_INT(store_migrate(st, err, sizeof err), -1);
    CHECK(strstr(err, "migration 1") != NULL);
    int64_t n = -1;
    /* users (created before the failure) is gone again, and no version was recorded */
    CHECK_INT(db_pool_exec(store_pool(st), "SELECT count(*) FROM users", NULL, 0, NULL), DB_ERROR);
    int rc = db_pool_query_int64(store_pool(st), "SELECT count(*) FROM schema_migrations", NULL, 0, &n);
    CHECK(rc == DB_ERROR || (rc == DB_OK && n == 0));
    REQUIRE(db_pool_exec(store_pool(st), "DROP TABLE jobs", NULL, 0, NULL) == DB_OK);
    CHECK_INT(store_migrate(st, err, sizeof err), store_schema_version_known());
    store_close(st);
    drop_schema(schema);
    free(url);
}

typedef struct { const char *url; int version; char err[256]; } mig_arg_t;

static void *migrate_thread(void *p)
{
    mig_arg_t *a = p;
    store_t *st = store_open(a->url, NULL, 1, a->err, sizeof a->err);
    a->version = st ? store_migrate(st, a->err, sizeof a->err) : -2;
    store_close(st);
    return NULL;
}

TEST(store_migrate_concurrent_starts_apply_once)
{
    char schema[64];
    char *url = fresh_url(schema, sizeof schema);
    REQUIRE(url);
    enum { NT = 4 };
    pthread_t th[NT];
    mig_arg_t args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (mig_arg_t){.url = url};
        pthread_create(&th[i], NULL, migrate_thread, &args[i]);
    }
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NT; i++) {
        if (args[i].version != store_schema_version_known()) printf("    thread %d: %s\n", i, args[i].err);
        CHECK_INT(args[i].version, store_schema_version_known());
    }
    char err[256];
    store_t *st = store_open(url, NULL, 1, err, sizeof err);
    REQUIRE(st);
    int64_t n = -1;
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM schema_migrations", NULL, 0, &n), DB_OK);
    CHECK_INT(n, store_migrations_count);
    store_close(st);
    drop_schema(schema);
    free(url);
}
