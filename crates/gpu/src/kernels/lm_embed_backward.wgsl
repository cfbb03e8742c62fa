// Gradient of the embedding (lm_embed.wgsl) from dx (batch L rows of width, L = K + t), one
// invocation per output element, each a sum in increasing row order (deterministic, no atomics):
//   d_wte[v] = sum of dx over the rows whose token is v (the host lists them per id:
//              `lists` = offsets (vocab + 1), then the row indices, grouped by id),
//   d_wpe[j] = sum over sequences b of dx[b L + j] (0 for j >= L),
//   d_soft[j] = sum over sequences b of dx[b L + j] (j < K).
// Output: d_wte (vocab x width), d_wpe (context x width), d_soft (K x width).
struct Dims { batch: u32, t: u32, k: u32, width: u32, vocab: u32, context: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read> lists: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let w = dims.width;
    let l = dims.k + dims.t;
    if (i >= (dims.vocab + dims.context + dims.k) * w) {
        return;
    }
    let row = i / w;
    let c = i % w;
    var acc = 0.0;
    if (row < dims.vocab) {
        let end = u32(lists[row + 1u]);
        for (var e = u32(lists[row]); e < end; e++) {
            acc += dx[u32(lists[dims.vocab + 1u + e]) * w + c];
        }
    } else {
        var j = row - dims.vocab;
        if (j >= dims.context) {
            j -= dims.context;
        }
        if (j < l) {
            for (var b = 0u; b < dims.batch; b++) {
                acc += dx[(b * l + j) * w + c];
            }
        }
    }
    out[i] = acc;
}
