/* test_http_hostile.c — raw-socket abuse of the server: half-sent requests, clients that
 * vanish mid-headers or mid-body, oversized request lines and headers, too many path
 * segments, pipelined requests, the idle timeout. Under ASan these also prove that a
 * request allocated at the request line is freed whatever happens next. */
#include "test.h"
#include "http_testlib.h"
#include "http/http.h"
#include "core/log.h"
#include "core/timeutil.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void h_ok(http_req_t *req, http_resp_t *resp)
{
    size_t len;
    http_req_body(req, &len);
    http_resp_json(resp, 200, json_pack("{s:s, s:I}", "path", http_req_path(req), "len", (json_int_t)len));
}

static const http_route_t routes[] = {
    {"GET", "/a/{x}", h_ok, HTTP_AUTH_NONE, 0, 0},
    {"POST", "/a/{x}", h_ok, HTTP_AUTH_NONE, 0, 0},
    {"GET", "/health", h_ok, HTTP_AUTH_NONE, 0, 0},
};

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* Reads until the peer closes or ms pass; returns what arrived (caller frees). */
static char *read_all(int fd, int ms, size_t *len)
{
    buf_t b = {0};
    int64_t until = time_mono_us() + (int64_t)ms * 1000;
    while (time_mono_us() < until) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r <= 0) break;
        buf_append(&b, tmp, (size_t)r);
    }
    if (len) *len = b.len;
    if (!b.data) buf_puts(&b, "");
    return buf_steal(&b);
}

static http_server_t *start(int *port, int timeout_s)
{
    log_set_level(LOG_ERROR);
    http_config_t cfg = htest_config();
    cfg.timeout_s = timeout_s;
    char err[256];
    http_server_t *srv = http_server_start(&cfg, routes, 3, err, sizeof err);
    if (srv) *port = http_server_port(srv);
    return srv;
}

TEST(http_hostile_half_requests)
{
    int port;
    http_server_t *srv = start(&port, 10);
    REQUIRE(srv);
    const char *halves[] = {
        "GET /a/1 HTTP/1.1\r\nHost: x\r\n",                               /* headers unfinished */
        "GET /a/1 HT",                                                     /* request line cut */
        "POST /a/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", /* body cut */
        "POST /a/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", /* chunk cut */
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",                   /* a TLS hello */
        "GARBAGE\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof halves / sizeof *halves; i++) {
        int fd = connect_to(port);
        REQUIRE(fd >= 0);
        send_all(fd, halves[i], strlen(halves[i]));
        usleep(20000);
        close(fd);
    }
    usleep(100000);
    /* still serving */
    hres_t r;
    hreq(port, "GET", "/health", NULL, NULL, 0, &r);
    CHECK_INT(r.status, 200);
    hres_free(&r);
    http_server_stop(srv);
}

TEST(http_hostile_oversized)
{
    int port;
    http_server_t *srv = start(&port, 10);
    REQUIRE(srv);
    /* a 64 KiB path: refused by the parser (4xx), never a crash */
    buf_t req = {0};
    buf_puts(&req, "GET /a/");
    for (int i = 0; i < 65536; i++) buf_putc(&req, 'x');
    buf_puts(&req, " HTTP/1.1\r\nHost: x\r\n\r\n");
    int fd = connect_to(port);
    REQUIRE(fd >= 0);
    send_all(fd, req.data, req.len);
    char *resp = read_all(fd, 2000, NULL);
    CHECK(strncmp(resp, "HTTP/1.1 4", 10) == 0 || resp[0] == 0);
    free(resp);
    close(fd);
    buf_free(&req);
    /* a 64 KiB header */
    buf_puts(&req, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 65536; i++) buf_putc(&req, 'y');
    buf_puts(&req, "\r\n\r\n");
    fd = connect_to(port);
    send_all(fd, req.data, req.len);
    resp = read_all(fd, 2000, NULL);
    CHECK(strncmp(resp, "HTTP/1.1 4", 10) == 0 || resp[0] == 0);
    free(resp);
    close(fd);
    buf_free(&req);
    /* too many segments: 404, not an overflow */
    buf_puts(&req, "/a");
    for (int i = 0; i < 200; i++) buf_puts(&req, "/s");
    hres_t r;
    hreq(port, "GET", req.data, NULL, NULL, 0, &r);
    CHECK_INT(r.status, 404);
    hres_free(&r);
    buf_free(&req);
    /* encoded slash and odd bytes in a parameter */
    hreq(port, "GET", "/a/%2F%00%FF", NULL, NULL, 0, &r);
    CHECK(r.status == 200 || r.status == 404 || r.status == 400);
    hres_free(&r);
    http_server_stop(srv);
}

TEST(http_hostile_pipelined_and_keepalive)
{
    int port;
    http_server_t *srv = start(&port, 10);
    REQUIRE(srv);
    int fd = connect_to(port);
    REQUIRE(fd >= 0);
    const char *pipe3 =
        "GET /a/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /a/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        "GET /a/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, pipe3, strlen(pipe3));
    char *resp = read_all(fd, 3000, NULL);
    const char *p1 = strstr(resp, "\"path\":\"/a/1\"");
    const char *p2 = strstr(resp, "\"path\":\"/a/2\",\"len\":3");
    const char *p3 = strstr(resp, "\"path\":\"/a/3\"");
    CHECK(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    free(resp);
    close(fd);
    http_server_stop(srv);
}

TEST(http_idle_timeout)
{
    int port;
    http_server_t *srv = start(&port, 1);
    REQUIRE(srv);
    int fd = connect_to(port);
    REQUIRE(fd >= 0);
    send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n", 31);   /* and then nothing */
    int64_t t0 = time_mono_us();
    char *resp = read_all(fd, 5000, NULL);
    double secs = (double)(time_mono_us() - t0) / 1e6;
    CHECK(secs >= 0.5 && secs < 4.0);    /* closed by the server after ~1 s */
    free(resp);
    close(fd);
    http_server_stop(srv);
}
