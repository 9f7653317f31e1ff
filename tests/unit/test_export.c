/* test_export.c — text export byte-exact; PDF export parsed back with pdftotext/pdfinfo
 * (poppler-utils) and compared: UTF-8 text, wrapping, page breaks, a 500-message chat. */
#include "test.h"
#include "export/export.h"
#include "core/buf.h"
#include <stdlib.h>

static json_t *conv_fixture(int nmsg)
{
    json_t *msgs = json_array();
    for (int i = 0; i < nmsg; i++) {
        char ts[40], content[200];
        snprintf(ts, sizeof ts, "2026-11-24T%02d:%02d:%02d.000001Z", 10 + (i / 3600) % 10, (i / 60) % 60, i % 60);
        snprintf(content, sizeof content, "message number %d about heeling", i);
        json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", i % 2 ? "assistant" : "user",
                                              "content", content, "created_at", ts));
    }
    return json_pack("{s:i, s:s, s:s, s:o}", "id", 42, "title", "Heeling <b>tips</b> & more",
                     "created_at", "2026-11-24T09:08:07.5Z", "messages", msgs);
}

TEST(export_text_format)
{
    json_t *c = conv_fixture(2);
    size_t len;
    char *t = export_text(c, &len);
    buf_t want = {0};
    buf_puts(&want, "RodeoAI: Heeling <b>tips</b> & more\nDate: 2026-11-24 09:08:07\n");
    for (int i = 0; i < 80; i++) buf_putc(&want, '=');
    buf_puts(&want, "\n\n[10:00:00] You:\nmessage number 0 about heeling\n\n"
                    "[10:00:01] RodeoAI:\nmessage number 1 about heeling\n\n");
    CHECK_STR(t, want.data);
    CHECK_INT(len, want.len);
    free(t);
    char fn[64];
    export_filename(c, "txt", fn, sizeof fn);
    CHECK_STR(fn, "rodeoai_chat_42.txt");
    json_decref(c);
    /* Missing/malformed fields degrade, they do not crash. */
    json_t *bad = json_pack("{s:i, s:[{s:i}], s:s}", "id", 1, "messages", "role", 5, "created_at", "yesterday");
    t = export_text(bad, &len);
    CHECK(strstr(t, "Date: N/A") != NULL);
    CHECK(strstr(t, "[--:--:--] RodeoAI:") != NULL);
    free(t);
    json_decref(bad);
    buf_free(&want);
}

/* Writes the PDF, runs a poppler tool on it, returns its stdout (caller frees). */
static char *poppler(const char *tool, const void *pdf, size_t len)
{
    char *dir = test_tmpdir();
    buf_t path = {0}, cmd = {0}, out = {0};
    buf_printf(&path, "%s/x.pdf", dir);
    FILE *f = fopen(path.data, "wb");
    if (!f) return NULL;
    fwrite(pdf, 1, len, f);
    fclose(f);
    buf_printf(&cmd, "%s '%s' %s 2>/dev/null", tool, path.data, strcmp(tool, "pdftotext") ? "" : "-");
    FILE *p = popen(cmd.data, "r");
    char tmp[4096];
    size_t n;
    while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0) buf_append(&out, tmp, n);
    if (p) pclose(p);
    buf_free(&path); buf_free(&cmd); free(dir);
    if (!out.data) buf_puts(&out, "");
    return buf_steal(&out);
}

TEST(export_pdf_round_trip_utf8_and_wrapping)
{
    json_t *c = conv_fixture(0);
    json_t *msgs = json_object_get(c, "messages");
    buf_t longtext = {0};
    for (int i = 0; i < 60; i++) buf_printf(&longtext, "word%d ", i);
    buf_puts(&longtext, "\nSecond paragraph: Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, "
                        "\xe2\x80\x9cquoted\xe2\x80\x9d and a rocket \xf0\x9f\x9a\x80 end.");
    json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "user", "content", longtext.data,
                                          "created_at", "2026-11-24T12:00:00Z"));
    json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "assistant", "content",
                                          "<img src=/etc/passwd> stays text", "created_at", "2026-11-24T12:00:05Z"));
    void *pdf; size_t len; char err[200];
    REQUIRE(export_pdf(c, NULL, NULL, &pdf, &len, err, sizeof err) == 0);
    CHECK(len > 1000 && !memcmp(pdf, "%PDF-", 5));
    char *text = poppler("pdftotext", pdf, len);
    REQUIRE(text);
    CHECK(strstr(text, "RodeoAI: Heeling <b>tips</b> & more") != NULL);
    CHECK(strstr(text, "Created: 2026-11-24 09:08:07") != NULL);
    CHECK(strstr(text, "[12:00:00] You:") != NULL);
    CHECK(strstr(text, "[12:00:05] RodeoAI:") != NULL);
    CHECK(strstr(text, "word0 word1") != NULL && strstr(text, "word59") != NULL);
    CHECK(strstr(text, "Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e") != NULL);
    CHECK(strstr(text, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82") != NULL);
    CHECK(strstr(text, "\xe2\x80\x9cquoted\xe2\x80\x9d") != NULL);
    CHECK(strstr(text, "rocket ? end.") != NULL);     /* undrawable emoji -> '?' */
    CHECK(strstr(text, "<img src=/etc/passwd> stays text") != NULL);
    /* Wrapped: the 60 words do not fit on one line. */
    const char *w0 = strstr(text, "word0 "), *w59 = strstr(text, "word59");
    CHECK(w0 && w59 && memchr(w0, '\n', (size_t)(w59 - w0)) != NULL);
    free(text);
    free(pdf);
    json_decref(c);
    buf_free(&longtext);
    CHECK(export_pdf(c = conv_fixture(1), "/nonexistent.ttf", NULL, &pdf, &len, err, sizeof err) == -1);
    json_decref(c);
}

TEST(export_pdf_500_messages_paginate)
{
    json_t *c = conv_fixture(500);
    void *pdf; size_t len; char err[200];
    REQUIRE(export_pdf(c, NULL, NULL, &pdf, &len, err, sizeof err) == 0);
    char *info = poppler("pdfinfo", pdf, len);
    int pages = 0;
    const char *p = info ? strstr(info, "Pages:") : NULL;
    if (p) pages = atoi(p + 6);
    CHECK(pages >= 20);
    CHECK(info && strstr(info, "612 x 792") != NULL);
    free(info);
    char *text = poppler("pdftotext", pdf, len);
    int found = 0;
    for (int i = 0; i < 500; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "message number %d about", i);
        found += strstr(text, needle) != NULL;
    }
    CHECK_INT(found, 500);
    char last[32];
    snprintf(last, sizeof last, "Page %d", pages);
    CHECK(strstr(text, last) != NULL);
    free(text);
    free(pdf);
    json_decref(c);
}
