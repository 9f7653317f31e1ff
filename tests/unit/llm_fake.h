/* llm_fake.h — starts tests/tools/fake_openai.py for unit tests that need an upstream, and
 * scripts it through its control API. Shared by test_llm*.c and test_chat*.c. */
#ifndef RODEO_TEST_LLM_FAKE_H
#define RODEO_TEST_LLM_FAKE_H
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int   port;
    char  base_url[64];          /* http://127.0.0.1:PORT/v1 */
} fake_llm_t;

/* 0 on success. Uses /usr/bin/python3 (Debian's). */
int  fake_llm_start(fake_llm_t *f);
void fake_llm_stop(fake_llm_t *f);
/* POSTs a JSON body to /_control or /_reset; returns 0 on HTTP 200. */
int  fake_llm_post(fake_llm_t *f, const char *path, const char *json);
/* GET path, returns malloc'd body or NULL. */
char *fake_llm_get(fake_llm_t *f, const char *path);
#endif
