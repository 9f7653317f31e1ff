/* conversations.c — conversations and their messages. Every statement carries the owner:
 * user_id = $1, or "user_id IS NULL" for anonymous (user 0), chosen in C so both forms keep
 * using the (user_id, ...) indexes. message_count is kept on the row (updated in the same
 * transaction as the insert) so listing never counts messages. Search is case-insensitive
 * for ASCII letters (SQLite's lower(), and PostgreSQL's in the C locale); other letters match
 * as written. */
#include "store/internal.h"
#include "core/timeutil.h"
#include <stdlib.h>

#define OWNER_USER " user_id = $1 "
#define OWNER_ANON " user_id IS NULL AND $1 = 0 "

int store_conversation_create(store_t *st, int64_t user_id, const char *title, const char *model,
                              json_t **out)
{
    *out = NULL;
    int64_t now = time_now_us();
    db_value_t p[] = {db_id(user_id), db_text(title ? title : "New Chat"), db_text(model), db_int(now)};
    int rc = db_pool_query_row_json(st->pool,
        "INSERT INTO conversations (user_id, title, model, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $4) RETURNING id, title, model, created_at", p, 4, "isst", out);
    return rc == DB_NOT_FOUND ? STORE_ERROR : rc;
}

#define LIST_COLS "SELECT id, title, model, created_at, updated_at, message_count, is_archived" \
                  " FROM conversations WHERE"
#define LIST_TAIL " ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"

int store_conversation_list(store_t *st, int64_t user_id, int archived, int limit, int offset,
                            json_t **out)
{
    static const char *const sql[2][2] = {
        {LIST_COLS OWNER_ANON "AND is_archived = $2" LIST_TAIL,
         LIST_COLS OWNER_ANON "AND $2 = -1" LIST_TAIL},
        {LIST_COLS OWNER_USER "AND is_archived = $2" LIST_TAIL,
         LIST_COLS OWNER_USER "AND $2 = -1" LIST_TAIL},
    };
    *out = NULL;
    if (limit < 0) limit = 0;
    if (offset < 0) offset = 0;
    int any = archived < 0;
    db_value_t p[] = {db_int(user_id), db_int(any ? -1 : (archived ? 1 : 0)), db_int(limit),
                      db_int(offset)};
    return db_pool_query_rows_json(st->pool, sql[user_id != 0][any], p, 4, "issttib", out);
}

int store_conversation_get(store_t *st, int64_t user_id, int64_t id, bool with_messages,
                           json_t **out)
{
    *out = NULL;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    db_value_t p[] = {db_int(user_id), db_int(id)};
    db_result_t *r = NULL;
    /* one snapshot, so the messages agree with the conversation row (message_count) */
    int rc = with_messages ? db_begin_read(c) : DB_OK;
    if (rc == DB_OK) rc = db_query(c, user_id
        ? "SELECT id, title, model, created_at, updated_at, is_archived, message_count"
          " FROM conversations WHERE id = $2 AND" OWNER_USER
        : "SELECT id, title, model, created_at, updated_at, is_archived, message_count"
          " FROM conversations WHERE id = $2 AND" OWNER_ANON, p, 2, &r);
    if (rc == DB_OK && db_rows(r) == 0) rc = STORE_NOT_FOUND;
    json_t *conv = NULL;
    if (rc == DB_OK) conv = db_row_json(r, 0, "issttbi");
    db_result_free(r);
    r = NULL;
    if (rc == DB_OK && with_messages) {
        db_value_t m[] = {db_int(id)};
        rc = db_query(c, "SELECT id, role, content, model, prompt_tokens, completion_tokens,"
                         " created_at FROM messages WHERE conversation_id = $1"
                         " ORDER BY created_at, id", m, 1, &r);
        if (rc == DB_OK) json_object_set_new(conv, "messages", db_rows_json(r, "isssiit"));
        db_result_free(r);
    }
    if (db_in_transaction(c)) db_commit(c);
    db_release(c);
    if (rc == DB_OK) *out = conv;
    else json_decref(conv);
    return rc;
}

int store_conversation_update(store_t *st, int64_t user_id, int64_t id, const char *title,
                              int is_archived)
{
    db_value_t p[] = {db_int(user_id), db_int(id), db_text(title),
                      is_archived < 0 ? db_null() : db_int(is_archived ? 1 : 0), db_int(time_now_us())};
    int64_t n = 0;
    int rc = db_pool_exec(st->pool, user_id
        ? "UPDATE conversations SET title = COALESCE($3, title),"
          " is_archived = COALESCE($4, is_archived), updated_at = $5 WHERE id = $2 AND" OWNER_USER
        : "UPDATE conversations SET title = COALESCE($3, title),"
          " is_archived = COALESCE($4, is_archived), updated_at = $5 WHERE id = $2 AND" OWNER_ANON,
        p, 5, &n);
    if (rc != DB_OK) return rc;
    return n ? STORE_OK : STORE_NOT_FOUND;
}

int store_conversation_delete(store_t *st, int64_t user_id, int64_t id)
{
    db_value_t p[] = {db_int(user_id), db_int(id)};
    int64_t n = 0;
    int rc = db_pool_exec(st->pool, user_id
        ? "DELETE FROM conversations WHERE id = $2 AND" OWNER_USER
        : "DELETE FROM conversations WHERE id = $2 AND" OWNER_ANON, p, 2, &n);
    if (rc != DB_OK) return rc;
    return n ? STORE_OK : STORE_NOT_FOUND;
}

#define SEARCH_SQL(owner)                                                                     \
    "SELECT c.id, c.title, c.created_at, c.updated_at FROM conversations c WHERE c." owner   \
    "AND (lower(c.title) LIKE lower($2) ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"     \
    " WHERE m.conversation_id = c.id AND lower(m.content) LIKE lower($2) ESCAPE '\\'))"      \
    " ORDER BY c.updated_at DESC, c.id DESC LIMIT $3"

int store_conversation_search(store_t *st, int64_t user_id, const char *q, int limit, json_t **out)
{
    *out = NULL;
    if (!q) return STORE_ERROR;
    char *pattern = db_like_contains(q);
    db_value_t p[] = {db_int(user_id), db_text(pattern), db_int(limit < 0 ? 0 : limit)};
    int rc = db_pool_query_rows_json(st->pool, user_id ? SEARCH_SQL(OWNER_USER)
                                                       : SEARCH_SQL(OWNER_ANON), p, 3, "istt", out);
    free(pattern);
    return rc;
}

int store_message_add(store_t *st, int64_t conversation_id, const store_new_message_t *m,
                      int64_t *id_out)
{
    if (!m || !m->role || !m->content) return STORE_ERROR;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t now = time_now_us(), changed = 0, id = 0;
    int rc = db_begin(c);
    if (rc == DB_OK) {
        db_value_t p[] = {db_int(conversation_id), db_int(now)};
        rc = db_exec(c, "UPDATE conversations SET message_count = message_count + 1,"
                        " updated_at = $2 WHERE id = $1", p, 2, &changed);
        if (rc == DB_OK && changed == 0) rc = STORE_NOT_FOUND;
    }
    if (rc == DB_OK) {
        db_value_t p[] = {db_int(conversation_id), db_text(m->role), db_text(m->content),
                          db_text(m->model),
                          m->prompt_tokens < 0 ? db_null() : db_int(m->prompt_tokens),
                          m->completion_tokens < 0 ? db_null() : db_int(m->completion_tokens),
                          db_int(now)};
        rc = db_query_int64(c, "INSERT INTO messages (conversation_id, role, content, model,"
                               " prompt_tokens, completion_tokens, created_at)"
                               " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                            p, DB_NPARAMS(p), &id);
        if (rc == DB_NOT_FOUND) rc = STORE_ERROR;
    }
    if (rc == DB_OK) rc = db_commit(c);
    db_release(c);
    if (rc == DB_OK && id_out) *id_out = id;
    return rc;
}
