/* prompt.c — system prompt assembly (RAG) and the extractive answer (see prompt.h). */
#include "kb/prompt.h"
#include "index/bm25.h"
#include "core/buf.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXTRACT_SENTENCES 3        /* per passage */
#define EXTRACT_MAX_CHARS 700      /* per passage */

const char *kb_skill_level(const char *level)
{
    static const char *const levels[] = { "beginner", "intermediate", "advanced", "professional" };
    if (level)
        for (size_t i = 0; i < 4; i++)
            if (!strcasecmp(level, levels[i])) return levels[i];
    return "all skill levels";
}

/* How deep to go, per level: the only personalisation the contract's flow has, made
 * concrete instead of a one-line hint. */
static const char *level_guideline(const char *level)
{
    if (!strcmp(level, "beginner"))
        return "The user is a beginner: use plain language, explain rodeo terms the first time you use "
               "them, give simple step-by-step basics and put safety first.";
    if (!strcmp(level, "intermediate"))
        return "The user is intermediate: assume the basics, focus on refining technique, common "
               "mistakes and how to fix them.";
    if (!strcmp(level, "advanced"))
        return "The user is advanced: be technical, cover fine points of technique, horse training "
               "and competition strategy.";
    if (!strcmp(level, "professional"))
        return "The user is a professional: be concise and expert, focus on nuance, rules details and "
               "competitive edge.";
    return "The user's level is unknown: keep answers accessible but complete, explaining terms briefly.";
}

char *kb_system_prompt(const char *skill_level, const kb_hit_t *hits, size_t nhits)
{
    const char *level = kb_skill_level(skill_level);
    buf_t b = {0};
    buf_puts(&b, "You are RodeoAI, an expert assistant for rodeo and the western community: events and "
                 "their rules, scoring, roping and riding technique, horses, equipment and safety.\n");
    buf_printf(&b, "User's skill level: %s\n\n", level);
    buf_puts(&b, "RELEVANT RODEO KNOWLEDGE:\n");
    if (nhits == 0)
        buf_puts(&b, "No passage of the knowledge base matched this question; rely on general rodeo "
                     "expertise and say so.\n");
    for (size_t i = 0; i < nhits; i++) {
        if (i) buf_putc(&b, '\n');
        buf_printf(&b, "[Source %zu: %s]\n%s\n", i + 1, hits[i].source, hits[i].text);
    }
    buf_puts(&b, "\nGUIDELINES:\n"
                 "- Prefer the knowledge above; cite the sources you use as [Source n].\n");
    buf_printf(&b, "- %s\n", level_guideline(level));
    buf_puts(&b, "- If the knowledge does not cover the question, say so and answer from general rodeo "
                 "expertise.\n"
                 "- Be practical and encouraging, and mention safety where it matters.\n"
                 "- Rules differ between associations; suggest checking the current rulebook for "
                 "specifics.\n");
    return buf_steal(&b);
}

json_t *kb_prompt_messages(const char *skill_level, const kb_hit_t *hits, size_t nhits,
                           const json_t *history, const char *question)
{
    json_t *msgs = json_array();
    char *sys = kb_system_prompt(skill_level, hits, nhits);
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", sys));
    free(sys);
    size_t n = json_array_size(history), from = n > KB_PROMPT_HISTORY ? n - KB_PROMPT_HISTORY : 0;
    for (size_t i = from; i < n; i++) {
        json_t *m = json_array_get(history, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (!role || !content || (strcmp(role, "user") && strcmp(role, "assistant"))) continue;
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", role, "content", content));
    }
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", question));
    return msgs;
}

json_t *kb_sources_json(const kb_hit_t *hits, size_t nhits)
{
    json_t *a = json_array();
    for (size_t i = 0; i < nhits; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:f}", "source", hits[i].source,
                                           "title", hits[i].title, "topic", hits[i].topic,
                                           "heading", hits[i].heading, "score", hits[i].score));
    return a;
}

/* ---- extractive answer ---- */

typedef struct { char terms[32][BM25_MAX_TOKEN + 1]; int n; int hits; } termset_t;

static void add_term(const char *t, size_t len, void *ud)
{
    termset_t *s = ud;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->terms[i]) == len && !memcmp(s->terms[i], t, len)) return;
    if (s->n < 32) { memcpy(s->terms[s->n], t, len); s->terms[s->n][len] = 0; s->n++; }
}

static void count_term(const char *t, size_t len, void *ud)
{
    termset_t *s = ud;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->terms[i]) == len && !memcmp(s->terms[i], t, len)) { s->hits++; return; }
}

typedef struct { const char *s; size_t len; int score; size_t pos; } sentence_t;

static int by_score(const void *a, const void *b)
{
    const sentence_t *x = a, *y = b;
    if (x->score != y->score) return y->score - x->score;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int by_pos(const void *a, const void *b)
{
    const sentence_t *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Appends the passage's sentences that share the most terms with the question, in their
 * original order; the passage's first sentence when none match. */
static void append_best_sentences(buf_t *out, termset_t *q, const char *text)
{
    sentence_t sv[128];
    size_t n = 0, len = strlen(text), start = 0;
    for (size_t i = 0; i <= len && n < 128; i++) {
        int end = i == len || text[i] == '\n' ||
                  ((text[i] == '.' || text[i] == '?' || text[i] == '!') && (i + 1 == len || isspace((unsigned char)text[i + 1])));
        if (!end) continue;
        size_t e = i < len && text[i] != '\n' ? i + 1 : i;
        while (start < e && isspace((unsigned char)text[start])) start++;
        if (e > start) {
            q->hits = 0;
            bm25_tokenize(text + start, e - start, count_term, q);
            sv[n] = (sentence_t){ text + start, e - start, q->hits, n };
            n++;
        }
        start = i + 1;
    }
    if (!n) return;
    qsort(sv, n, sizeof *sv, by_score);
    size_t keep = 0, chars = 0;
    while (keep < n && keep < EXTRACT_SENTENCES && (keep == 0 || sv[keep].score > 0) &&
           chars + sv[keep].len <= EXTRACT_MAX_CHARS) {
        chars += sv[keep].len;
        keep++;
    }
    if (keep == 0) keep = 1;
    if (sv[0].score == 0) { qsort(sv, n, sizeof *sv, by_pos); keep = 1; }
    else qsort(sv, keep, sizeof *sv, by_pos);
    for (size_t i = 0; i < keep; i++) {
        if (i) buf_putc(out, ' ');
        /* Markdown list/heading markers read oddly out of context. */
        const char *s = sv[i].s;
        size_t l = sv[i].len;
        while (l && (*s == '-' || *s == '#' || *s == '*' || *s == ' ')) { s++; l--; }
        size_t cap = l > EXTRACT_MAX_CHARS ? EXTRACT_MAX_CHARS : l;
        buf_append(out, s, cap);
        if (cap < l) buf_puts(out, "...");
    }
}

char *kb_extractive_answer(const char *question, const kb_hit_t *hits, size_t nhits)
{
    buf_t b = {0};
    termset_t q = {0};
    bm25_tokenize(question ? question : "", question ? strlen(question) : 0, add_term, &q);
    if (nhits == 0) {
        buf_puts(&b, "I could not find anything about that in the RodeoAI knowledge base. Try asking about "
                     "rodeo events and their rules, scoring, equipment, horse care or safety.\n\n");
    } else {
        buf_puts(&b, "Here is what the RodeoAI knowledge base says:\n\n");
        for (size_t i = 0; i < nhits; i++) {
            buf_printf(&b, "%s", hits[i].title);
            if (hits[i].heading && *hits[i].heading && strcmp(hits[i].heading, hits[i].title))
                buf_printf(&b, " - %s", hits[i].heading);
            buf_printf(&b, " [Source %zu: %s]\n", i + 1, hits[i].source);
            append_best_sentences(&b, &q, hits[i].text);
            buf_puts(&b, "\n\n");
        }
        buf_puts(&b, "Sources: ");
        for (size_t i = 0; i < nhits; i++) buf_printf(&b, "%s%s", i ? ", " : "", hits[i].source);
        buf_puts(&b, "\n\n");
    }
    buf_puts(&b, "Note: no generative language model is configured on this server, so this answer quotes "
                 "the knowledge base directly.");
    return buf_steal(&b);
}
