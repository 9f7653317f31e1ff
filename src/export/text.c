/* text.c — the plain-text conversation export (format in export.h). */
#include "export/export.h"
#include "core/buf.h"
#include <stdio.h>
#include <string.h>

int export_split_iso(const char *iso, char date[11], char time[9])
{
    if (!iso || strlen(iso) < 19 || iso[4] != '-' || iso[7] != '-' || (iso[10] != 'T' && iso[10] != ' ') ||
        iso[13] != ':' || iso[16] != ':')
        return 0;
    memcpy(date, iso, 10); date[10] = 0;
    memcpy(time, iso + 11, 8); time[8] = 0;
    return 1;
}

int export_message_heading(const json_t *msg, char *out, size_t cap)
{
    char date[11], time[9];
    const char *role = json_string_value(json_object_get(msg, "role"));
    if (!export_split_iso(json_string_value(json_object_get(msg, "created_at")), date, time))
        strcpy(time, "--:--:--");
    int user = role && !strcmp(role, "user");
    snprintf(out, cap, "[%s] %s:", time, user ? "You" : "RodeoAI");
    return user;
}

void export_filename(const json_t *conv, const char *ext, char *out, size_t cap)
{
    snprintf(out, cap, "rodeoai_chat_%lld.%s", (long long)json_integer_value(json_object_get(conv, "id")), ext);
}

char *export_text(const json_t *conv, size_t *len)
{
    buf_t b = {0};
    const char *title = json_string_value(json_object_get(conv, "title"));
    buf_printf(&b, "RodeoAI: %s\n", title ? title : "New Chat");
    char date[11], time[9];
    if (export_split_iso(json_string_value(json_object_get(conv, "created_at")), date, time))
        buf_printf(&b, "Date: %s %s\n", date, time);
    else buf_puts(&b, "Date: N/A\n");
    for (int i = 0; i < 80; i++) buf_putc(&b, '=');
    buf_puts(&b, "\n\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(conv, "messages"), i, m) {
        const char *content = json_string_value(json_object_get(m, "content"));
        char h[64];
        export_message_heading(m, h, sizeof h);
        buf_printf(&b, "%s\n%s\n\n", h, content ? content : "");
    }
    *len = b.len;
    if (!b.data) buf_puts(&b, "");
    return buf_steal(&b);
}
