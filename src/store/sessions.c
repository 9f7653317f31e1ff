/* sessions.c — sign-in sessions and their refresh-token chains. Only token hashes are
 * stored. Rotation is a compare-and-set on used_at (UPDATE ... WHERE used_at IS NULL), so two
 * racing rotations of one token cannot both win: the loser is treated as reuse, which
 * revokes the session (a stolen token and its owner can no longer both continue). */
#include "store/internal.h"
#include "core/timeutil.h"

int store_session_create(store_t *st, int64_t user_id, const char *refresh_hash,
                         int64_t expires_at_us, int64_t *session_id)
{
    if (!refresh_hash) return STORE_ERROR;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t now = time_now_us(), sid = 0;
    int rc = db_begin(c);
    if (rc == DB_OK) {
        db_value_t p[] = {db_int(user_id), db_int(now), db_int(expires_at_us)};
        rc = db_query_int64(c, "INSERT INTO sessions (user_id, created_at, expires_at)"
                               " VALUES ($1, $2, $3) RETURNING id", p, 3, &sid);
    }
    if (rc == DB_OK) {
        db_value_t p[] = {db_int(sid), db_text(refresh_hash), db_int(now), db_int(expires_at_us)};
        rc = db_exec(c, "INSERT INTO refresh_tokens (session_id, token_hash, created_at, expires_at)"
                        " VALUES ($1, $2, $3, $4)", p, 4, NULL);
    }
    if (rc == DB_OK) rc = db_commit(c);
    db_release(c);
    if (rc == DB_NOT_FOUND) rc = STORE_ERROR;
    if (rc == DB_OK && session_id) *session_id = sid;
    return rc;
}

static int revoke_session(db_conn_t *c, int64_t sid, int64_t now)
{
    db_value_t p[] = {db_int(sid), db_int(now)};
    return db_exec(c, "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                   p, 2, NULL);
}

int store_session_rotate(store_t *st, const char *old_hash, const char *new_hash,
                         int64_t new_expires_at_us, int64_t *user_id, int64_t *session_id)
{
    if (!old_hash || !new_hash) return STORE_NOT_FOUND;
    db_conn_t *c = db_acquire(st->pool);
    if (!c) return STORE_ERROR;
    int64_t now = time_now_us();
    db_result_t *r = NULL;
    int rc = db_begin(c);
    if (rc != DB_OK) goto out;
    db_value_t q[] = {db_text(old_hash)};
    rc = db_query(c, "SELECT rt.id, rt.used_at, rt.expires_at, s.id, s.user_id, s.revoked_at,"
                     " s.expires_at FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id"
                     " WHERE rt.token_hash = $1", q, 1, &r);
    if (rc != DB_OK) goto out;
    if (db_rows(r) == 0 || !db_isnull(r, 0, 5)) {          /* unknown, or session revoked */
        rc = STORE_NOT_FOUND;
        goto out;
    }
    int64_t tid = db_get_int64(r, 0, 0), sid = db_get_int64(r, 0, 3), uid = db_get_int64(r, 0, 4);
    if (!db_isnull(r, 0, 1)) {                               /* presented again: reuse */
        rc = revoke_session(c, sid, now);
        if (rc == DB_OK) rc = db_commit(c);
        if (rc == DB_OK) rc = STORE_CONFLICT;
        goto out;
    }
    if (db_get_int64(r, 0, 2) <= now || db_get_int64(r, 0, 6) <= now) {
        rc = STORE_NOT_FOUND;
        goto out;
    }
    int64_t changed = 0;
    db_value_t u[] = {db_int(tid), db_int(now)};
    rc = db_exec(c, "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                 u, 2, &changed);
    if (rc != DB_OK) goto out;
    if (changed == 0) {                                      /* lost a race: reuse */
        rc = revoke_session(c, sid, now);
        if (rc == DB_OK) rc = db_commit(c);
        if (rc == DB_OK) rc = STORE_CONFLICT;
        goto out;
    }
    db_value_t n[] = {db_int(sid), db_text(new_hash), db_int(now), db_int(new_expires_at_us)};
    rc = db_exec(c, "INSERT INTO refresh_tokens (session_id, token_hash, created_at, expires_at)"
                    " VALUES ($1, $2, $3, $4)", n, 4, NULL);
    if (rc != DB_OK) {
        rc = STORE_ERROR;                   /* a duplicate new hash is the caller's bug, not reuse */
        goto out;
    }
    db_value_t e[] = {db_int(sid), db_int(new_expires_at_us)};
    rc = db_exec(c, "UPDATE sessions SET expires_at = $2 WHERE id = $1", e, 2, NULL);
    if (rc == DB_OK) rc = db_commit(c);
    if (rc == DB_OK) {
        if (user_id) *user_id = uid;
        if (session_id) *session_id = sid;
    }
out:
    db_result_free(r);
    db_release(c);                          /* rolls back whatever was not committed */
    return rc;
}

int store_session_revoke(store_t *st, int64_t user_id, int64_t session_id)
{
    db_value_t p[] = {db_int(user_id), db_int(session_id), db_int(time_now_us())};
    int64_t n = 0;
    int rc = db_pool_exec(st->pool, "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $3)"
                                    " WHERE id = $2 AND user_id = $1", p, 3, &n);
    if (rc != DB_OK) return rc;
    return n ? STORE_OK : STORE_NOT_FOUND;
}
