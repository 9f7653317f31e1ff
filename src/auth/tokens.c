/* tokens.c — access/refresh token issuance and verification. */
#include "auth/tokens.h"
#include "auth/jwt.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/str.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t *key;      /* written once at start-up, read-only afterwards */
static size_t key_len;

/* Reads or creates <data_dir>/jwt_secret. */
static int load_or_create_secret(const char *data_dir, char *err, size_t errlen)
{
    buf_t path = {0};
    buf_printf(&path, "%s/jwt_secret", data_dir);
    FILE *f = fopen(path.data, "rb");
    if (f) {
        char line[256];
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = 0;
        char *s = str_trim(line);
        if (strlen(s) >= 32) {
            key = (uint8_t *)xstrdup(s);
            key_len = strlen(s);
            buf_free(&path);
            return 0;
        }
    }
    char *secret = random_token(48);
    int fd = secret ? open(path.data, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    if (fd < 0 || write(fd, secret, strlen(secret)) != (ssize_t)strlen(secret) || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path.data, strerror(errno));
        if (fd >= 0) close(fd);
        free(secret);
        buf_free(&path);
        return -1;
    }
    close(fd);
    log_info("generated a JWT signing secret in %s (set JWT_SECRET in production)", path.data);
    key = (uint8_t *)secret;
    key_len = strlen(secret);
    buf_free(&path);
    return 0;
}

int tokens_init(const char *secret, const char *data_dir, bool production, char *err, size_t errlen)
{
    tokens_shutdown();
    if (secret && *secret) {
        if (production && strlen(secret) < 32) {
            snprintf(err, errlen, "JWT_SECRET must be at least 32 characters in production");
            return -1;
        }
        key = (uint8_t *)xstrdup(secret);
        key_len = strlen(secret);
        return 0;
    }
    if (production) {
        snprintf(err, errlen, "JWT_SECRET is required when RODEO_ENV=production");
        return -1;
    }
    return load_or_create_secret(data_dir, err, errlen);
}

void tokens_shutdown(void)
{
    free(key);
    key = NULL;
    key_len = 0;
}

char *tokens_access_issue(int64_t user_id, int64_t session_id, const char *email, int64_t now_s,
                          int ttl_s)
{
    char sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)user_id);
    json_t *c = json_pack("{s:s, s:I, s:s, s:I, s:I, s:s}", "sub", sub, "sid", (json_int_t)session_id,
                          "email", email ? email : "", "iat", (json_int_t)now_s,
                          "exp", (json_int_t)(now_s + ttl_s), "typ", "access");
    char *t = jwt_sign_hs256(c, key, key_len);
    json_decref(c);
    return t;
}

int tokens_access_verify(const char *token, int64_t now_s, int64_t *user_id, int64_t *session_id)
{
    json_t *c = NULL;
    if (!key || jwt_verify_hs256(token, key, key_len, now_s, &c) != JWT_OK) return -1;
    const char *typ = json_string_value(json_object_get(c, "typ"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    json_t *sid = json_object_get(c, "sid");
    int64_t uid;
    int rc = -1;
    if (typ && !strcmp(typ, "access") && sub && str_to_i64(sub, &uid) && uid > 0 &&
        json_is_integer(sid) && json_integer_value(sid) > 0) {
        *user_id = uid;
        *session_id = json_integer_value(sid);
        rc = 0;
    }
    json_decref(c);
    return rc;
}

void tokens_refresh_hash(const char *token, char hash_hex[TOKEN_HASH_HEX])
{
    sha256_hex(token, strlen(token), hash_hex);
}

char *tokens_refresh_new(char hash_hex[TOKEN_HASH_HEX])
{
    char *t = random_token(32);
    if (t) tokens_refresh_hash(t, hash_hex);
    return t;
}
