// Runs CUDA kernel source as plain C++ for logic tests on a CPU (tests/post/test_nms_kernel.py).
// One block at a time (gridDim = 1; the kernel loops over its groups); blockDim.x threads are real
// std::threads, __shared__ variables become function statics (shared by those threads, as on a GPU) and
// __syncthreads is a barrier. A barrier that not every thread reaches aborts instead of hanging.
#pragma once
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

struct ShimDim3 {
    unsigned x, y, z;
};
static thread_local ShimDim3 threadIdx = {0, 0, 0};
static ShimDim3 blockIdx = {0, 0, 0};
static ShimDim3 blockDim = {1, 1, 1};
static ShimDim3 gridDim = {1, 1, 1};

struct ShimBarrier {
    std::mutex m;
    std::condition_variable cv;
    int count = 0;
    long generation = 0;
    void wait() {
        if (blockDim.x == 1) return;
        std::unique_lock<std::mutex> lock(m);
        const long gen = generation;
        if (++count == (int)blockDim.x) {
            count = 0;
            ++generation;
            cv.notify_all();
            return;
        }
        if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return generation != gen; })) {
            fprintf(stderr, "shim: __syncthreads() not reached by every thread (divergent barrier)\n");
            _exit(3);
        }
    }
};
static ShimBarrier shim_barrier;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
inline void __syncthreads() { shim_barrier.wait(); }
inline float __int_as_float(int x) {
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}
