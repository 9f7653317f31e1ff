/* password.c — argon2id via libargon2. Parameters: t=2, m=19 MiB, p=1 (OWASP minimum for
 * argon2id), 16-byte salt, 32-byte tag. */
#include "auth/password.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/str.h"
#include <argon2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define T_COST 2
#define M_COST (19 * 1024)
#define PARALLEL 1
#define SALT_LEN 16
#define HASH_LEN 32

static const char *common[] = {
    "password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop", "qwerty123",
    "iloveyou", "11111111", "00000000", "abc12345", "letmein1", "football", "baseball",
    "welcome1", "sunshine", "princess", "passw0rd", "rodeoai1", "cowboy123", "changeme",
};

const char *password_weakness(const char *password, const char *email)
{
    size_t len = strlen(password);
    if (!utf8_valid(password, len)) return "password must be valid UTF-8";
    if (utf8_len(password, len) < PASSWORD_MIN_LEN) return "password must be at least 8 characters";
    if (len > PASSWORD_MAX_LEN) return "password must be at most 256 bytes";
    size_t distinct = 0;
    char seen[256] = {0};
    for (size_t i = 0; i < len; i++)
        if (!seen[(unsigned char)password[i]]++) distinct++;
    if (distinct < 4) return "password is too simple (use at least 4 different characters)";
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (!strcasecmp(password, common[i])) return "password is too common";
    if (email && !strcasecmp(password, email)) return "password must not be the email address";
    return NULL;
}

char *password_hash(const char *password)
{
    uint8_t salt[SALT_LEN];
    if (random_bytes(salt, sizeof salt)) return NULL;
    size_t enc_len = argon2_encodedlen(T_COST, M_COST, PARALLEL, SALT_LEN, HASH_LEN, Argon2_id);
    char *enc = xmalloc(enc_len);
    if (argon2id_hash_encoded(T_COST, M_COST, PARALLEL, password, strlen(password), salt,
                              SALT_LEN, HASH_LEN, enc, enc_len) != ARGON2_OK) {
        free(enc);
        return NULL;
    }
    return enc;
}

bool password_verify(const char *encoded, const char *password)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10)) return false;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy;

static void make_dummy(void)
{
    char *pw = random_token(18);
    dummy = password_hash(pw ? pw : "fallback-dummy-password");
    free(pw);
}

const char *password_dummy_hash(void)
{
    pthread_once(&dummy_once, make_dummy);
    return dummy;
}
