/* store_fixture.h — shared set-up for the store tests: a migrated store on
 * TEST_DATABASE_URL (PostgreSQL, shared across tests, so each test makes its own users) or,
 * without it, a fresh SQLite file in a per-test temporary directory. */
#ifndef RODEO_TEST_STORE_FIXTURE_H
#define RODEO_TEST_STORE_FIXTURE_H
#include "store/store.h"
#include <stdint.h>

/* NULL (with the reason printed) when the store cannot be opened or migrated. */
store_t *fixture_store_open(void);
/* Creates a user with a unique e-mail (prefix + random suffix); returns its id or 0. */
int64_t  fixture_user(store_t *st, const char *prefix);
/* Fills out (>= 64 bytes) with a unique lower-case e-mail. */
void     fixture_email(char *out, size_t cap, const char *prefix);
#endif
