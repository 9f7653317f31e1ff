/* db.h — the store's internal SQL driver interface. Domain files (users.c, conversations.c,
 * billing.c, ...) write their SQL once against this interface; two drivers implement it:
 * sqlite.c (libsqlite3) and postgres.c (libpq). Nothing above this layer knows which one runs.
 *
 * SQL rules (so one text runs on both engines)
 * - Parameters are written $1, $2, ... (SQLite binds them as named parameters "$1").
 * - Portable SQL only: RETURNING id, lower(x) LIKE lower($1) ESCAPE '\', COALESCE, LIMIT/OFFSET,
 *   INSERT ... ON CONFLICT (col) DO ... (both engines support it). Booleans are INTEGER 0/1.
 *   Timestamps are BIGINT microseconds computed in C (time_now_us), never SQL clock functions.
 * - Only DDL in migrations may use dialect tokens (see migrations.c).
 * - Not portable, so not used: INSERT OR IGNORE/REPLACE (write ON CONFLICT ... DO NOTHING /
 *   DO UPDATE SET x = excluded.x), ILIKE, negative LIMIT, DML inside WITH, now()/strftime.
 * - PostgreSQL fixes each parameter's type when the statement is first prepared: int ->
 *   bigint, double -> float8, blob -> bytea, text and NULL -> inferred from context. Where the
 *   context says nothing ("$1 IS NULL", "SELECT $1"), write CAST($1 AS BIGINT) / CAST($1 AS TEXT).
 *
 * Connections
 * - A pool (db_pool_t) hands out connections (db_conn_t); one connection is used by one thread
 *   between db_acquire() and db_release(). Prepared statements are cached per connection
 *   keyed by SQL text, so pass the same text each time (string literals are ideal).
 * - Results are fully materialised: a db_result_t stays valid after the connection is
 *   released, which is why the one-shot db_pool_* helpers exist.
 *
 * An area file in five lines (src/store/<area>.c, including "store/internal.h"):
 *
 *     int store_product_get(store_t *st, int64_t id, json_t **out)
 *     {
 *         db_value_t p[] = {db_int(id)};
 *         return db_pool_query_row_json(store_pool(st),
 *             "SELECT id, sku, brand, model, attributes, updated_at FROM products WHERE id = $1",
 *             p, DB_NPARAMS(p), "isssjt", out);      // DB_NOT_FOUND when there is no row
 *     }
 *
 * Several statements that must commit together: c = db_acquire(pool); db_begin(c); ...
 * db_exec/db_query...; db_commit(c); db_release(c) (release rolls back whatever was not
 * committed, so error paths just release). The schema is in migrations.c (append a version,
 * never edit a released one).
 *
 * Errors
 * - Functions return DB_OK (0), DB_NOT_FOUND (1: no row where one was required),
 *   DB_CONFLICT (2: unique/primary-key violation) or DB_ERROR (-1: anything else, logged with
 *   the engine's message). The values equal STORE_OK/STORE_NOT_FOUND/STORE_CONFLICT/STORE_ERROR
 *   so domain code can return them directly.
 */
#ifndef RODEO_STORE_DB_H
#define RODEO_STORE_DB_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { DB_OK = 0, DB_NOT_FOUND = 1, DB_CONFLICT = 2, DB_ERROR = -1 };

typedef enum { DB_SQLITE = 1, DB_POSTGRES = 2 } db_dialect_t;

typedef struct db_pool   db_pool_t;
typedef struct db_conn   db_conn_t;
typedef struct db_result db_result_t;

/* ---- parameters ---- */
typedef enum { DB_T_NULL = 0, DB_T_INT, DB_T_DOUBLE, DB_T_TEXT, DB_T_BLOB } db_type_t;

/* One bound value. Build with the helpers below; text/blob pointers are borrowed and must
 * stay valid for the duration of the call. */
typedef struct {
    db_type_t   type;
    int64_t     i;
    double      d;
    const void *p;
    size_t      len;     /* text: (size_t)-1 = NUL-terminated */
} db_value_t;

static inline db_value_t db_null(void) { return (db_value_t){.type = DB_T_NULL}; }
static inline db_value_t db_int(int64_t v) { return (db_value_t){.type = DB_T_INT, .i = v}; }
static inline db_value_t db_bool(bool v) { return (db_value_t){.type = DB_T_INT, .i = v ? 1 : 0}; }
static inline db_value_t db_double(double v) { return (db_value_t){.type = DB_T_DOUBLE, .d = v}; }
/* NULL s binds SQL NULL. */
static inline db_value_t db_text(const char *s)
{ return s ? (db_value_t){.type = DB_T_TEXT, .p = s, .len = (size_t)-1} : db_null(); }
static inline db_value_t db_textn(const char *s, size_t n)
{ return s ? (db_value_t){.type = DB_T_TEXT, .p = s, .len = n} : db_null(); }
static inline db_value_t db_blob(const void *p, size_t n)
{ return (db_value_t){.type = DB_T_BLOB, .p = p ? p : "", .len = n}; }
/* Optional foreign key: 0 binds NULL (e.g. user_id 0 = anonymous). */
static inline db_value_t db_id(int64_t v) { return v ? db_int(v) : db_null(); }

#define DB_NPARAMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- pool ---- */
/* target: a file path (DB_SQLITE) or a libpq conninfo/URL (DB_POSTGRES). max_conns <= 0
 * means 8. Opens one connection immediately so a bad target fails here, with err set. */
db_pool_t   *db_pool_open(db_dialect_t dialect, const char *target, int max_conns, char *err,
                          size_t errlen);
void         db_pool_close(db_pool_t *pool);          /* all connections must be released */
db_dialect_t db_pool_dialect(const db_pool_t *pool);

/* Blocks while all max_conns connections are busy. NULL (logged) when a new connection
 * cannot be opened. */
db_conn_t   *db_acquire(db_pool_t *pool);
/* Returns the connection; an open transaction is rolled back first. NULL is ignored. */
void         db_release(db_conn_t *conn);
db_dialect_t db_conn_dialect(const db_conn_t *conn);
/* The engine's message for the last failed call on this connection ("" when none). */
const char  *db_errmsg(const db_conn_t *conn);

/* ---- statements ---- */
/* Runs one statement and materialises its rows into *out (caller frees with
 * db_result_free; *out is NULL on error). */
int db_query(db_conn_t *c, const char *sql, const db_value_t *params, int n, db_result_t **out);
/* Runs one statement, discarding rows; *changes (may be NULL) = rows inserted/updated/deleted. */
int db_exec(db_conn_t *c, const char *sql, const db_value_t *params, int n, int64_t *changes);
/* First column of the first row as int64 (e.g. INSERT ... RETURNING id, SELECT count(*)).
 * DB_NOT_FOUND when there is no row. */
int db_query_int64(db_conn_t *c, const char *sql, const db_value_t *params, int n, int64_t *out);
/* Several ;-separated statements without parameters and without caching (DDL). */
int db_exec_script(db_conn_t *c, const char *sql);

/* Write transaction. SQLite: BEGIN IMMEDIATE (takes the write lock up front, so the busy
 * timeout applies and no upgrade deadlock is possible). PostgreSQL: BEGIN. */
int db_begin(db_conn_t *c);
/* Read-only snapshot for several SELECTs that must agree with each other (e.g. a row and its
 * children). SQLite: BEGIN (deferred: one WAL read lock for all of them). PostgreSQL:
 * BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY. End it with db_commit or db_rollback. */
int db_begin_read(db_conn_t *c);
int db_commit(db_conn_t *c);
int db_rollback(db_conn_t *c);            /* no-op returning DB_OK outside a transaction */
bool db_in_transaction(const db_conn_t *c);

/* One-shot helpers: acquire, run, release. */
int db_pool_query(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                  db_result_t **out);
int db_pool_exec(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                 int64_t *changes);
int db_pool_query_int64(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                        int64_t *out);

/* ---- results ---- */
/* Cells are typed as the engine returned them: INTEGER/BIGINT/SMALLINT (and PostgreSQL
 * boolean) -> DB_T_INT, REAL/DOUBLE/NUMERIC -> DB_T_DOUBLE, BLOB/BYTEA -> DB_T_BLOB,
 * everything else -> DB_T_TEXT, NULL -> DB_T_NULL. Accessors convert where it is cheap
 * (int <-> double, numeric text -> int); out-of-range row/col reads as NULL. */
int         db_rows(const db_result_t *r);
int         db_cols(const db_result_t *r);
const char *db_colname(const db_result_t *r, int col);
db_type_t   db_type(const db_result_t *r, int row, int col);
bool        db_isnull(const db_result_t *r, int row, int col);
int64_t     db_get_int64(const db_result_t *r, int row, int col);    /* NULL -> 0 */
double      db_get_double(const db_result_t *r, int row, int col);   /* NULL -> 0 */
bool        db_get_bool(const db_result_t *r, int row, int col);     /* int != 0 */
/* NUL-terminated text, NULL for SQL NULL or non-text cells. Valid until db_result_free. */
const char *db_get_text(const db_result_t *r, int row, int col);
/* Blob bytes (also works for text cells), NULL for SQL NULL. */
const void *db_get_blob(const db_result_t *r, int row, int col, size_t *len);
/* malloc'd copy of a text cell, NULL for SQL NULL. */
char       *db_dup_text(const db_result_t *r, int row, int col);
void        db_result_free(db_result_t *r);

/* ---- results as JSON (db_json.c) ----
 * spec has one letter per column, in column order, naming how to render it under its
 * column name (use SQL aliases to give API field names):
 *   i int   d double   s text   b bool (int 0/1)   t timestamp (int64 us -> ISO-8601 string)
 *   j JSON text parsed into a value (invalid JSON -> null)   - skip the column
 * NULL cells become JSON null. A spec shorter than the column count skips the rest. */
json_t *db_row_json(const db_result_t *r, int row, const char *spec);
json_t *db_rows_json(const db_result_t *r, const char *spec);     /* array of objects */

/* The ISO-8601 form of a timestamp, as time_iso8601() writes it, without libc formatting
 * (fast path for result rendering). out: at least 32 bytes. */
void db_iso8601(int64_t us, char out[32]);

/* One-shot query rendered straight to JSON (acquire, run, render, release).
 * db_pool_query_row_json: the first row as an object, DB_NOT_FOUND when there is none.
 * db_pool_query_rows_json: all rows as an array (possibly empty). *out is NULL on error. */
int db_pool_query_row_json(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                           const char *spec, json_t **out);
int db_pool_query_rows_json(db_pool_t *p, const char *sql, const db_value_t *params, int n,
                            const char *spec, json_t **out);

/* ---- helpers for SQL text ---- */
/* "%" + s with '\', '%' and '_' escaped by '\' + "%": for LIKE ... ESCAPE '\'. Caller frees. */
char *db_like_contains(const char *s);
#endif
