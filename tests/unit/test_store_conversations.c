/* Tests for store conversations, messages and feedback: owner scoping, list order and
 * paging, archived filter, message order and count, cascades, search with LIKE
 * metacharacters/quotes/unicode, anonymous conversations, and concurrent writers. */
#include "test.h"
#include "store_fixture.h"
#include "store/internal.h"
#include "core/timeutil.h"
#include <pthread.h>
#include <stdlib.h>

static int64_t conv_new(store_t *st, int64_t uid, const char *title)
{
    json_t *c = NULL;
    if (store_conversation_create(st, uid, title, "gpt-4o-mini", &c) != STORE_OK) return 0;
    int64_t id = json_integer_value(json_object_get(c, "id"));
    json_decref(c);
    return id;
}

static int64_t msg_new(store_t *st, int64_t cid, const char *role, const char *content)
{
    store_new_message_t m = {.role = role, .content = content, .model = "gpt-4o-mini",
                             .prompt_tokens = 3, .completion_tokens = -1};
    int64_t id = 0;
    return store_message_add(st, cid, &m, &id) == STORE_OK ? id : 0;
}

TEST(store_conversation_create_get_messages)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "conv");
    REQUIRE(uid);
    json_t *c = NULL;
    REQUIRE(store_conversation_create(st, uid, NULL, "m1", &c) == STORE_OK);
    CHECK_STR(json_string_value(json_object_get(c, "title")), "New Chat");
    CHECK_STR(json_string_value(json_object_get(c, "model")), "m1");
    CHECK(json_is_string(json_object_get(c, "created_at")));
    CHECK_INT(json_object_size(c), 4);
    int64_t cid = json_integer_value(json_object_get(c, "id"));
    json_decref(c);
    int64_t m1 = msg_new(st, cid, "user", "first"), m2 = msg_new(st, cid, "assistant", "second"),
            m3 = msg_new(st, cid, "user", "third");
    REQUIRE(m1 && m2 && m3);
    REQUIRE(store_conversation_get(st, uid, cid, true, &c) == STORE_OK);
    json_t *msgs = json_object_get(c, "messages");
    CHECK_INT(json_array_size(msgs), 3);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(msgs, 0), "id")), m1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "second");
    CHECK_STR(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "assistant");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(msgs, 2), "id")), m3);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(msgs, 0), "prompt_tokens")), 3);
    CHECK(json_is_null(json_object_get(json_array_get(msgs, 0), "completion_tokens")));
    CHECK(json_is_false(json_object_get(c, "is_archived")));
    CHECK_INT(json_integer_value(json_object_get(c, "message_count")), 3);
    json_decref(c);
    REQUIRE(store_conversation_get(st, uid, cid, false, &c) == STORE_OK);
    CHECK(json_object_get(c, "messages") == NULL);
    json_decref(c);
    /* messages to a missing conversation are refused and count nothing */
    store_new_message_t m = {.role = "user", .content = "x", .prompt_tokens = -1, .completion_tokens = -1};
    int64_t mid;
    CHECK_INT(store_message_add(st, INT64_MAX, &m, &mid), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_conversation_owner_scoping)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t a = fixture_user(st, "owner"), b = fixture_user(st, "intruder");
    REQUIRE(a && b);
    int64_t cid = conv_new(st, a, "private rodeo plans");
    int64_t mid = msg_new(st, cid, "user", "secret barrel pattern");
    REQUIRE(cid && mid);
    json_t *o = NULL;
    CHECK_INT(store_conversation_get(st, b, cid, true, &o), STORE_NOT_FOUND);
    CHECK(o == NULL);
    CHECK_INT(store_conversation_get(st, 0, cid, true, &o), STORE_NOT_FOUND);          /* anonymous */
    CHECK_INT(store_conversation_update(st, b, cid, "pwned", 1), STORE_NOT_FOUND);
    CHECK_INT(store_conversation_delete(st, b, cid), STORE_NOT_FOUND);
    CHECK_INT(store_conversation_delete(st, 0, cid), STORE_NOT_FOUND);
    int64_t fid;
    CHECK_INT(store_feedback_add(st, b, mid, "negative", "x", &fid), STORE_NOT_FOUND);
    CHECK_INT(store_feedback_add(st, 0, mid, "negative", "x", &fid), STORE_NOT_FOUND);
    REQUIRE(store_conversation_search(st, b, "secret", 20, &o) == STORE_OK);
    CHECK_INT(json_array_size(o), 0);
    json_decref(o);
    REQUIRE(store_conversation_list(st, b, -1, 50, 0, &o) == STORE_OK);
    CHECK_INT(json_array_size(o), 0);
    json_decref(o);
    /* the owner still sees it unchanged */
    REQUIRE(store_conversation_get(st, a, cid, false, &o) == STORE_OK);
    CHECK_STR(json_string_value(json_object_get(o, "title")), "private rodeo plans");
    json_decref(o);
    CHECK_INT(store_feedback_add(st, a, mid, "positive", "great", &fid), STORE_OK);
    CHECK(fid > 0);
    CHECK_INT(store_feedback_add(st, a, INT64_MAX, "positive", NULL, &fid), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_conversation_anonymous)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "named");
    REQUIRE(uid);
    int64_t cid = conv_new(st, 0, "anon chat");
    REQUIRE(cid);
    int64_t mid = msg_new(st, cid, "user", "hello");
    json_t *o = NULL;
    CHECK_INT(store_conversation_get(st, 0, cid, true, &o), STORE_OK);
    json_decref(o);
    CHECK_INT(store_conversation_get(st, uid, cid, true, &o), STORE_NOT_FOUND);   /* not the user's */
    int64_t fid;
    CHECK_INT(store_feedback_add(st, 0, mid, "positive", NULL, &fid), STORE_OK);
    CHECK_INT(store_feedback_add(st, uid, mid, "positive", NULL, &fid), STORE_NOT_FOUND);
    CHECK_INT(store_conversation_update(st, 0, cid, "renamed", -1), STORE_OK);
    CHECK_INT(store_conversation_delete(st, 0, cid), STORE_OK);
    CHECK_INT(store_conversation_get(st, 0, cid, true, &o), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_conversation_list_order_paging_archive)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "lister");
    REQUIRE(uid);
    int64_t ids[7];
    for (int i = 0; i < 7; i++) {
        char t[16];
        snprintf(t, sizeof t, "c%d", i);
        ids[i] = conv_new(st, uid, t);
        REQUIRE(ids[i]);
    }
    /* a message bumps c2 to the top; archiving c5 hides it from the active list */
    REQUIRE(msg_new(st, ids[2], "user", "bump"));
    CHECK_INT(store_conversation_update(st, uid, ids[5], NULL, 1), STORE_OK);
    json_t *l = NULL;
    REQUIRE(store_conversation_list(st, uid, 0, 50, 0, &l) == STORE_OK);
    CHECK_INT(json_array_size(l), 6);
    /* update also bumped updated_at of c5 before archiving, but c5 is filtered out here */
    int64_t want[] = {ids[2], ids[6], ids[4], ids[3], ids[1], ids[0]};
    for (size_t i = 0; i < 6 && i < json_array_size(l); i++)
        CHECK_INT(json_integer_value(json_object_get(json_array_get(l, i), "id")), want[i]);
    json_t *first = json_array_get(l, 0);
    CHECK_INT(json_integer_value(json_object_get(first, "message_count")), 1);
    CHECK(json_is_false(json_object_get(first, "is_archived")));
    CHECK(json_is_string(json_object_get(first, "updated_at")));
    CHECK_STR(json_string_value(json_object_get(first, "model")), "gpt-4o-mini");
    json_decref(l);
    REQUIRE(store_conversation_list(st, uid, 0, 2, 2, &l) == STORE_OK);     /* page 2 of size 2 */
    CHECK_INT(json_array_size(l), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 0), "id")), ids[4]);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 1), "id")), ids[3]);
    json_decref(l);
    REQUIRE(store_conversation_list(st, uid, 0, 10, 100, &l) == STORE_OK);  /* past the end */
    CHECK_INT(json_array_size(l), 0);
    json_decref(l);
    REQUIRE(store_conversation_list(st, uid, 1, 10, 0, &l) == STORE_OK);
    CHECK_INT(json_array_size(l), 1);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 0), "id")), ids[5]);
    CHECK(json_is_true(json_object_get(json_array_get(l, 0), "is_archived")));
    json_decref(l);
    REQUIRE(store_conversation_list(st, uid, -1, 10, 0, &l) == STORE_OK);
    CHECK_INT(json_array_size(l), 7);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 0), "id")), ids[5]);
    json_decref(l);
    REQUIRE(store_conversation_list(st, uid, 0, 0, 0, &l) == STORE_OK);
    CHECK_INT(json_array_size(l), 0);
    json_decref(l);
    store_close(st);
}

TEST(store_conversation_delete_cascades_and_counts)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "deleter");
    REQUIRE(uid);
    int64_t cid = conv_new(st, uid, "doomed");
    int64_t m1 = msg_new(st, cid, "user", "a");
    REQUIRE(cid && m1 && msg_new(st, cid, "assistant", "b"));
    int64_t fid;
    REQUIRE(store_feedback_add(st, uid, m1, "negative", "meh", &fid) == STORE_OK);
    CHECK_INT(store_conversation_delete(st, uid, cid), STORE_OK);
    CHECK_INT(store_conversation_delete(st, uid, cid), STORE_NOT_FOUND);
    int64_t n = -1;
    db_value_t c[] = {db_int(cid)};
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM messages WHERE conversation_id = $1", c, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    db_value_t f[] = {db_int(fid)};
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM feedback WHERE id = $1", f, 1, &n), DB_OK);
    CHECK_INT(n, 0);
    CHECK_INT(store_conversation_update(st, uid, cid, "x", -1), STORE_NOT_FOUND);
    store_close(st);
}

TEST(store_conversation_search_hostile_text)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    int64_t uid = fixture_user(st, "searcher");
    REQUIRE(uid);
    int64_t pct = conv_new(st, uid, "Saddle 100% leather");
    int64_t und = conv_new(st, uid, "snake_case rope");
    int64_t quo = conv_new(st, uid, "O'Brien's \"roping\" tips");
    int64_t uni = conv_new(st, uid, "Caf\xc3\xa9 rodeo \xf0\x9f\xa4\xa0");
    int64_t body = conv_new(st, uid, "plain title");
    int64_t bs = conv_new(st, uid, "back\\slash");
    REQUIRE(pct && und && quo && uni && body && bs);
    REQUIRE(msg_new(st, body, "user", "What about BARREL racing?"));
    REQUIRE(msg_new(st, body, "assistant", "Barrel racing is timed."));   /* two hits, one row */
    struct { const char *q; int64_t want[4]; } cases[] = {
        {"100%", {pct}},
        {"%", {pct}},                       /* literal percent, not a wildcard */
        {"_", {und}},                       /* literal underscore */
        {"e_c", {und}},
        {"'", {quo}},
        {"\"roping\"", {quo}},
        {"o'brien", {quo}},                 /* case-insensitive */
        {"caf\xc3\xa9", {uni}},
        {"\xf0\x9f\xa4\xa0", {uni}},
        {"barrel", {body}},                 /* message content, case-insensitive, no duplicates */
        {"\\", {bs}},
        {"'; DROP TABLE conversations; --", {0}},
        {"no such text anywhere", {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *l = NULL;
        REQUIRE(store_conversation_search(st, uid, cases[i].q, 20, &l) == STORE_OK);
        size_t nwant = 0;
        while (nwant < 4 && cases[i].want[nwant]) nwant++;
        if (json_array_size(l) != nwant) printf("    query [%s]\n", cases[i].q);
        CHECK_INT(json_array_size(l), nwant);
        for (size_t k = 0; k < nwant && k < json_array_size(l); k++)
            CHECK_INT(json_integer_value(json_object_get(json_array_get(l, k), "id")), cases[i].want[k]);
        if (json_array_size(l)) CHECK_INT(json_object_size(json_array_get(l, 0)), 4);
        json_decref(l);
    }
    /* an empty needle matches everything, newest first, limited */
    json_t *l = NULL;
    REQUIRE(store_conversation_search(st, uid, "", 3, &l) == STORE_OK);
    CHECK_INT(json_array_size(l), 3);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l, 0), "id")), body);
    json_decref(l);
    int64_t n = 0;
    CHECK_INT(db_pool_query_int64(store_pool(st), "SELECT count(*) FROM conversations", NULL, 0, &n), DB_OK);
    CHECK(n >= 6);
    store_close(st);
}

typedef struct {
    store_t *st;
    int64_t  uid;
    int      failures;
} writer_arg_t;

static void *writer(void *p)
{
    writer_arg_t *a = p;
    for (int i = 0; i < 25; i++) {
        int64_t cid = conv_new(a->st, a->uid, "concurrent");
        if (!cid) { a->failures++; continue; }
        for (int k = 0; k < 4; k++)
            if (!msg_new(a->st, cid, "user", "parallel message")) a->failures++;
        if (store_conversation_update(a->st, a->uid, cid, "renamed", -1) != STORE_OK) a->failures++;
    }
    return NULL;
}

TEST(store_conversation_concurrent_writers)
{
    store_t *st = fixture_store_open();
    REQUIRE(st);
    enum { NT = 6 };
    pthread_t th[NT];
    writer_arg_t args[NT];
    for (int t = 0; t < NT; t++) {
        args[t] = (writer_arg_t){st, fixture_user(st, "writer"), 0};
        REQUIRE(args[t].uid);
    }
    for (int t = 0; t < NT; t++) pthread_create(&th[t], NULL, writer, &args[t]);
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < NT; t++) {
        CHECK_INT(args[t].failures, 0);
        json_t *l = NULL;
        REQUIRE(store_conversation_list(st, args[t].uid, 0, 100, 0, &l) == STORE_OK);
        CHECK_INT(json_array_size(l), 25);
        size_t i;
        json_t *v;
        json_array_foreach(l, i, v) CHECK_INT(json_integer_value(json_object_get(v, "message_count")), 4);
        json_decref(l);
    }
    store_close(st);
}
