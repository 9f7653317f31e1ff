/* db_driver.h — what a SQL engine driver provides to db.c (the pool, transactions and
 * result sets are shared; only talking to the engine differs). Also the result builder
 * drivers use to materialise rows, and the per-connection statement cache both use.
 * Not for domain code: that includes db.h only. */
#ifndef RODEO_STORE_DB_DRIVER_H
#define RODEO_STORE_DB_DRIVER_H
#include "store/db.h"

typedef struct {
    const char *name;
    /* Opens one engine connection to target; NULL with err set on failure. */
    void *(*connect)(const char *target, char *err, size_t errlen);
    void  (*disconnect)(void *h);
    /* Runs one statement (prepared and cached by SQL text). When out is non-NULL its rows
     * are appended to it (columns named on first use). *changes gets rows affected. */
    int   (*run)(void *h, const char *sql, const db_value_t *params, int n, db_result_t *out,
                 int64_t *changes);
    int   (*exec_script)(void *h, const char *sql);
    const char *(*errmsg)(void *h);
    /* False when the connection is broken and must be discarded rather than pooled. */
    bool  (*healthy)(void *h);
} db_driver_t;

extern const db_driver_t db_driver_sqlite;
extern const db_driver_t db_driver_postgres;

/* ---- result builder ---- */
db_result_t *db_result_new(void);
/* Sets the column count and names (once, before the first row). */
void db_result_set_cols(db_result_t *r, int ncols);
void db_result_set_colname(db_result_t *r, int col, const char *name);
bool db_result_has_cols(const db_result_t *r);
/* Starts a new row of NULL cells; then fill its cells with the setters. */
void db_result_add_row(db_result_t *r);
void db_result_put_int(db_result_t *r, int col, int64_t v);
void db_result_put_double(db_result_t *r, int col, double v);
void db_result_put_text(db_result_t *r, int col, const char *s, size_t len);
void db_result_put_blob(db_result_t *r, int col, const void *p, size_t len);

/* ---- statement cache: SQL text -> engine statement, per connection ----
 * Open addressing on a hash of the text; the key is copied. free_fn releases a statement
 * when the cache is cleared. */
typedef struct {
    struct db_stmt_slot *slots;
    size_t cap, count;
    void (*free_fn)(void *stmt);
} db_stmt_cache_t;

/* Past this many statements a connection flushes its cache (SQL built at run time, e.g. with
 * variable IN lists, would otherwise grow it without bound). */
#define DB_STMT_CACHE_MAX 256

uint64_t db_sql_hash(const char *sql);
void *db_stmt_cache_get(db_stmt_cache_t *c, const char *sql);
void  db_stmt_cache_put(db_stmt_cache_t *c, const char *sql, void *stmt);
void  db_stmt_cache_clear(db_stmt_cache_t *c);          /* frees statements and slots */
#endif
