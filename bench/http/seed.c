/* seed.c — fills a store with the benchmark data set through store.h (the same code paths
 * the API uses): U users x C conversations x M messages. One argon2 hash is reused for all
 * users (hashing is not what this benchmark measures).
 * usage: seed DATA_DIR USERS CONVS MSGS [DATABASE_URL] */
#include "auth/password.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: seed DATA_DIR USERS CONVS MSGS [DATABASE_URL]\n"); return 2; }
    int users = atoi(argv[2]), convs = atoi(argv[3]), msgs = atoi(argv[4]);
    char err[512];
    store_t *st = store_open(argc > 5 ? argv[5] : NULL, argv[1], 2, err, sizeof err);
    if (!st || store_migrate(st, err, sizeof err) < 0) { fprintf(stderr, "seed: %s\n", err); return 1; }
    char *hash = password_hash("bench password 123");
    for (int u = 0; u < users; u++) {
        char email[64];
        snprintf(email, sizeof email, "bench%d@example.com", u);
        store_new_user_t nu = {.email = email, .password_hash = hash, .full_name = "Bench Rider"};
        int64_t uid;
        if (store_user_create(st, &nu, &uid) != STORE_OK) { fprintf(stderr, "seed: user %d failed\n", u); return 1; }
        for (int c = 0; c < convs; c++) {
            json_t *conv = NULL;
            if (store_conversation_create(st, uid, "Roping practice notes", "gpt-4o-mini", &conv) != STORE_OK) return 1;
            int64_t cid = json_integer_value(json_object_get(conv, "id"));
            json_decref(conv);
            for (int m = 0; m < msgs; m++) {
                store_new_message_t nm = {m % 2 ? "assistant" : "user",
                    m % 2 ? "Keep your swing flat, rotate from the shoulder and deliver the loop to the heels."
                          : "How do I time my heel loop on a steer that hops?",
                    "gpt-4o-mini", 12, 40};
                int64_t mid;
                if (store_message_add(st, cid, &nm, &mid) != STORE_OK) return 1;
            }
        }
        if ((u + 1) % 100 == 0) fprintf(stderr, "\rseed: %d/%d users", u + 1, users);
    }
    fprintf(stderr, "\n");
    free(hash);
    store_close(st);
    return 0;
}
