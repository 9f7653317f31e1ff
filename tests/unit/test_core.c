/* Tests for src/core: buffers, strings/UTF-8, crypto encodings, time. */
#include "test.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/str.h"
#include "core/timeutil.h"
#include <stdlib.h>

TEST(core_buf_grows_and_terminates)
{
    buf_t b = {0};
    for (int i = 0; i < 1000; i++) buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(b.data[b.len] == 0);
    CHECK(!strncmp(b.data, "0,1,2,", 6));
    buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.data, "");
    buf_free(&b);
}

TEST(core_str_to_i64_is_strict)
{
    int64_t v;
    CHECK(str_to_i64("42", &v) && v == 42);
    CHECK(str_to_i64("-7", &v) && v == -7);
    CHECK(!str_to_i64("", &v));
    CHECK(!str_to_i64("-", &v));
    CHECK(!str_to_i64("12a", &v));
    CHECK(!str_to_i64(" 12", &v));
    CHECK(!str_to_i64("1e3", &v));
    CHECK(!str_to_i64("99999999999999999999", &v));
    CHECK(str_to_i64("9223372036854775807", &v) && v == INT64_MAX);
}

TEST(core_str_to_bool_fastapi_words)
{
    bool b;
    CHECK(str_to_bool("TRUE", &b) && b);
    CHECK(str_to_bool("off", &b) && !b);
    CHECK(str_to_bool("1", &b) && b);
    CHECK(!str_to_bool("maybe", &b));
}

TEST(core_utf8_validation)
{
    CHECK(utf8_valid("plain", 5));
    CHECK(utf8_valid("caf\xc3\xa9 \xf0\x9f\xa4\xa0", 10));
    CHECK(!utf8_valid("\xc3", 1));               /* truncated */
    CHECK(!utf8_valid("\xc0\xaf", 2));           /* overlong */
    CHECK(!utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
    CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));   /* > U+10FFFF */
    CHECK(!utf8_valid("\xff", 1));
}

TEST(core_utf8_slicing_never_splits)
{
    const char *s = "h\xc3\xa9llo \xf0\x9f\xa4\xa0!";   /* hello with é, then 🤠 */
    size_t n = strlen(s);
    CHECK_INT(utf8_len(s, n), 8);
    CHECK_INT(utf8_prefix_bytes(s, n, 2), 3);
    CHECK_INT(utf8_prefix_bytes(s, n, 100), n);
    CHECK_INT(utf8_boundary(s, 2), 1);          /* inside é */
    CHECK_INT(utf8_boundary(s, 3), 3);
    CHECK_INT(utf8_boundary(s, 9), 7);          /* inside the 4-byte emoji */
    CHECK_INT(utf8_boundary(s, 11), 11);
}

TEST(core_sha256_and_hmac_known_vectors)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    uint8_t mac[32];
    /* RFC 4231 test case 2 */
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hex_encode(mac, 32, hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(core_base64url_round_trip_and_rejects_junk)
{
    for (size_t len = 0; len < 40; len++) {
        uint8_t in[40], *out;
        size_t out_len = 999;
        for (size_t i = 0; i < len; i++) in[i] = (uint8_t)(i * 37 + 11);
        char *enc = base64url_encode(in, len);
        out = base64url_decode(enc, strlen(enc), &out_len);
        REQUIRE(out);
        CHECK_INT(out_len, len);
        CHECK(!memcmp(in, out, len));
        free(enc);
        free(out);
    }
    size_t n;
    CHECK(base64url_decode("ab$d", 4, &n) == NULL);
    CHECK(base64url_decode("a", 1, &n) == NULL);
    char *e = base64url_encode("\xfb\xff", 2);
    CHECK_STR(e, "-_8");
    free(e);
}

TEST(core_hex_decode_rejects_bad_input)
{
    uint8_t out[4];
    CHECK_INT(hex_decode("00ff", 4, out, 4), 2);
    CHECK(out[1] == 0xff);
    CHECK_INT(hex_decode("0g", 2, out, 4), -1);
    CHECK_INT(hex_decode("abc", 3, out, 4), -1);
    CHECK_INT(hex_decode("0011223344", 10, out, 4), -1);
}

TEST(core_time_iso8601)
{
    char s[TIME_ISO_LEN];
    CHECK_STR(time_iso8601(0, s, sizeof s), "1970-01-01T00:00:00.000000Z");
    CHECK_STR(time_iso8601(1795560720123456LL, s, sizeof s), "2026-11-24T22:52:00.123456Z");
    CHECK(time_now_us() > 1700000000000000LL);
}

TEST(core_str_list_contains)
{
    CHECK(str_list_contains("a.example, https://B.example ,c", "https://b.example", true));
    CHECK(!str_list_contains("a.example, https://B.example ,c", "https://b.example", false));
    CHECK(str_list_contains("gpt-4o-mini,gpt-4o", "gpt-4o", false));
    CHECK(!str_list_contains("gpt-4o-mini,gpt-4o", "gpt-4", false));
    CHECK(!str_list_contains("gpt-4o-mini,gpt-4o", "gpt-4o-mini,gpt-4o", false));
    CHECK(!str_list_contains(",, ,", "", false));
    CHECK(!str_list_contains(NULL, "x", false));
}
