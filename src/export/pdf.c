/* pdf.c — the PDF conversation export over libharu (layout in export.h).
 *
 * libharu reports errors through a callback and keeps going; we record the first error and
 * check it after each phase. Wrapping is done here (word by word, measured with
 * HPDF_Page_TextWidth under the UTF-8 encoder) so multi-byte characters are never split. */
#include "export/export.h"
#include "core/buf.h"
#include "core/str.h"
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_W 612.0f           /* US Letter in points */
#define PAGE_H 792.0f
#define MARGIN 54.0f
#define BODY_SIZE 10.5f
#define HEAD_SIZE 11.0f
#define TITLE_SIZE 22.0f
#define LEADING 1.35f

typedef struct {
    HPDF_Doc  pdf;
    HPDF_Page page;
    HPDF_Font font, bold;
    float     y;
    int       pages;
    unsigned long error;
    char      errmsg[128];
} pdf_ctx_t;

static void on_error(HPDF_STATUS code, HPDF_STATUS detail, void *ud)
{
    pdf_ctx_t *c = ud;
    if (!c->error) {
        c->error = code;
        snprintf(c->errmsg, sizeof c->errmsg, "libharu error 0x%04lX (detail %lu)", (unsigned long)code,
                 (unsigned long)detail);
    }
}

/* Code points DejaVu Sans draws; anything else becomes '?' rather than an empty box. */
static int drawable(uint32_t cp)
{
    return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0x24f) || (cp >= 0x370 && cp <= 0x3ff) ||
           (cp >= 0x400 && cp <= 0x4ff) || (cp >= 0x2000 && cp <= 0x206f && cp != 0x2028 && cp != 0x2029) ||
           (cp >= 0x20a0 && cp <= 0x20bf) || (cp >= 0x2100 && cp <= 0x22ff) || (cp >= 0x2500 && cp <= 0x25ff);
}

/* Copies well-formed UTF-8 keeping newlines, turning tabs into spaces, dropping other
 * control characters and replacing undrawable code points. */
static char *sanitize(const char *s)
{
    buf_t b = {0};
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) { cp = c; n = 1; }
        else if ((c & 0xe0) == 0xc0 && i + 1 < len) { cp = (c & 0x1fu) << 6 | (s[i + 1] & 0x3f); n = 2; }
        else if ((c & 0xf0) == 0xe0 && i + 2 < len) { cp = (c & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3f); n = 3; }
        else if ((c & 0xf8) == 0xf0 && i + 3 < len) { cp = 0x110000; n = 4; }
        else { cp = 0xfffd; n = 1; }
        if (cp == '\n') buf_putc(&b, '\n');
        else if (cp == '\t') buf_puts(&b, "    ");
        else if (cp < 0x20 || cp == 0x7f) { /* dropped */ }
        else if (drawable(cp)) buf_append(&b, s + i, n);
        else buf_putc(&b, '?');
        i += n;
    }
    if (!b.data) buf_puts(&b, "");
    return buf_steal(&b);
}

static void footer(pdf_ctx_t *c)
{
    char num[32];
    snprintf(num, sizeof num, "Page %d", c->pages);
    HPDF_Page_BeginText(c->page);
    HPDF_Page_SetFontAndSize(c->page, c->font, 8);
    HPDF_Page_SetRGBFill(c->page, 0.45f, 0.45f, 0.45f);
    HPDF_Page_TextOut(c->page, PAGE_W - MARGIN - HPDF_Page_TextWidth(c->page, num), MARGIN / 2, num);
    HPDF_Page_EndText(c->page);
}

static void new_page(pdf_ctx_t *c)
{
    c->page = HPDF_AddPage(c->pdf);
    HPDF_Page_SetWidth(c->page, PAGE_W);
    HPDF_Page_SetHeight(c->page, PAGE_H);
    c->pages++;
    c->y = PAGE_H - MARGIN;
    footer(c);
}

/* Draws one line at the cursor, breaking the page first when it does not fit. */
static void draw_line(pdf_ctx_t *c, HPDF_Font f, float size, const char *text, float r, float g, float b)
{
    float lh = size * LEADING;
    if (c->y - lh < MARGIN) new_page(c);
    c->y -= lh;
    HPDF_Page_BeginText(c->page);
    HPDF_Page_SetFontAndSize(c->page, f, size);
    HPDF_Page_SetRGBFill(c->page, r, g, b);
    HPDF_Page_TextOut(c->page, MARGIN, c->y, text);
    HPDF_Page_EndText(c->page);
}

static float width_of(pdf_ctx_t *c, HPDF_Font f, float size, const char *s)
{
    HPDF_Page_SetFontAndSize(c->page, f, size);
    return HPDF_Page_TextWidth(c->page, s);
}

/* Word-wraps text (already sanitised) to the body width; paragraphs on '\n'. Words wider
 * than a line are cut at code-point boundaries. */
static void draw_wrapped(pdf_ctx_t *c, HPDF_Font f, float size, const char *text, float r, float g, float b)
{
    float maxw = PAGE_W - 2 * MARGIN;
    buf_t line = {0}, trial = {0};
    const char *p = text;
    for (;;) {
        const char *eol = strchr(p, '\n');
        size_t plen = eol ? (size_t)(eol - p) : strlen(p);
        size_t i = 0;
        buf_reset(&line);
        if (line.data) line.data[0] = 0;
        while (i < plen) {
            while (i < plen && p[i] == ' ') i++;
            size_t ws = i;
            while (i < plen && p[i] != ' ') i++;
            if (i == ws) break;
            buf_reset(&trial);
            if (line.len) { buf_append(&trial, line.data, line.len); buf_putc(&trial, ' '); }
            buf_append(&trial, p + ws, i - ws);
            if (width_of(c, f, size, trial.data) <= maxw) {
                buf_reset(&line);
                buf_append(&line, trial.data, trial.len);
                continue;
            }
            if (line.len) { draw_line(c, f, size, line.data, r, g, b); buf_reset(&line); }
            /* The word alone: cut it into line-sized pieces if needed. */
            size_t k = ws;
            while (k < i) {
                size_t take = i - k;
                for (;;) {
                    buf_reset(&trial);
                    buf_append(&trial, p + k, take);
                    if (take <= 1 || width_of(c, f, size, trial.data) <= maxw) break;
                    take = utf8_boundary(p + k, take - 1);
                    if (take == 0) take = 1;
                }
                if (k + take < i) { draw_line(c, f, size, trial.data, r, g, b); k += take; }
                else { buf_reset(&line); buf_append(&line, trial.data, trial.len); k = i; }
            }
        }
        if (line.len) draw_line(c, f, size, line.data, r, g, b);
        else if (plen == 0) c->y -= size * LEADING * 0.6f;   /* blank line = paragraph gap */
        if (!eol) break;
        p = eol + 1;
    }
    buf_free(&line);
    buf_free(&trial);
}

int export_pdf(const json_t *conv, const char *font, const char *bold, void **out, size_t *len,
               char *err, size_t errlen)
{
    if (!font) font = EXPORT_DEFAULT_FONT;
    if (!bold) bold = EXPORT_DEFAULT_FONT_BOLD;
    if (access(font, R_OK) != 0 || access(bold, R_OK) != 0) {
        snprintf(err, errlen, "PDF font not found (%s); install fonts-dejavu-core", font);
        return -1;
    }
    pdf_ctx_t c = {0};
    c.pdf = HPDF_New(on_error, &c);
    if (!c.pdf) { snprintf(err, errlen, "cannot create PDF document"); return -1; }
    HPDF_SetCompressionMode(c.pdf, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(c.pdf);
    HPDF_SetCurrentEncoder(c.pdf, "UTF-8");
    const char *fname = HPDF_LoadTTFontFromFile(c.pdf, font, HPDF_TRUE);
    const char *bname = HPDF_LoadTTFontFromFile(c.pdf, bold, HPDF_TRUE);
    if (fname) c.font = HPDF_GetFont(c.pdf, fname, "UTF-8");
    if (bname) c.bold = HPDF_GetFont(c.pdf, bname, "UTF-8");
    if (!c.font || !c.bold || c.error) {
        snprintf(err, errlen, "cannot load PDF fonts: %s", c.errmsg);
        HPDF_Free(c.pdf);
        return -1;
    }
    const char *title = json_string_value(json_object_get(conv, "title"));
    char *t = sanitize(title ? title : "New Chat");
    buf_t head = {0};
    buf_printf(&head, "RodeoAI: %s", t);
    HPDF_SetInfoAttr(c.pdf, HPDF_INFO_TITLE, head.data);
    HPDF_SetInfoAttr(c.pdf, HPDF_INFO_CREATOR, "Rodeo");
    new_page(&c);
    draw_wrapped(&c, c.bold, TITLE_SIZE, head.data, 0.831f, 0.686f, 0.216f);   /* #d4af37 */
    buf_free(&head);
    free(t);
    char date[11], time[9];
    buf_t created = {0};
    if (export_split_iso(json_string_value(json_object_get(conv, "created_at")), date, time))
        buf_printf(&created, "Created: %s %s UTC", date, time);
    else buf_puts(&created, "Created: N/A");
    draw_line(&c, c.font, 9, created.data, 0.4f, 0.4f, 0.4f);
    buf_free(&created);
    c.y -= 10;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(conv, "messages"), i, m) {
        const char *content = json_string_value(json_object_get(m, "content"));
        char h[64];
        int user = export_message_heading(m, h, sizeof h);
        c.y -= 6;
        if (c.y - 3 * HEAD_SIZE * LEADING < MARGIN) new_page(&c);   /* keep heading with text */
        draw_line(&c, c.bold, HEAD_SIZE, h, user ? 0.15f : 0.55f, user ? 0.25f : 0.42f, user ? 0.45f : 0.10f);
        char *body = sanitize(content ? content : "");
        draw_wrapped(&c, c.font, BODY_SIZE, body, 0.1f, 0.1f, 0.1f);
        free(body);
        if (c.error) break;
    }
    if (!c.error) HPDF_SaveToStream(c.pdf);
    if (c.error) {
        snprintf(err, errlen, "PDF rendering failed: %s", c.errmsg);
        HPDF_Free(c.pdf);
        return -1;
    }
    HPDF_UINT32 size = HPDF_GetStreamSize(c.pdf);
    uint8_t *data = xmalloc(size ? size : 1);
    HPDF_UINT32 got = size;
    HPDF_ResetStream(c.pdf);
    HPDF_ReadFromStream(c.pdf, data, &got);
    HPDF_Free(c.pdf);
    if (got != size) {
        free(data);
        snprintf(err, errlen, "PDF stream read %u of %u bytes", (unsigned)got, (unsigned)size);
        return -1;
    }
    *out = data;
    *len = size;
    return 0;
}
