/* prompt.h — turning retrieved passages into what the assistant says or sends upstream.
 *
 * kb_prompt_messages builds the Chat Completions message list of the contract's RAG flow:
 * one system message (identity, the user's skill level, "RELEVANT RODEO KNOWLEDGE" with each
 * passage labelled [Source i: <source>], guidelines adapted to the level), the last 10 turns
 * of history and the question. Client turns are copied by role and content only.
 *
 * kb_extractive_answer is the embedded default when no generative model is configured: the
 * sentences of the best passages that match the question, with their sources, and a note
 * saying a generative model is not configured. It never returns an empty answer. */
#ifndef RODEO_KB_PROMPT_H
#define RODEO_KB_PROMPT_H
#include "kb/kb.h"
#include <jansson.h>

#define KB_PROMPT_HISTORY 10

/* Canonical skill level ("beginner" | "intermediate" | "advanced" | "professional"), or
 * "all skill levels" for NULL/unknown values. */
const char *kb_skill_level(const char *level);

/* The system prompt text (caller frees). */
char *kb_system_prompt(const char *skill_level, const kb_hit_t *hits, size_t nhits);

/* history: array of {role, content} (all turns before the question). Returns a new array. */
json_t *kb_prompt_messages(const char *skill_level, const kb_hit_t *hits, size_t nhits,
                           const json_t *history, const char *question);

/* [{source, title, topic, score}] for responses (the "sources" of an answer). */
json_t *kb_sources_json(const kb_hit_t *hits, size_t nhits);

/* Extractive answer text (caller frees). */
char *kb_extractive_answer(const char *question, const kb_hit_t *hits, size_t nhits);
#endif
