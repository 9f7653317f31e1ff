/* bpe.h — the CLIP byte-level BPE tokenizer.
 *
 * Text is cleaned (runs of whitespace become one space, ends trimmed), lower-cased, and split
 * with CLIP's pattern  <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|
 * [^\s\p{L}\p{N}]+ ; each piece's UTF-8 bytes are mapped to the GPT-2 byte alphabet, the last
 * symbol gets "</w>", and merges are applied lowest rank first. The result is framed by the
 * start and end tokens and truncated to the context (the end token is kept).
 * Not done: ftfy text repair and HTML unescaping of the original Python tokenizer. Words
 * longer than BPE_MAX_WORD bytes are cut (their tail would be truncated away anyway). */
#ifndef RODEO_ML_BPE_H
#define RODEO_ML_BPE_H
#include <stddef.h>
#include <stdint.h>

#define BPE_MAX_WORD 1024

typedef struct bpe bpe_t;

/* Loads vocab.json (token -> id) and merges.txt (first line a "#version" comment, then
 * "a b" per line, best first). Returns NULL with a message on a malformed file. */
bpe_t *bpe_load(const char *vocab_path, const char *merges_path, char *err, size_t errlen);
void   bpe_free(bpe_t *b);
/* Tokenises text into ids[ctx]: start, tokens, end, then zero padding. Returns the number of
 * real tokens (start and end included, <= ctx), or -1 when ctx < 2. Thread-safe. */
int    bpe_encode(const bpe_t *b, const char *text, int32_t *ids, int ctx);
int32_t bpe_sot(const bpe_t *b);
int32_t bpe_eot(const bpe_t *b);
size_t  bpe_vocab_size(const bpe_t *b);
#endif
