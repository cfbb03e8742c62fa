// Backward of the causal attention, second pass (after lm_attention_backward.wgsl wrote dS): the
// keys' and values' gradients, one invocation per (key row, column), each a fixed-order sum (no
// atomics). For key j of sequence b in head h: dk_j = sum_i dS_ij q_i, dv_j = sum_i P_ij dO_i over
// the queries i that see it. A sequence's own key (row r = b t + j - P of qkv) is seen by queries
// i >= j - P of its sequence; a prefix key by every query of every sequence, so its gradient is the
// sum over the batch. Bindings as in the first pass; this pass writes dqkv's k and v columns and
// the prefix gradients.
struct Dims { batch: u32, t: u32, heads: u32, dh: u32, p: u32, scale: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = dims.heads * dims.dh;
    let idx = gid.x + gid.y * nwg.x * 64u;
    let rows = dims.batch * dims.t;
    if (idx >= (rows + dims.p) * w) {
        return;
    }
    let r = idx / w;
    let col = idx % w;
    let h = col / dims.dh;
    let m = dims.p + dims.t;
    let ds0 = rows * 3u * w + 2u * dims.p * w;
    var dk = 0.0;
    var dv = 0.0;
    if (r < rows) {
        let b = r / dims.t;
        let own = r % dims.t;
        let j = dims.p + own;
        for (var i = own; i < dims.t; i++) {
            let at = ((b * dims.heads + h) * dims.t + i) * m + j;
            let qr = b * dims.t + i;
            dk += out[ds0 + at] * src[qr * 3u * w + col];
            dv += probs[at] * dout[qr * w + col];
        }
        out[r * 3u * w + w + col] = dk;
        out[r * 3u * w + 2u * w + col] = dv;
    } else {
        let j = r - rows;
        for (var b = 0u; b < dims.batch; b++) {
            for (var i = 0u; i < dims.t; i++) {
                let at = ((b * dims.heads + h) * dims.t + i) * m + j;
                let qr = b * dims.t + i;
                dk += out[ds0 + at] * src[qr * 3u * w + col];
                dv += probs[at] * dout[qr * w + col];
            }
        }
        out[rows * 3u * w + j * w + col] = dk;
        out[rows * 3u * w + dims.p * w + j * w + col] = dv;
    }
}
