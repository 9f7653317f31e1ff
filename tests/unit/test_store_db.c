/* Tests for the SQL layer under the store (db.h): typed parameters and results, error
 * classification, transactions, the statement cache, LIKE escaping, result->JSON, URL
 * handling and migrations. Runs on SQLite, or PostgreSQL when TEST_DATABASE_URL is set. */
#include "test.h"
#include "store_fixture.h"
#include "store/internal.h"
#include "core/timeutil.h"
#include <stdlib.h>

TEST(store_db_params_and_types_roundtrip)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    db_pool_t *p = store_pool(st);
    const uint8_t blob[] = {0, 1, 2, 0xff, 0, 'x'};
    char coll[64];
    fixture_email(coll, sizeof coll, "coll");
    db_value_t ins[] = {db_text(coll), db_int(INT64_C(9007199254740993)), db_int(6),
                        db_blob(blob, sizeof blob)};
    int64_t changes = -1;
    CHECK_INT(db_pool_exec(p, "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, $3, $4)",
                           ins, 4, &changes), DB_OK);
    CHECK_INT(changes, 1);
    db_result_t *r = NULL;
    db_value_t q[] = {db_text(coll)};
    REQUIRE(db_pool_query(p, "SELECT item_id, dim, data, collection, NULL AS none_here FROM vectors "
                             "WHERE collection = $1", q, 1, &r) == DB_OK);
    CHECK_INT(db_rows(r), 1);
    CHECK_INT(db_cols(r), 5);
    CHECK_STR(db_colname(r, 0), "item_id");
    CHECK_STR(db_colname(r, 4), "none_here");
    CHECK(db_type(r, 0, 0) == DB_T_INT);
    CHECK(db_get_int64(r, 0, 0) == INT64_C(9007199254740993));
    CHECK(db_type(r, 0, 2) == DB_T_BLOB);
    size_t len = 0;
    const uint8_t *b = db_get_blob(r, 0, 2, &len);
    CHECK_INT(len, sizeof blob);
    CHECK(b && !memcmp(b, blob, sizeof blob));
    CHECK_STR(db_get_text(r, 0, 3), coll);
    CHECK(db_isnull(r, 0, 4));
    CHECK(db_get_text(r, 0, 4) == NULL);
    /* out-of-range reads are NULL, not crashes */
    CHECK(db_isnull(r, 5, 0));
    CHECK(db_isnull(r, 0, 99));
    CHECK(db_get_int64(r, -1, 0) == 0);
    db_result_free(r);
    /* an empty result still has its columns */
    db_value_t none[] = {db_text("no such collection \x01")};
    REQUIRE(db_pool_query(p, "SELECT item_id, dim FROM vectors WHERE collection = $1", none, 1, &r) == DB_OK);
    CHECK_INT(db_rows(r), 0);
    CHECK_INT(db_cols(r), 2);
    db_result_free(r);
    store_close(st);
}

TEST(store_db_unique_violation_is_conflict)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char coll[64];
    fixture_email(coll, sizeof coll, "dup");
    db_value_t v[] = {db_text(coll), db_int(1), db_int(0), db_blob("", 0)};
    const char *sql = "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, $3, $4)";
    CHECK_INT(db_pool_exec(store_pool(st), sql, v, 4, NULL), DB_OK);
    CHECK_INT(db_pool_exec(store_pool(st), sql, v, 4, NULL), DB_CONFLICT);
    /* a syntax error is a plain error and the connection stays usable */
    CHECK_INT(db_pool_exec(store_pool(st), "SELEC nonsense", NULL, 0, NULL), DB_ERROR);
    CHECK_INT(db_pool_exec(store_pool(st), "INSERT INTO no_such_table VALUES ($1)", v, 1, NULL), DB_ERROR);
    CHECK_INT(store_ping(st), 0);
    store_close(st);
}

TEST(store_db_transactions_commit_and_rollback)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char coll[64];
    fixture_email(coll, sizeof coll, "tx");
    const char *ins = "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, 0, $3)";
    const char *cnt = "SELECT count(*) FROM vectors WHERE collection = $1";
    db_conn_t *c = db_acquire(store_pool(st));
    REQUIRE(c);
    CHECK(!db_in_transaction(c));
    CHECK_INT(db_begin(c), DB_OK);
    CHECK(db_in_transaction(c));
    CHECK_INT(db_begin(c), DB_ERROR);                 /* no nesting */
    db_value_t a[] = {db_text(coll), db_int(1), db_blob("a", 1)};
    CHECK_INT(db_exec(c, ins, a, 3, NULL), DB_OK);
    CHECK_INT(db_rollback(c), DB_OK);
    db_value_t q[] = {db_text(coll)};
    int64_t n = -1;
    CHECK_INT(db_query_int64(c, cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    CHECK_INT(db_begin(c), DB_OK);
    CHECK_INT(db_exec(c, ins, a, 3, NULL), DB_OK);
    CHECK_INT(db_commit(c), DB_OK);
    CHECK_INT(db_query_int64(c, cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 1);
    /* released inside a transaction: rolled back, not committed */
    CHECK_INT(db_begin(c), DB_OK);
    db_value_t b[] = {db_text(coll), db_int(2), db_blob("b", 1)};
    CHECK_INT(db_exec(c, ins, b, 3, NULL), DB_OK);
    db_release(c);
    CHECK_INT(db_pool_query_int64(store_pool(st), cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 1);
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT item_id FROM vectors WHERE collection = $1 AND item_id = 99",
                                  q, 1, &n), DB_NOT_FOUND);
    store_close(st);
}

TEST(store_db_like_escaping)
{
    char *s = db_like_contains("50%_off\\now");
    CHECK_STR(s, "%50\\%\\_off\\\\now%");
    free(s);
    s = db_like_contains("");
    CHECK_STR(s, "%%");
    free(s);
    s = db_like_contains(NULL);
    CHECK_STR(s, "%%");
    free(s);
}

TEST(store_db_rows_to_json)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    db_result_t *r = NULL;
    db_value_t p[] = {db_int(42), db_text("hi \"there\""), db_int(1), db_int(0),
                      db_text("{\"a\":[1,2]}"), db_text("not json"), db_double(2.5)};
    REQUIRE(db_pool_query(store_pool(st), "SELECT $1 AS n, $2 AS s, $3 AS flag, $4 AS at, $5 AS obj,"
                          " $6 AS bad, $7 AS x, NULL AS z, $1 AS skipped", p, DB_NPARAMS(p), &r) == DB_OK);
    json_t *o = db_row_json(r, 0, "isbtjjdi-");
    CHECK_INT(json_integer_value(json_object_get(o, "n")), 42);
    CHECK_STR(json_string_value(json_object_get(o, "s")), "hi \"there\"");
    CHECK(json_is_true(json_object_get(o, "flag")));
    CHECK_STR(json_string_value(json_object_get(o, "at")), "1970-01-01T00:00:00.000000Z");
    CHECK_INT(json_array_size(json_object_get(json_object_get(o, "obj"), "a")), 2);
    CHECK(json_is_null(json_object_get(o, "bad")));
    CHECK_NEAR(json_real_value(json_object_get(o, "x")), 2.5, 1e-12);
    CHECK(json_is_null(json_object_get(o, "z")));
    CHECK(json_object_get(o, "skipped") == NULL);
    json_decref(o);
    json_t *a = db_rows_json(r, "i");
    CHECK_INT(json_array_size(a), 1);
    CHECK_INT(json_object_size(json_array_get(a, 0)), 1);
    json_decref(a);
    db_result_free(r);
    store_close(st);
}

TEST(store_db_statement_cache_many_statements)
{
    /* More distinct statements than the initial cache size: forces rehashing, and each
     * text must keep mapping to its own statement. */
    store_t *st = fixture_store_open();
    REQUIRE(st);
    db_conn_t *c = db_acquire(store_pool(st));
    REQUIRE(c);
    enum { NSQL = 600 };        /* past DB_STMT_CACHE_MAX: the cache flushes and refills */
    static char sql[NSQL][48];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < NSQL; i++) {
            snprintf(sql[i], sizeof sql[i], "SELECT %d + $1", i);
            db_value_t p[] = {db_int(1000)};
            int64_t v = -1;
            CHECK_INT(db_query_int64(c, sql[i], p, 1, &v), DB_OK);
            CHECK_INT(v, 1000 + i);
        }
    db_release(c);
    store_close(st);
}

TEST(store_db_open_urls)
{
    char err[256];
    char *dir = test_tmpdir();
    char url[512];
    snprintf(url, sizeof url, "sqlite://%s/a.db", dir);
    store_t *st = store_open(url, NULL, 2, err, sizeof err);
    CHECK(st);
    if (st) { CHECK_STR(store_backend(st), "sqlite"); CHECK_INT(store_ping(st), 0); store_close(st); }
    snprintf(url, sizeof url, "%s/b.db", dir);          /* plain path */
    st = store_open(url, NULL, 2, err, sizeof err);
    CHECK(st);
    store_close(st);
    snprintf(url, sizeof url, "%s/newdir", dir);        /* default file in a new data dir */
    st = store_open("", url, 2, err, sizeof err);
    CHECK(st);
    store_close(st);
    snprintf(url, sizeof url, "%s/b.db", dir);          /* a data dir that is a file */
    CHECK(store_open(NULL, url, 2, err, sizeof err) == NULL);
    CHECK(store_open("mysql://x/y", NULL, 2, err, sizeof err) == NULL);
    CHECK(strstr(err, "mysql://") != NULL);
    CHECK(store_open("sqlite://", NULL, 2, err, sizeof err) == NULL);
    CHECK(store_open("sqlite:///nonexistent-dir-xyz/sub/a.db", NULL, 2, err, sizeof err) == NULL);
    CHECK(store_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", NULL, 2, err, sizeof err) == NULL);
    CHECK(strstr(err, "postgres") != NULL);
    free(dir);
}

TEST(store_db_migrate_idempotent_and_newer_schema_refused)
{
    store_t *st = fixture_store_open();              /* already migrated once */
    REQUIRE(st);
    char err[512] = "";
    int known = store_schema_version_known();
    CHECK(known >= 1);
    CHECK_INT(store_migrate(st, err, sizeof err), known);
    CHECK_INT(store_migrate(st, err, sizeof err), known);
    int64_t n = 0;
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM schema_migrations", NULL, 0, &n), DB_OK);
    CHECK_INT(n, known);
    db_value_t v[] = {db_int(known + 7), db_int(time_now_us())};
    REQUIRE(db_pool_exec(store_pool(st), "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                         v, 2, NULL) == DB_OK);
    CHECK_INT(store_migrate(st, err, sizeof err), -1);
    char want[64];
    snprintf(want, sizeof want, "version %d is newer than this binary's %d", known + 7, known);
    CHECK(strstr(err, want) != NULL);
    CHECK_INT(db_pool_exec(store_pool(st), "DELETE FROM schema_migrations WHERE version = $1", v, 1, NULL), DB_OK);
    CHECK_INT(store_migrate(st, err, sizeof err), known);
    store_close(st);
}

TEST(store_db_migration_tokens_render_per_dialect)
{
    char *s = store_migration_render("CREATE TABLE t (id {{ID}}, b {{BLOB}}, c TEXT DEFAULT '{}')", DB_SQLITE);
    CHECK_STR(s, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, c TEXT DEFAULT '{}')");
    free(s);
    s = store_migration_render("x {{ID}} {{BLOB}} {{OTHER}}", DB_POSTGRES);
    CHECK_STR(s, "x BIGSERIAL PRIMARY KEY BYTEA {{OTHER}}");
    free(s);
}

TEST(store_db_iso8601_matches_core_formatter)
{
    int64_t fixed[] = {0, 1, -1, 999999, 1000000, -1000000, 951782400000000LL /* 2000-02-29 */,
                       4102444799999999LL /* 2099-12-31T23:59:59.999999 */, 253402300799999999LL,
                       253402300800000000LL /* year 10000: general path */, -62135596800000000LL,
                       -62135596800000001LL, 1795560720123456LL};
    char a[TIME_ISO_LEN], b[TIME_ISO_LEN];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        db_iso8601(fixed[i], a);
        time_iso8601(fixed[i], b, sizeof b);
        CHECK_STR(a, b);
    }
    uint64_t x = 88172645463325252ULL;                   /* xorshift: spread over 0000-9999 */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int64_t us = (int64_t)(x % 315537897600000000ULL) - 62135596800000000LL;
        db_iso8601(us, a);
        time_iso8601(us, b, sizeof b);
        if (strcmp(a, b)) { CHECK_STR(a, b); break; }
    }
}

TEST(store_db_hostile_values)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    db_pool_t *p = store_pool(st);
    /* more parameters than a statement may bind: an error, not a crash */
    db_value_t many[70];
    for (int i = 0; i < 70; i++) many[i] = db_int(i);
    int64_t v = 0;
    CHECK_INT(db_pool_query_int64(p, "SELECT $70", many, 70, &v), DB_ERROR);
    /* text with an embedded NUL, bound by length, comes back whole */
    db_result_t *r = NULL;
    db_value_t nul[] = {db_blob("a\0b", 3)};
    REQUIRE(db_pool_query(p, "SELECT $1 AS b", nul, 1, &r) == DB_OK);
    size_t len = 0;
    const char *b = db_get_blob(r, 0, 0, &len);
    CHECK_INT(len, 3);
    CHECK(b && b[0] == 'a' && b[1] == 0 && b[2] == 'b');
    db_result_free(r);
    /* invalid UTF-8 cannot become a JSON string: it renders as null rather than failing */
    db_value_t bad[] = {db_blob("\xff\xfe", 2)};
    REQUIRE(db_pool_query(p, "SELECT $1 AS s", bad, 1, &r) == DB_OK);
    json_t *o = db_row_json(r, 0, "s");
    CHECK(json_is_null(json_object_get(o, "s")));
    json_decref(o);
    db_result_free(r);
    /* a connection released inside a hand-made transaction does not poison the pool */
    db_conn_t *c = db_acquire(p);
    REQUIRE(c);
    CHECK_INT(db_exec(c, "BEGIN", NULL, 0, NULL), DB_OK);
    db_release(c);
    char coll[64];
    fixture_email(coll, sizeof coll, "after");
    db_value_t ins[] = {db_text(coll), db_int(1), db_int(0), db_blob("", 0)};
    CHECK_INT(db_pool_exec(p, "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, $3, $4)",
                           ins, 4, NULL), DB_OK);
    store_close(st);
}

TEST(store_db_json_helpers_and_read_snapshot)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    db_pool_t *p = store_pool(st);
    char coll[64];
    fixture_email(coll, sizeof coll, "snap");
    const char *ins = "INSERT INTO vectors (collection, item_id, dim, data) VALUES ($1, $2, $3, $4)";
    for (int i = 1; i <= 3; i++) {
        db_value_t v[] = {db_text(coll), db_int(i), db_int(i * 10), db_blob("x", 1)};
        REQUIRE(db_pool_exec(p, ins, v, 4, NULL) == DB_OK);
    }
    db_value_t q[] = {db_text(coll)};
    json_t *o = NULL;
    CHECK_INT(db_pool_query_rows_json(p, "SELECT item_id AS id, dim FROM vectors WHERE collection = $1"
                                         " ORDER BY item_id DESC", q, 1, "ii", &o), DB_OK);
    CHECK_INT(json_array_size(o), 3);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(o, 0), "dim")), 30);
    json_decref(o);
    CHECK_INT(db_pool_query_row_json(p, "SELECT item_id AS id FROM vectors WHERE collection = $1"
                                        " ORDER BY item_id", q, 1, "i", &o), DB_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "id")), 1);
    json_decref(o);
    db_value_t none[] = {db_text("no such collection")};
    CHECK_INT(db_pool_query_row_json(p, "SELECT item_id FROM vectors WHERE collection = $1", none, 1, "i", &o),
              DB_NOT_FOUND);
    CHECK(o == NULL);
    CHECK_INT(db_pool_query_rows_json(p, "SELECT nonsense FROM nowhere", NULL, 0, "i", &o), DB_ERROR);
    CHECK(o == NULL);

    /* a read snapshot does not see a row committed by another connection meanwhile */
    db_conn_t *reader = db_acquire(p), *writer = db_acquire(p);
    REQUIRE(reader && writer);
    const char *cnt = "SELECT count(*) FROM vectors WHERE collection = $1";
    int64_t n = 0;
    CHECK_INT(db_begin_read(reader), DB_OK);
    CHECK_INT(db_query_int64(reader, cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 3);
    db_value_t v4[] = {db_text(coll), db_int(4), db_int(40), db_blob("x", 1)};
    CHECK_INT(db_exec(writer, ins, v4, 4, NULL), DB_OK);
    CHECK_INT(db_query_int64(reader, cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 3);
    CHECK_INT(db_commit(reader), DB_OK);
    CHECK_INT(db_query_int64(reader, cnt, q, 1, &n), DB_OK);
    CHECK_INT(n, 4);
    db_release(writer);
    db_release(reader);
    store_close(st);
}
