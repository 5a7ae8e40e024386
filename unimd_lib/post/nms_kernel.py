"""CUDA C source of the grouped NMS kernel (kept as a string so it ships without package-data wiring).

One thread block per group (a video x class pair); the threads share each step's argmax, decay and
compaction while the selections stay sequential, exactly as in ``nms_cpu`` (same slot semantics, same
float32 operations, Gaussian weight as ``(float)exp((double)x)``). Compile with ``--fmad=false`` so that
no multiply-add is contracted and every float32 operation rounds like numpy's.

The source also compiles as plain C++ behind a small shim (blockDim = gridDim = 1, ``__syncthreads`` a
no-op, ``__shared__`` = ``static``): every loop is strided by ``blockDim.x`` and every barrier is reached
by all threads, so the single-thread run executes the same logic. The tests use that to check the kernel
on a machine without a GPU.
"""

KERNEL_NAME = "unimd_nms_groups"
MAX_THREADS = 256

CUDA_SOURCE = (
    f"#define NMS_MAX_THREADS {MAX_THREADS}  // shared-memory size: the launcher never exceeds it\n"
    + r"""
#define NMS_INT_MAX 2147483647
#define NMS_NEG_INF __int_as_float((int)0xff800000u)

// Highest score wins; equal scores go to the lower key (slot for soft-NMS, input position for hard NMS).
__device__ __forceinline__ bool nms_better(float s, int key, float best_s, int best_key) {
    return s > best_s || (s == best_s && key < best_key);
}

// Inclusive prefix sum of buf[0 .. blockDim.x); the caller syncs before, and reads after, the call.
__device__ void nms_block_scan(int* buf) {
    const int t = threadIdx.x;
    for (int off = 1; off < (int)blockDim.x; off <<= 1) {
        const int add = t >= off ? buf[t - off] : 0;
        __syncthreads();
        buf[t] += add;
        __syncthreads();
    }
}

// method 0 vanilla, 1 linear, 2 Gaussian (exp in double, rounded once: the correctly rounded expf).
__device__ __forceinline__ float nms_weight(int method, float ov, float thr, float sigma) {
    if (method == 2) return (float)exp((double)((ov * ov) / -sigma));
    if (ov >= thr) return method == 1 ? 1.0f - ov : 0.0f;
    return 1.0f;
}

// The original removal rule applied to slots [lo, n) in one pass: a removed slot (score -inf) below the
// new length takes the surviving items from above it, the last one first. Returns the new length.
__device__ int nms_compact(float* X1, float* X2, float* S, int* P, int* Q, int lo, int n, int n_removed,
                           int* s_a, int* s_b) {
    const int t = threadIdx.x;
    const int T = blockDim.x;
    const int end = n - n_removed;
    const int chunk = (n - lo + T - 1) / T;
    const int c0 = lo + t * chunk;
    const int c1 = c0 + chunk < n ? c0 + chunk : n;
    int holes = 0, fills = 0;
    for (int p = c0; p < c1; ++p) {
        const bool gone = S[p] == NMS_NEG_INF;
        if (p < end) holes += gone ? 1 : 0;
        else fills += gone ? 0 : 1;
    }
    s_a[t] = holes;
    s_b[t] = fills;
    __syncthreads();
    nms_block_scan(s_a);
    nms_block_scan(s_b);
    int r = s_b[T - 1] - s_b[t];  // survivors above the end, ranked from the top: later chunks first
    for (int p = c1 - 1; p >= c0; --p) {
        if (p >= end && S[p] != NMS_NEG_INF) Q[r++] = p;
    }
    r = s_a[t] - holes;  // holes ranked from the bottom
    __syncthreads();
    for (int p = c0; p < c1; ++p) {
        if (p < end && S[p] == NMS_NEG_INF) {  // only this thread touches slot p; sources lie above end
            const int q = Q[r++];
            X1[p] = X1[q];
            X2[p] = X2[q];
            S[p] = S[q];
            P[p] = P[q];
        }
    }
    __syncthreads();
    return end;
}

// Group g owns items [starts[g], starts[g] + sizes[g]) of the working arrays (modified in place) and the
// same slots of emit_item / emit_sc (pre-filled with -1 / -inf): slot k gets the array index and score
// of the group's k-th selection. pos holds each item's position within its group; scratch is workspace.
extern "C" __global__ void unimd_nms_groups(
    const long long* __restrict__ starts, const long long* __restrict__ sizes, const int num_groups,
    float* x1, float* x2, float* sc, int* pos, int* scratch,  // no __restrict__: other threads write these
    long long* emit_item, float* emit_sc,
    const int method, const float iou_thr, const float sigma, const float min_score, const int max_keep) {
    __shared__ float s_score[NMS_MAX_THREADS];
    __shared__ int s_key[NMS_MAX_THREADS];
    __shared__ int s_slot[NMS_MAX_THREADS];
    __shared__ int s_a[NMS_MAX_THREADS];
    __shared__ int s_b[NMS_MAX_THREADS];
    const int t = threadIdx.x;
    const int T = blockDim.x;
    for (int g = blockIdx.x; g < num_groups; g += gridDim.x) {
        const long long base = starts[g];
        float* X1 = x1 + base;
        float* X2 = x2 + base;
        float* S = sc + base;
        int* P = pos + base;
        int* Q = scratch + base;
        int n = (int)sizes[g];
        for (int i = 0; i < n && i < max_keep; ++i) {
            // 1. argmax over slots [i, n)
            float best_s = NMS_NEG_INF;
            int best_key = NMS_INT_MAX, best_slot = i;
            for (int p = i + t; p < n; p += T) {
                const int key = method == 3 ? P[p] : p;
                if (nms_better(S[p], key, best_s, best_key)) {
                    best_s = S[p];
                    best_key = key;
                    best_slot = p;
                }
            }
            s_score[t] = best_s;
            s_key[t] = best_key;
            s_slot[t] = best_slot;
            __syncthreads();
            for (int half = T >> 1; half > 0; half >>= 1) {
                if (t < half && nms_better(s_score[t + half], s_key[t + half], s_score[t], s_key[t])) {
                    s_score[t] = s_score[t + half];
                    s_key[t] = s_key[t + half];
                    s_slot[t] = s_slot[t + half];
                }
                __syncthreads();
            }
            // 2. swap the winner into slot i and emit it
            if (t == 0) {
                const int c = s_slot[0];
                float f = X1[c]; X1[c] = X1[i]; X1[i] = f;
                f = X2[c]; X2[c] = X2[i]; X2[i] = f;
                f = S[c]; S[c] = S[i]; S[i] = f;
                const int k = P[c]; P[c] = P[i]; P[i] = k;
                emit_item[base + i] = base + P[i];
                emit_sc[base + i] = S[i];
            }
            __syncthreads();
            // 3. decay (soft) or suppress (hard) every later item once; removed items get score -inf
            const float ax1 = X1[i], ax2 = X2[i];
            const float alen = (ax2 - ax1) + 1e-6f;
            int removed = 0;
            for (int p = i + 1 + t; p < n; p += T) {
                const float bx1 = X1[p], bx2 = X2[p];
                const float inter = fmaxf(fminf(ax2, bx2) - fmaxf(ax1, bx1), 0.0f);
                const float ov = inter / ((alen + ((bx2 - bx1) + 1e-6f)) - inter);
                bool keep;
                if (method == 3) {
                    keep = ov < iou_thr;
                } else {
                    const float s = S[p] * nms_weight(method, ov, iou_thr, sigma);
                    keep = s >= min_score;
                    S[p] = s;
                }
                if (!keep) {
                    S[p] = NMS_NEG_INF;
                    ++removed;
                }
            }
            s_a[t] = removed;
            __syncthreads();
            nms_block_scan(s_a);
            const int n_removed = s_a[T - 1];
            __syncthreads();  // all threads have read s_a before it is reused
            if (n_removed > 0) n = nms_compact(X1, X2, S, P, Q, i + 1, n, n_removed, s_a, s_b);
        }
        __syncthreads();  // shared memory is reused by the next group
    }
}
"""
)
