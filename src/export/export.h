/* export.h — conversation exports: plain text and PDF.
 *
 * Input is the conversation as store_conversation_get returns it (with messages):
 * {id, title, created_at, messages:[{role, content, created_at}, ...]} with ISO-8601 UTC
 * timestamps. Roles other than "user" are shown as "RodeoAI".
 *
 * Text (the contract's format): "RodeoAI: <title>", "Date: YYYY-MM-DD HH:MM:SS" (or N/A),
 * 80 '=' characters, a blank line, then per message "[HH:MM:SS] You:" or
 * "[HH:MM:SS] RodeoAI:", the content, a blank line.
 *
 * PDF (libharu): US Letter, a TrueType font with a UTF-8 encoder (DejaVu Sans from
 * fonts-dejavu-core by default), gold title, "Created:" line, a bold heading per message,
 * content wrapped to the page width, page breaks and page numbers. Title and content are
 * drawn as text, never interpreted as markup. Characters outside the ranges the font covers
 * (Latin, Greek, Cyrillic, common punctuation and symbols) are drawn as '?'. */
#ifndef RODEO_EXPORT_EXPORT_H
#define RODEO_EXPORT_EXPORT_H
#include <jansson.h>
#include <stddef.h>

#define EXPORT_DEFAULT_FONT      "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define EXPORT_DEFAULT_FONT_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

/* Returns malloc'd text and its length. */
char *export_text(const json_t *conv, size_t *len);

/* Renders the PDF into a malloc'd buffer. font/bold NULL = defaults. Returns 0, or -1 with
 * a message (missing font, libharu failure). */
int export_pdf(const json_t *conv, const char *font, const char *bold, void **out, size_t *len,
               char *err, size_t errlen);

/* Shared by both renderers. "2026-11-24T22:52:00.123456Z" -> date "2026-11-24", time
 * "22:52:00"; returns 0 when malformed. */
int export_split_iso(const char *iso, char date[11], char time[9]);
/* A message's heading, "[HH:MM:SS] You:" or "[HH:MM:SS] RodeoAI:" ("--:--:--" without a
 * time); returns 1 when the message is the user's. */
int export_message_heading(const json_t *msg, char *out, size_t cap);

/* "Content-Disposition" file name: rodeoai_chat_<id>.txt / .pdf written into out. */
void export_filename(const json_t *conv, const char *ext, char *out, size_t cap);
#endif
