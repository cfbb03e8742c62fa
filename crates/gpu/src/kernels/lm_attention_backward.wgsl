// Backward of the causal attention of lm_attention.wgsl, first pass: one workgroup of 64 per
// (sequence b, head h, query i), with P the probabilities and dO the output's gradient:
//   dp_j = dO_i . v_j,  ds_j = p_j (dp_j - sum_k p_k dp_k) / sqrt(dh)  (0 for keys i cannot see),
//   dq_i = sum_j ds_j k_j.
// `src` as in lm_attention.wgsl (qkv, prefix keys, prefix values). Output (read-write): dqkv
// (batch t x 3 width; this pass writes the q columns), prefix dk (P x width), prefix dv, then dS
// (batch x heads x t x m), kept for lm_attention_kv_grad.wgsl.
struct Dims { batch: u32, t: u32, heads: u32, dh: u32, p: u32, scale: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 64>;

fn reduce_sum(t: u32, v: f32) -> f32 {
    part[t] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] += part[t + s];
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();
    return r;
}

fn kv(b: u32, j: u32, col: u32, which: u32) -> f32 {
    let w = dims.heads * dims.dh;
    if (j < dims.p) {
        return src[dims.batch * dims.t * 3u * w + ((which - 1u) * dims.p + j) * w + col];
    }
    return src[(b * dims.t + j - dims.p) * 3u * w + which * w + col];
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let id = wg.x + wg.y * nwg.x;
    if (id >= dims.batch * dims.heads * dims.t) {
        return;
    }
    let lt = lid.x;
    let i = id % dims.t;
    let h = (id / dims.t) % dims.heads;
    let b = id / (dims.t * dims.heads);
    let w = dims.heads * dims.dh;
    let m = dims.p + dims.t;
    let vis = dims.p + i + 1u;
    let pb = id * m;
    let dsb = dims.batch * dims.t * 3u * w + 2u * dims.p * w + id * m;
    let orow = (b * dims.t + i) * w + h * dims.dh;
    var part_dot = 0.0;
    for (var j = lt; j < vis; j += 64u) {
        var dp = 0.0;
        for (var c = 0u; c < dims.dh; c++) {
            dp += dout[orow + c] * kv(b, j, h * dims.dh + c, 2u);
        }
        out[dsb + j] = dp;
        part_dot += probs[pb + j] * dp;
    }
    let pdp = reduce_sum(lt, part_dot);
    for (var j = lt; j < m; j += 64u) {
        out[dsb + j] = select(0.0, probs[pb + j] * (out[dsb + j] - pdp) * dims.scale, j < vis);
    }
    storageBarrier();
    let qrow = (b * dims.t + i) * 3u * w + h * dims.dh;
    for (var c = lt; c < dims.dh; c += 64u) {
        var dq = 0.0;
        for (var j = 0u; j < vis; j++) {
            dq += out[dsb + j] * kv(b, j, h * dims.dh + c, 1u);
        }
        out[qrow + c] = dq;
    }
}
