/* users.c — accounts: creation, profile reads and partial updates, and the two lookups on
 * the authentication path (sign-in by e-mail, per-request principal check). */
#include "store/internal.h"
#include "core/timeutil.h"
#include <stdlib.h>

int store_user_create(store_t *st, const store_new_user_t *u, int64_t *id_out)
{
    if (!u || !u->email) return STORE_ERROR;
    int64_t now = time_now_us();
    db_value_t p[] = {db_text(u->email), db_text(u->password_hash), db_text(u->full_name),
                      db_text(u->oauth_provider), db_text(u->oauth_id), db_bool(u->is_admin),
                      db_int(now)};
    int64_t id = 0;
    int rc = db_pool_query_int64(st->pool,
        "INSERT INTO users (email, password_hash, full_name, oauth_provider, oauth_id, is_admin,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        p, DB_NPARAMS(p), &id);
    if (rc == DB_OK && id_out) *id_out = id;
    return rc == DB_NOT_FOUND ? STORE_ERROR : rc;
}

int store_user_get(store_t *st, int64_t id, json_t **out)
{
    *out = NULL;
    db_value_t p[] = {db_int(id)};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT id, email, full_name, skill_level, preferences, created_at, updated_at, is_admin,"
        " plan FROM users WHERE id = $1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) {
        db_result_free(r);
        return STORE_NOT_FOUND;
    }
    json_t *o = db_row_json(r, 0, "issssttbs");
    db_result_free(r);
    /* preferences are stored as JSON text; anything that is not an object reads as {} */
    const char *txt = json_string_value(json_object_get(o, "preferences"));
    json_t *prefs = txt ? json_loads(txt, 0, NULL) : NULL;
    if (!json_is_object(prefs)) {
        json_decref(prefs);
        prefs = json_object();
    }
    json_object_set_new(o, "preferences", prefs);
    *out = o;
    return STORE_OK;
}

int store_user_auth_by_email(store_t *st, const char *email, int64_t *id, char **password_hash,
                             bool *is_active)
{
    if (password_hash) *password_hash = NULL;
    db_value_t p[] = {db_text(email)};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT id, password_hash, is_active FROM users WHERE email = $1", p, 1, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else {
        if (id) *id = db_get_int64(r, 0, 0);
        if (password_hash) *password_hash = db_dup_text(r, 0, 1);
        if (is_active) *is_active = db_get_bool(r, 0, 2);
    }
    db_result_free(r);
    return rc;
}

int store_user_by_oauth(store_t *st, const char *provider, const char *oauth_id, int64_t *id)
{
    if (!provider || !oauth_id) return STORE_NOT_FOUND;
    db_value_t p[] = {db_text(provider), db_text(oauth_id)};
    return db_pool_query_int64(st->pool,
        "SELECT id FROM users WHERE oauth_provider = $1 AND oauth_id = $2", p, 2, id);
}

int store_user_principal(store_t *st, int64_t user_id, int64_t session_id, bool *is_admin,
                         char **email)
{
    if (email) *email = NULL;
    db_value_t p[] = {db_int(user_id), db_int(session_id), db_int(time_now_us())};
    db_result_t *r;
    int rc = db_pool_query(st->pool,
        "SELECT u.is_admin, u.email FROM users u JOIN sessions s ON s.user_id = u.id"
        " WHERE u.id = $1 AND s.id = $2 AND u.is_active = 1 AND s.revoked_at IS NULL"
        " AND s.expires_at > $3", p, 3, &r);
    if (rc != DB_OK) return rc;
    if (db_rows(r) == 0) rc = STORE_NOT_FOUND;
    else {
        if (is_admin) *is_admin = db_get_bool(r, 0, 0);
        if (email) *email = db_dup_text(r, 0, 1);
    }
    db_result_free(r);
    return rc;
}

int store_user_update(store_t *st, int64_t id, const char *full_name, const char *skill_level,
                      const char *preferences_json)
{
    db_value_t p[] = {db_int(id), db_text(full_name), db_text(skill_level),
                      db_text(preferences_json), db_int(time_now_us())};
    int64_t n = 0;
    int rc = db_pool_exec(st->pool,
        "UPDATE users SET full_name = COALESCE($2, full_name),"
        " skill_level = COALESCE($3, skill_level), preferences = COALESCE($4, preferences),"
        " updated_at = $5 WHERE id = $1", p, DB_NPARAMS(p), &n);
    if (rc != DB_OK) return rc;
    return n ? STORE_OK : STORE_NOT_FOUND;
}

int store_user_set_admin(store_t *st, int64_t id, bool is_admin)
{
    db_value_t p[] = {db_int(id), db_bool(is_admin), db_int(time_now_us())};
    int64_t n = 0;
    int rc = db_pool_exec(st->pool, "UPDATE users SET is_admin = $2, updated_at = $3 WHERE id = $1",
                          p, 3, &n);
    if (rc != DB_OK) return rc;
    return n ? STORE_OK : STORE_NOT_FOUND;
}
