/* test_ml_hub.c — model download against a loopback hub (tests/tools/ml_hub_server.py):
 * a complete pull, resume of a partial file with Range, automatic resume after a dropped
 * connection, SHA-256 mismatch, 404, hostile names, and manifest verification. */
#include "test.h"
#include "ml/hub.h"
#include "core/buf.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

typedef struct { pid_t pid; int port; } server_t;

static int start_server(server_t *s, const char *root, const char *extra, const char *log)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        int null = open("/dev/null", O_WRONLY);   /* never hold the runner's stderr pipe */
        if (null >= 0) dup2(null, 2);
        buf_t cmd = {0};
        buf_printf(&cmd, "exec /usr/bin/python3 tests/tools/ml_hub_server.py '%s' --log '%s' %s", root, log, extra);
        execl("/bin/sh", "sh", "-c", cmd.data, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = {0};
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof line - 1 && !strchr(line, '\n') && (r = read(fds[0], line + n, sizeof line - 1 - (size_t)n)) > 0)
        n += r;
    close(fds[0]);
    s->pid = pid;
    s->port = n > 0 ? atoi(line) : 0;
    return s->port > 0 ? 0 : -1;
}

static void stop_server(server_t *s)
{
    if (s->pid > 0) { kill(s->pid, SIGTERM); waitpid(s->pid, NULL, 0); }
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(data, 1, len, f); fclose(f); }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

static int count_in(const char *path, const char *needle)
{
    size_t len;
    char *s = slurp(path, &len);
    int n = 0;
    for (char *p = s; p && (p = strstr(p, needle)); p++) n++;
    free(s);
    return n;
}

TEST(ml_hub_pull_resume_verify)
{
    char *root = test_tmpdir(), *dest = test_tmpdir();
    buf_t p = {0}, log = {0}, url = {0};
    buf_printf(&p, "%s/acme", root);
    mkdir(p.data, 0755);
    buf_puts(&p, "/clip-tiny");
    mkdir(p.data, 0755);
    buf_printf(&log, "%s/requests.log", root);
    /* a 300 KB "weights" file and a small config */
    size_t big = 300000;
    char *weights = xmalloc(big);
    for (size_t i = 0; i < big; i++) weights[i] = (char)(i * 131 + (i >> 8));
    buf_t f = {0};
    buf_printf(&f, "%s/model.safetensors", p.data);
    write_file(f.data, weights, big);
    buf_reset(&f);
    buf_printf(&f, "%s/config.json", p.data);
    write_file(f.data, "{\"projection_dim\": 8}", 21);

    server_t s = {0};
    REQUIRE(start_server(&s, root, "--drop-after 100000", log.data) == 0);
    buf_printf(&url, "http://127.0.0.1:%d", s.port);
    /* a partial file from an earlier run: the pull must resume from byte 50000 */
    buf_t part = {0};
    buf_printf(&part, "%s/model.safetensors.part", dest);
    write_file(part.data, weights, 50000);
    const char *files[] = {"config.json", "model.safetensors", NULL};
    hub_pull_opts_t o = {.endpoint = url.data, .repo = "acme/clip-tiny", .dest = dest, .timeout_s = 5};
    char err[512] = "";
    CHECK(hub_pull(&o, files, err, sizeof err) == 0);
    if (err[0]) printf("    %s\n", err);
    size_t len = 0;
    buf_t got = {0};
    buf_printf(&got, "%s/model.safetensors", dest);
    char *data = slurp(got.data, &len);
    CHECK_INT(len, big);
    CHECK(data && !memcmp(data, weights, big));
    free(data);
    CHECK(access(part.data, F_OK) != 0);
    CHECK_INT(count_in(log.data, "bytes=50000-"), 1);       /* resumed the old partial file */
    CHECK_INT(count_in(log.data, "bytes=150000-"), 1);      /* and again after the dropped connection */
    /* manifest verification: all good, then a corrupted byte is caught */
    CHECK_INT(hub_verify(dest, NULL, err, sizeof err), 0);
    data = slurp(got.data, &len);
    CHECK(data && len > 1234);
    if (data && len > 1234) { data[1234] ^= 1; write_file(got.data, data, len); }
    free(data);
    CHECK_INT(hub_verify(dest, NULL, err, sizeof err), 1);
    unlink(got.data);
    CHECK_INT(hub_verify(dest, NULL, err, sizeof err), 1);
    /* a complete .part (server answers 416) is accepted after checking its digest */
    write_file(part.data, weights, big);
    CHECK(hub_pull(&o, files, err, sizeof err) == 0);
    CHECK_INT(hub_verify(dest, NULL, err, sizeof err), 0);
    /* 404, hostile names */
    const char *missing[] = {"nope.bin", NULL}, *evil[] = {"../../etc/passwd", NULL};
    CHECK(hub_pull(&o, missing, err, sizeof err) == -1);
    CHECK(strstr(err, "404") != NULL);
    CHECK(hub_pull(&o, evil, err, sizeof err) == -1);
    hub_pull_opts_t bad = o;
    bad.repo = "../x";
    CHECK(hub_pull(&bad, files, err, sizeof err) == -1);
    CHECK(hub_verify(root, NULL, err, sizeof err) == -1);     /* no manifest there */
    stop_server(&s);

    /* a wrong digest from the hub: the download is refused and the partial file removed */
    char *dest2 = test_tmpdir();
    CHECK(start_server(&s, root, "--bad-sha model.safetensors", log.data) == 0);
    buf_reset(&url);
    buf_printf(&url, "http://127.0.0.1:%d/", s.port);
    o.endpoint = url.data;
    o.dest = dest2;
    CHECK(hub_pull(&o, files, err, sizeof err) == -1);
    CHECK(strstr(err, "SHA-256 mismatch") != NULL);
    buf_reset(&part);
    buf_printf(&part, "%s/model.safetensors.part", dest2);
    CHECK(access(part.data, F_OK) != 0);
    stop_server(&s);
    /* a dead endpoint is an error, not a hang */
    o.endpoint = "http://127.0.0.1:1";
    o.retries = 1;
    CHECK(hub_pull(&o, files, err, sizeof err) == -1);

    free(weights);
    buf_free(&p); buf_free(&log); buf_free(&url); buf_free(&f); buf_free(&part); buf_free(&got);
    free(root); free(dest); free(dest2);
}
