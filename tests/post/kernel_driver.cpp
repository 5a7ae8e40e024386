// Host driver for the NMS kernel compiled as C++ (see cuda_shim.h). Usage:
//   driver DIR GROUPS TOTAL THREADS METHOD IOU SIGMA MIN_SCORE MAX_KEEP
// Reads DIR/{starts,sizes}.i64, DIR/{x1,x2,sc}.f32, DIR/pos.i32; writes DIR/{emit_item.i64,emit_sc.f32}.
// Float arguments are C99 hex floats, so they arrive bit-exact.
#include "cuda_shim.h"
#include KERNEL_FILE

#include <stdlib.h>

#include <string>
#include <thread>
#include <vector>

template <typename T>
static std::vector<T> load(const std::string& path, long n) {
    std::vector<T> v(n > 0 ? n : 1);
    FILE* f = fopen(path.c_str(), "rb");
    if (!f || (n > 0 && fread(v.data(), sizeof(T), n, f) != (size_t)n)) {
        fprintf(stderr, "cannot read %s\n", path.c_str());
        exit(2);
    }
    fclose(f);
    return v;
}

template <typename T>
static void save(const std::string& path, const std::vector<T>& v, long n) {
    FILE* f = fopen(path.c_str(), "wb");
    if (!f || fwrite(v.data(), sizeof(T), n, f) != (size_t)n) exit(2);
    fclose(f);
}

int main(int argc, char** argv) {
    if (argc != 10) return 2;
    const std::string dir = argv[1];
    const int groups = atoi(argv[2]);
    const long total = atol(argv[3]);
    const int threads = atoi(argv[4]);
    const int method = atoi(argv[5]);
    const float iou = strtof(argv[6], nullptr), sigma = strtof(argv[7], nullptr), min_score = strtof(argv[8], nullptr);
    const int max_keep = atoi(argv[9]);
    auto starts = load<long long>(dir + "/starts.i64", groups);
    auto sizes = load<long long>(dir + "/sizes.i64", groups);
    auto x1 = load<float>(dir + "/x1.f32", total), x2 = load<float>(dir + "/x2.f32", total);
    auto sc = load<float>(dir + "/sc.f32", total);
    auto pos = load<int>(dir + "/pos.i32", total);
    std::vector<int> scratch(total > 0 ? total : 1);
    std::vector<long long> emit_item(total > 0 ? total : 1, -1);
    std::vector<float> emit_sc(total > 0 ? total : 1, -INFINITY);
    blockDim.x = threads;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            threadIdx.x = t;
            unimd_nms_groups(starts.data(), sizes.data(), groups, x1.data(), x2.data(), sc.data(), pos.data(),
                             scratch.data(), emit_item.data(), emit_sc.data(), method, iou, sigma, min_score, max_keep);
        });
    }
    for (auto& th : pool) th.join();
    save(dir + "/emit_item.i64", emit_item, total);
    save(dir + "/emit_sc.f32", emit_sc, total);
    return 0;
}
