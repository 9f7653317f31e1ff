/* store.h — Rodeo's data interface. Everything persistent goes through these functions;
 * handlers never see SQL. Two backends implement it: SQLite (default; file under the data
 * dir, WAL, foreign keys, busy timeout) and PostgreSQL (DATABASE_URL=postgresql://...),
 * selected by store_open() from the URL. The same test suite runs against both.
 *
 * Conventions
 * - Return codes: STORE_OK (0), STORE_NOT_FOUND, STORE_CONFLICT (unique violation),
 *   STORE_ERROR (-1, logged with the cause; the caller answers 500/503).
 * - Ownership is part of every query that reads or writes user data: functions that take
 *   user_id only ever see rows of that user; another user's row is STORE_NOT_FOUND.
 * - Read models come back as jansson objects whose field names are the API's (so handlers
 *   stay thin). Timestamps are int64 microseconds UTC in the database and ISO-8601 strings
 *   ("2026-11-24T22:52:00.123456Z") in returned JSON; absent values are JSON null.
 * - Thread-safe: each call takes a connection from the pool for its duration.
 */
#ifndef RODEO_STORE_H
#define RODEO_STORE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

enum { STORE_OK = 0, STORE_NOT_FOUND = 1, STORE_CONFLICT = 2, STORE_ERROR = -1 };

/* url: NULL or "" -> sqlite under data_dir ("<data_dir>/rodeo.db"); "sqlite:///abs/path",
 * "sqlite://rel/path" or a plain path -> SQLite; "postgresql://..." / "postgres://..." ->
 * PostgreSQL. pool_size = connections kept (PostgreSQL) / max per-thread handles (SQLite).
 * Does not migrate; call store_migrate(). */
store_t *store_open(const char *url, const char *data_dir, int pool_size, char *err, size_t errlen);
void     store_close(store_t *st);
const char *store_backend(const store_t *st);            /* "sqlite" | "postgres" */

/* Applies pending migrations (recorded in schema_migrations). Returns the schema version,
 * or -1 with err set; a database newer than this binary is an error naming both versions. */
int  store_migrate(store_t *st, char *err, size_t errlen);
int  store_schema_version_known(void);                    /* latest version this binary has */
int  store_ping(store_t *st);                             /* 0 when reachable */

/* ---- users ---- */
typedef struct {
    const char *email;           /* already normalised (trimmed, lower-cased) */
    const char *password_hash;   /* argon2id encoded string, or NULL (OAuth-only account) */
    const char *full_name;       /* may be NULL */
    const char *oauth_provider;  /* "google" or NULL */
    const char *oauth_id;        /* provider subject or NULL */
    bool        is_admin;
} store_new_user_t;

/* STORE_CONFLICT when the email (or provider+oauth_id) exists. */
int store_user_create(store_t *st, const store_new_user_t *u, int64_t *id_out);
/* Public profile: {id, email, full_name, skill_level, preferences (object), created_at,
 * updated_at, is_admin, plan}. plan is the active plan name ("free" when none). */
int store_user_get(store_t *st, int64_t id, json_t **out);
/* For sign-in: id, password hash (caller frees; NULL for OAuth-only), active flag. */
int store_user_auth_by_email(store_t *st, const char *email, int64_t *id, char **password_hash,
                             bool *is_active);
int store_user_by_oauth(store_t *st, const char *provider, const char *oauth_id, int64_t *id);
/* Minimal principal lookup used on every authenticated request: active user and session. */
int store_user_principal(store_t *st, int64_t user_id, int64_t session_id, bool *is_admin,
                         char **email /* caller frees */);
/* Partial update; NULL fields are left alone. skill_level is validated by the caller.
 * preferences_json is a serialised JSON object. */
int store_user_update(store_t *st, int64_t id, const char *full_name, const char *skill_level,
                      const char *preferences_json);
int store_user_set_admin(store_t *st, int64_t id, bool is_admin);

/* ---- sessions and refresh tokens ----
 * A session is one sign-in; it owns a chain of refresh tokens (only hashes are stored).
 * Rotation marks the presented token used and adds its successor. Presenting a used token
 * again is reuse: the whole session is revoked and STORE_CONFLICT returned. */
int store_session_create(store_t *st, int64_t user_id, const char *refresh_hash,
                         int64_t expires_at_us, int64_t *session_id);
/* On success sets *user_id and *session_id. STORE_NOT_FOUND: unknown, expired or revoked.
 * STORE_CONFLICT: reuse detected (session now revoked). */
int store_session_rotate(store_t *st, const char *old_hash, const char *new_hash,
                         int64_t new_expires_at_us, int64_t *user_id, int64_t *session_id);
int store_session_revoke(store_t *st, int64_t user_id, int64_t session_id);

/* ---- conversations and messages ---- */
/* user_id 0 = anonymous (NULL owner). Returns {id, title, model, created_at}. */
int store_conversation_create(store_t *st, int64_t user_id, const char *title, const char *model,
                              json_t **out);
/* Newest first (updated_at, then id). archived: -1 any, 0 only active, 1 only archived.
 * Items: {id, title, model, created_at, updated_at, message_count, is_archived}. */
int store_conversation_list(store_t *st, int64_t user_id, int archived, int limit, int offset,
                            json_t **out);
/* {id, title, model, created_at, updated_at, is_archived, messages:[{id, role, content,
 * model, prompt_tokens, completion_tokens, created_at}]} ordered by (created_at, id). */
int store_conversation_get(store_t *st, int64_t user_id, int64_t id, bool with_messages,
                           json_t **out);
/* title NULL = unchanged; is_archived -1 = unchanged. */
int store_conversation_update(store_t *st, int64_t user_id, int64_t id, const char *title,
                              int is_archived);
int store_conversation_delete(store_t *st, int64_t user_id, int64_t id);   /* cascades */
/* Case-insensitive substring match over title and message content; one row per
 * conversation: [{id, title, created_at, updated_at}] newest first. */
int store_conversation_search(store_t *st, int64_t user_id, const char *q, int limit, json_t **out);

typedef struct {
    const char *role;            /* "user" | "assistant" | "system" */
    const char *content;
    const char *model;           /* may be NULL */
    int         prompt_tokens;   /* -1 = unknown */
    int         completion_tokens;
} store_new_message_t;
/* Appends and bumps conversation.updated_at. The owner check is the caller's (it loaded the
 * conversation with store_conversation_get first). */
int store_message_add(store_t *st, int64_t conversation_id, const store_new_message_t *m,
                      int64_t *id_out);

/* Feedback on a message the user owns (through its conversation); STORE_NOT_FOUND otherwise.
 * rating: "positive" | "negative". */
int store_feedback_add(store_t *st, int64_t user_id, int64_t message_id, const char *rating,
                       const char *comment, int64_t *id_out);
#endif
