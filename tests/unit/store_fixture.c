/* store_fixture.c — see store_fixture.h. */
#include "store_fixture.h"
#include "test.h"
#include "core/crypto.h"
#include <stdio.h>
#include <stdlib.h>

store_t *fixture_store_open(void)
{
    char err[512];
    const char *url = getenv("TEST_DATABASE_URL");
    char *dir = NULL;
    store_t *st;
    if (url && *url) {
        st = store_open(url, NULL, 4, err, sizeof err);
    } else {
        dir = test_tmpdir();
        st = store_open(NULL, dir, 4, err, sizeof err);
    }
    free(dir);
    if (!st) {
        printf("    store_open: %s\n", err);
        return NULL;
    }
    if (store_migrate(st, err, sizeof err) < 1) {
        printf("    store_migrate: %s\n", err);
        store_close(st);
        return NULL;
    }
    return st;
}

void fixture_email(char *out, size_t cap, const char *prefix)
{
    uint8_t r[8];
    char hex[17];
    random_bytes(r, sizeof r);
    hex_encode(r, sizeof r, hex);
    snprintf(out, cap, "%s-%s@example.com", prefix, hex);
}

int64_t fixture_user(store_t *st, const char *prefix)
{
    char email[128];
    fixture_email(email, sizeof email, prefix);
    store_new_user_t u = {.email = email, .password_hash = "$argon2id$x", .full_name = prefix};
    int64_t id = 0;
    if (store_user_create(st, &u, &id) != STORE_OK) return 0;
    return id;
}
