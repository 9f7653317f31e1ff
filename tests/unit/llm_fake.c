/* llm_fake.c — process management and control calls for the fake OpenAI server. */
#include "llm_fake.h"
#include "core/buf.h"
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int fake_llm_start(fake_llm_t *f)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "tests/tools/fake_openai.py", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[64] = "";
    int ok = in && fgets(line, sizeof line, in) && sscanf(line, "PORT %d", &f->port) == 1;
    if (in) fclose(in);
    f->pid = pid;
    if (!ok) { fake_llm_stop(f); return -1; }
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%d/v1", f->port);
    return 0;
}

void fake_llm_stop(fake_llm_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    buf_append(ud, p, s * n);
    return s * n;
}

static long request(fake_llm_t *f, const char *path, const char *json, buf_t *out)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (json) curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

int fake_llm_post(fake_llm_t *f, const char *path, const char *json)
{
    buf_t b = {0};
    long st = request(f, path, json ? json : "{}", &b);
    buf_free(&b);
    return st == 200 ? 0 : -1;
}

char *fake_llm_get(fake_llm_t *f, const char *path)
{
    buf_t b = {0};
    if (request(f, path, NULL, &b) != 200) { buf_free(&b); return NULL; }
    return buf_steal(&b);
}
