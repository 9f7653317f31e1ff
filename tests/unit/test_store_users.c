/* Tests for store users and sessions: create/get/update, conflicts on e-mail and OAuth
 * identity, sign-in lookups, principal checks, refresh-token rotation, reuse detection,
 * expiry and revocation. */
#include "test.h"
#include "store_fixture.h"
#include "store/internal.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <stdlib.h>

TEST(store_user_create_get_update)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char email[128];
    fixture_email(email, sizeof email, "alice");
    store_new_user_t u = {.email = email, .password_hash = "$argon2id$v=19$abc", .full_name = "Alice \xc3\x89"};
    int64_t id = 0;
    REQUIRE(store_user_create(st, &u, &id) == STORE_OK);
    CHECK(id > 0);
    json_t *o = NULL;
    REQUIRE(store_user_get(st, id, &o) == STORE_OK);
    CHECK_INT(json_integer_value(json_object_get(o, "id")), id);
    CHECK_STR(json_string_value(json_object_get(o, "email")), email);
    CHECK_STR(json_string_value(json_object_get(o, "full_name")), "Alice \xc3\x89");
    CHECK_STR(json_string_value(json_object_get(o, "skill_level")), "beginner");
    CHECK_STR(json_string_value(json_object_get(o, "plan")), "free");
    CHECK(json_is_false(json_object_get(o, "is_admin")));
    CHECK(json_is_object(json_object_get(o, "preferences")));
    CHECK_INT(json_object_size(json_object_get(o, "preferences")), 0);
    const char *created = json_string_value(json_object_get(o, "created_at"));
    CHECK(created && strlen(created) == 27 && created[26] == 'Z');
    json_decref(o);

    CHECK_INT(store_user_update(st, id, NULL, "advanced", "{\"horse\":\"Dun\",\"n\":[1]}"), STORE_OK);
    REQUIRE(store_user_get(st, id, &o) == STORE_OK);
    CHECK_STR(json_string_value(json_object_get(o, "full_name")), "Alice \xc3\x89");   /* unchanged */
    CHECK_STR(json_string_value(json_object_get(o, "skill_level")), "advanced");
    CHECK_STR(json_string_value(json_object_get(json_object_get(o, "preferences"), "horse")), "Dun");
    json_decref(o);
    CHECK_INT(store_user_update(st, id, "Al", NULL, NULL), STORE_OK);
    /* preferences that are not a JSON object read back as {} rather than failing */
    CHECK_INT(store_user_update(st, id, NULL, NULL, "[1,2"), STORE_OK);
    REQUIRE(store_user_get(st, id, &o) == STORE_OK);
    CHECK_STR(json_string_value(json_object_get(o, "full_name")), "Al");
    CHECK_STR(json_string_value(json_object_get(o, "skill_level")), "advanced");
    CHECK_INT(json_object_size(json_object_get(o, "preferences")), 0);
    json_decref(o);

    CHECK_INT(store_user_set_admin(st, id, true), STORE_OK);
    REQUIRE(store_user_get(st, id, &o) == STORE_OK);
    CHECK(json_is_true(json_object_get(o, "is_admin")));
    json_decref(o);

    CHECK_INT(store_user_get(st, 0, &o), STORE_NOT_FOUND);
    CHECK(o == NULL);
    CHECK_INT(store_user_get(st, INT64_MAX, &o), STORE_NOT_FOUND);
    CHECK_INT(store_user_update(st, INT64_MAX, "x", NULL, NULL), STORE_NOT_FOUND);
    CHECK_INT(store_user_set_admin(st, INT64_MAX, true), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_user_conflicts_and_signin_lookups)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char email[128], oid[128];
    fixture_email(email, sizeof email, "bob");
    fixture_email(oid, sizeof oid, "sub");
    store_new_user_t u = {.email = email, .oauth_provider = "google", .oauth_id = oid};
    int64_t id = 0, id2 = 0;
    REQUIRE(store_user_create(st, &u, &id) == STORE_OK);
    CHECK_INT(store_user_create(st, &u, &id2), STORE_CONFLICT);            /* same e-mail */
    char other[128];
    fixture_email(other, sizeof other, "bob2");
    store_new_user_t u2 = {.email = other, .oauth_provider = "google", .oauth_id = oid};
    CHECK_INT(store_user_create(st, &u2, &id2), STORE_CONFLICT);           /* same OAuth identity */
    u2.oauth_id = NULL;
    u2.oauth_provider = NULL;
    CHECK_INT(store_user_create(st, &u2, &id2), STORE_OK);                 /* NULL identities don't collide */
    CHECK(id2 != id);

    int64_t got = 0;
    CHECK_INT(store_user_by_oauth(st, "google", oid, &got), STORE_OK);
    CHECK_INT(got, id);
    CHECK_INT(store_user_by_oauth(st, "github", oid, &got), STORE_NOT_FOUND);
    CHECK_INT(store_user_by_oauth(st, NULL, oid, &got), STORE_NOT_FOUND);

    char *hash = (char *)"sentinel";
    bool active = false;
    CHECK_INT(store_user_auth_by_email(st, email, &got, &hash, &active), STORE_OK);
    CHECK_INT(got, id);
    CHECK(hash == NULL);                   /* OAuth-only account */
    CHECK(active);
    CHECK_INT(store_user_auth_by_email(st, "nobody-at-all@example.com", &got, &hash, &active), STORE_NOT_FOUND);
    CHECK(hash == NULL);
    /* hostile e-mail text is just data */
    CHECK_INT(store_user_auth_by_email(st, "' OR 1=1 --", &got, &hash, &active), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_session_principal_and_revoke)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "carol"), other = fixture_user(st, "dave");
    REQUIRE(uid && other);
    char h[80];
    fixture_email(h, sizeof h, "rt");
    int64_t sid = 0;
    REQUIRE(store_session_create(st, uid, h, time_now_us() + 60000000, &sid) == STORE_OK);
    bool admin = true;
    char *email = NULL;
    CHECK_INT(store_user_principal(st, uid, sid, &admin, &email), STORE_OK);
    CHECK(!admin);
    CHECK(email && !strncmp(email, "carol-", 6));
    free(email);
    CHECK_INT(store_user_principal(st, other, sid, &admin, &email), STORE_NOT_FOUND);  /* wrong user */
    CHECK(email == NULL);
    CHECK_INT(store_session_revoke(st, other, sid), STORE_NOT_FOUND);                 /* not theirs */
    CHECK_INT(store_session_revoke(st, uid, sid), STORE_OK);
    CHECK_INT(store_session_revoke(st, uid, sid), STORE_OK);                          /* idempotent */
    CHECK_INT(store_user_principal(st, uid, sid, &admin, &email), STORE_NOT_FOUND);
    /* the token of a revoked session no longer rotates */
    int64_t u2, s2;
    CHECK_INT(store_session_rotate(st, h, "new-after-revoke", time_now_us() + 60000000, &u2, &s2), STORE_NOT_FOUND);
    /* duplicate refresh hash on a new session is a conflict */
    CHECK_INT(store_session_create(st, uid, h, time_now_us() + 60000000, &sid), STORE_CONFLICT);
    /* expired sessions are not principals */
    fixture_email(h, sizeof h, "rt-exp");
    REQUIRE(store_session_create(st, uid, h, time_now_us() - 1, &sid) == STORE_OK);
    CHECK_INT(store_user_principal(st, uid, sid, &admin, &email), STORE_NOT_FOUND);
    CHECK_INT(store_session_rotate(st, h, "new-after-expiry-x", time_now_us() + 60000000, &u2, &s2), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_session_rotation_and_reuse_detection)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "erin");
    REQUIRE(uid);
    char h0[80], h1[80], h2[80];
    fixture_email(h0, sizeof h0, "h0");
    fixture_email(h1, sizeof h1, "h1");
    fixture_email(h2, sizeof h2, "h2");
    int64_t sid = 0, u = 0, s = 0;
    REQUIRE(store_session_create(st, uid, h0, time_now_us() + 60000000, &sid) == STORE_OK);
    CHECK_INT(store_session_rotate(st, h0, h1, time_now_us() + 120000000, &u, &s), STORE_OK);
    CHECK_INT(u, uid);
    CHECK_INT(s, sid);
    CHECK_INT(store_session_rotate(st, h1, h2, time_now_us() + 120000000, &u, &s), STORE_OK);
    bool admin;
    CHECK_INT(store_user_principal(st, uid, sid, &admin, NULL), STORE_OK);
    /* replaying an old token: reuse, the whole session is revoked ... */
    CHECK_INT(store_session_rotate(st, h0, "attacker-next", time_now_us() + 60000000, &u, &s), STORE_CONFLICT);
    CHECK_INT(store_user_principal(st, uid, sid, &admin, NULL), STORE_NOT_FOUND);
    /* ... so even the newest legitimate token is dead */
    CHECK_INT(store_session_rotate(st, h2, "legit-next", time_now_us() + 60000000, &u, &s), STORE_NOT_FOUND);
    CHECK_INT(store_session_rotate(st, "never-issued", "x", time_now_us() + 60000000, &u, &s), STORE_NOT_FOUND);
    CHECK_INT(store_session_rotate(st, NULL, "x", 0, &u, &s), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_user_delete_cascades)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "frank");
    REQUIRE(uid);
    char h[80];
    fixture_email(h, sizeof h, "hc");
    int64_t sid, mid, fid;
    REQUIRE(store_session_create(st, uid, h, time_now_us() + 60000000, &sid) == STORE_OK);
    json_t *conv = NULL;
    REQUIRE(store_conversation_create(st, uid, "t", "m", &conv) == STORE_OK);
    int64_t cid = json_integer_value(json_object_get(conv, "id"));
    json_decref(conv);
    store_new_message_t m = {.role = "user", .content = "hi", .prompt_tokens = -1, .completion_tokens = -1};
    REQUIRE(store_message_add(st, cid, &m, &mid) == STORE_OK);
    REQUIRE(store_feedback_add(st, uid, mid, "positive", NULL, &fid) == STORE_OK);
    db_value_t p[] = {db_int(uid)};
    REQUIRE(db_pool_exec(store_pool(st), "DELETE FROM users WHERE id = $1", p, 1, NULL) == DB_OK);
    int64_t n = -1;
    db_value_t q[] = {db_int(sid)};
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM refresh_tokens WHERE session_id = $1", q, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    db_value_t c[] = {db_int(cid)};
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM messages WHERE conversation_id = $1", c, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    db_value_t f[] = {db_int(fid)};
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM feedback WHERE id = $1", f, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    store_close(st);
}

typedef struct { store_t *st; const char *old_hash; char new_hash[80]; int rc; } rotate_arg_t;

static void *rotate_thread(void *p)
{
    rotate_arg_t *a = p;
    int64_t u, s;
    a->rc = store_session_rotate(a->st, a->old_hash, a->new_hash, time_now_us() + 60000000, &u, &s);
    return NULL;
}

TEST(store_session_concurrent_rotation_one_winner)
{
    /* Tabs (or a thief and the owner) refresh with the same token at the same moment: exactly
     * one rotation succeeds, and the losers are treated as reuse. */
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "racer");
    REQUIRE(uid);
    char h0[80];
    fixture_email(h0, sizeof h0, "race");
    int64_t sid;
    REQUIRE(store_session_create(st, uid, h0, time_now_us() + 60000000, &sid) == STORE_OK);
    enum { NT = 4 };
    pthread_t th[NT];
    rotate_arg_t args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (rotate_arg_t){.st = st, .old_hash = h0};
        fixture_email(args[i].new_hash, sizeof args[i].new_hash, "next");
        pthread_create(&th[i], NULL, rotate_thread, &args[i]);
    }
    for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
    /* losers: the first sees reuse (CONFLICT) and revokes; later ones may find the session
     * already revoked (NOT_FOUND) */
    int ok = 0, conflict = 0, gone = 0;
    for (int i = 0; i < NT; i++) {
        if (args[i].rc == STORE_OK) ok++;
        else if (args[i].rc == STORE_CONFLICT) conflict++;
        else if (args[i].rc == STORE_NOT_FOUND) gone++;
    }
    CHECK_INT(ok, 1);
    CHECK(conflict >= 1);
    CHECK_INT(ok + conflict + gone, NT);
    bool admin;
    CHECK_INT(store_user_principal(st, uid, sid, &admin, NULL), STORE_NOT_FOUND);   /* revoked */
    store_close(st);
}

TEST(store_user_inactive_is_not_a_principal)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    char email[128];
    fixture_email(email, sizeof email, "gone");
    store_new_user_t u = {.email = email, .password_hash = "$argon2id$h"};
    int64_t uid = 0, sid = 0;
    REQUIRE(store_user_create(st, &u, &uid) == STORE_OK);
    REQUIRE(store_session_create(st, uid, email, time_now_us() + 60000000, &sid) == STORE_OK);
    bool admin;
    CHECK_INT(store_user_principal(st, uid, sid, &admin, NULL), STORE_OK);
    db_value_t p[] = {db_int(uid)};
    REQUIRE(db_pool_exec(store_pool(st), "UPDATE users SET is_active = 0 WHERE id = $1", p, 1, NULL) == DB_OK);
    CHECK_INT(store_user_principal(st, uid, sid, &admin, NULL), STORE_NOT_FOUND);
    bool active = true;
    char *hash = NULL;
    int64_t got = 0;
    CHECK_INT(store_user_auth_by_email(st, email, &got, &hash, &active), STORE_OK);
    CHECK(!active);
    CHECK_STR(hash, "$argon2id$h");
    free(hash);
    store_close(st);
}
