/* feedback.c — ratings on messages. The ownership check is the INSERT itself: the row is
 * selected through the message's conversation and its owner, so a message the user does not
 * own inserts nothing and reads as STORE_NOT_FOUND. */
#include "store/internal.h"
#include "core/timeutil.h"

#define FEEDBACK_SQL(owner)                                                                   \
    "INSERT INTO feedback (message_id, user_id, rating, comment, created_at)"                \
    " SELECT m.id, c.user_id, $3, $4, $5 FROM messages m"                                   \
    " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $2 AND c." owner        \
    " RETURNING id"

int store_feedback_add(store_t *st, int64_t user_id, int64_t message_id, const char *rating,
                       const char *comment, int64_t *id_out)
{
    if (!rating) return STORE_ERROR;
    db_value_t p[] = {db_int(user_id), db_int(message_id), db_text(rating), db_text(comment),
                      db_int(time_now_us())};
    int64_t id = 0;
    int rc = db_pool_query_int64(st->pool,
        user_id ? FEEDBACK_SQL("user_id = $1") : FEEDBACK_SQL("user_id IS NULL AND $1 = 0"),
        p, 5, &id);
    if (rc == DB_OK && id_out) *id_out = id;
    return rc;
}
