// hnswlib_peer.cpp — the native hnswlib peer (Debian's libhnswlib-dev headers, built with
// g++ -O3 -march=native): builds an inner-product HNSW on base.fvecs with T threads, then
// measures single-thread QPS and recall@10 for each ef. One JSON line per measurement.
// usage: hnswlib_peer base.fvecs query.fvecs gt.ivecs M EFC THREADS EF[,EF...] [ROUNDS] [INDEX]
// With INDEX: load it when it exists (search rounds only), else build and save it there.
#include <time.h>
#include <hnswlib/hnswlib.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <atomic>
#include <unistd.h>

static std::vector<float> read_vecs(const char *path, size_t &n, size_t &d) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    int32_t dim;
    memcpy(&dim, buf.data(), 4);
    d = (size_t)dim;
    n = buf.size() / (4 + d * 4);
    std::vector<float> out(n * d);
    for (size_t i = 0; i < n; i++) memcpy(&out[i * d], buf.data() + i * (4 + d * 4) + 4, d * 4);
    return out;
}

static long rss_kb() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return atol(line.c_str() + 6);
    return 0;
}

static void search_rounds(hnswlib::HierarchicalNSW<float> *h, const std::vector<float> &q, size_t nq,
                          size_t d, const int32_t *gt, size_t kg, const std::vector<int> &efs, int rounds);

static double cpu_now() {   // this thread's CPU time (waiting for a core not counted)
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage: %s base query gt M EFC THREADS EFS [ROUNDS]\n", argv[0]); return 2; }
    size_t n, d, nq, dq, ng, kg;
    std::vector<float> base = read_vecs(argv[1], n, d);
    std::vector<float> q = read_vecs(argv[2], nq, dq);
    std::vector<float> gtf = read_vecs(argv[3], ng, kg);
    const int32_t *gt = reinterpret_cast<const int32_t *>(gtf.data());
    int M = atoi(argv[4]), efc = atoi(argv[5]), threads = atoi(argv[6]);
    int rounds = argc > 8 ? atoi(argv[8]) : 1;
    std::vector<int> efs;
    std::stringstream ss(argv[7]);
    for (std::string t; std::getline(ss, t, ',');) efs.push_back(atoi(t.c_str()));

    const char *saved = argc > 9 ? argv[9] : nullptr;
    hnswlib::InnerProductSpace space(d);
    if (saved && access(saved, R_OK) == 0) {
        auto *h = new hnswlib::HierarchicalNSW<float>(&space, saved);
        search_rounds(h, q, nq, d, gt, kg, efs, rounds);
        delete h;
        return 0;
    }
    long rss0 = rss_kb();
    hnswlib::HierarchicalNSW<float> *h = new hnswlib::HierarchicalNSW<float>(&space, n, M, efc, 100);
    double t0 = now();
    std::atomic<size_t> next(0);
    auto work = [&]() {
        for (;;) {
            size_t i = next.fetch_add(1);
            if (i >= n) break;
            h->addPoint(&base[i * d], i);
        }
    };
    std::vector<std::thread> th;
    for (int i = 0; i < threads; i++) th.emplace_back(work);
    for (auto &t : th) t.join();
    double build = now() - t0;
    long rss1 = rss_kb();
    printf("{\"engine\": \"hnswlib-native\", \"n\": %zu, \"dim\": %zu, \"m\": %d, \"ef_construction\": %d, "
           "\"threads\": %d, \"build_seconds\": %.2f, \"memory_bytes\": %ld}\n",
           n, d, M, efc, threads, build, (rss1 - rss0) * 1024L);
    fflush(stdout);
    if (saved) h->saveIndex(saved);
    search_rounds(h, q, nq, d, gt, kg, efs, rounds);
    printf("{\"engine\": \"hnswlib-native\", \"after_queries\": %zu, \"memory_bytes\": %ld}\n",
           nq * efs.size() * (size_t)rounds, (rss_kb() - rss0) * 1024L);
    fflush(stdout);
    delete h;
    return 0;
}

static void search_rounds(hnswlib::HierarchicalNSW<float> *h, const std::vector<float> &q, size_t nq,
                          size_t d, const int32_t *gt, size_t kg, const std::vector<int> &efs, int rounds) {
    for (int r = 0; r < rounds; r++)
        for (int ef : efs) {
            h->setEf(ef);
            size_t hit = 0;
            double t1 = now(), c1 = cpu_now();
            std::vector<std::priority_queue<std::pair<float, hnswlib::labeltype>>> res(nq);
            for (size_t i = 0; i < nq; i++) res[i] = h->searchKnn(&q[i * d], 10);
            double secs = now() - t1, csecs = cpu_now() - c1;
            for (size_t i = 0; i < nq; i++) {
                auto &pq = res[i];
                while (!pq.empty()) {
                    size_t id = pq.top().second;
                    pq.pop();
                    for (size_t j = 0; j < 10; j++) if ((size_t)gt[i * kg + j] == id) { hit++; break; }
                }
            }
            printf("{\"engine\": \"hnswlib-native\", \"round\": %d, \"ef\": %d, \"recall\": %.4f, \"qps\": %.1f, \"qps_cpu\": %.1f}\n",
                   r, ef, hit / (10.0 * nq), nq / secs, nq / csecs);
            fflush(stdout);
        }
}
