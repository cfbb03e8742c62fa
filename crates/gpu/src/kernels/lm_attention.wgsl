// Causal multi-head attention of a batch of sequences (the language model's layout), one
// workgroup of 64 per (sequence b, head h, query i). `src`: qkv (batch t rows of 3 width: q, k, v,
// head h at columns h dh ..); `pre`: P prefix keys (P x width) from 0, P prefix values from pv_at
// (a generation session's key/value cache is such a prefix, with pv_at its capacity). Sequence b has
// m = P + t keys: the prefix, then its own t. Query i sees keys j < P + i + 1:
//   s_j = q_i . k_j / sqrt(dh),  p = softmax(s) over the visible keys (0 elsewhere),  o_i = sum_j p_j v_j.
// Output: o (batch t x width), then p (batch x heads x t x m). The scores are kept in p's row
// (storage) between the phases; storageBarrier makes one invocation's writes visible to the others.
struct Dims { batch: u32, t: u32, heads: u32, dh: u32, p: u32, scale: f32, pv_at: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 64>;

fn reduce_max(t: u32, v: f32) -> f32 {
    part[t] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] = max(part[t], part[t + s]);
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();
    return r;
}

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

// Column `col` (of width) of key j of sequence b; `which` 1 = keys, 2 = values.
fn kv(b: u32, j: u32, col: u32, which: u32) -> f32 {
    let w = dims.heads * dims.dh;
    if (j < dims.p) {
        return pre[(which - 1u) * dims.pv_at + j * w + col];
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
    let qrow = (b * dims.t + i) * 3u * w + h * dims.dh;
    let pb = dims.batch * dims.t * w + id * m;
    var mx = -3.4e38;
    for (var j = lt; j < vis; j += 64u) {
        var s = 0.0;
        for (var c = 0u; c < dims.dh; c++) {
            s += src[qrow + c] * kv(b, j, h * dims.dh + c, 1u);
        }
        s *= dims.scale;
        out[pb + j] = s;
        mx = max(mx, s);
    }
    mx = reduce_max(lt, mx);
    var sum = 0.0;
    for (var j = lt; j < vis; j += 64u) {
        let e = exp(out[pb + j] - mx);
        out[pb + j] = e;
        sum += e;
    }
    let inv = 1.0 / reduce_sum(lt, sum);
    for (var j = lt; j < m; j += 64u) {
        out[pb + j] = select(0.0, out[pb + j] * inv, j < vis);
    }
    storageBarrier();
    let orow = (b * dims.t + i) * w + h * dims.dh;
    for (var c = lt; c < dims.dh; c += 64u) {
        var o = 0.0;
        for (var j = 0u; j < vis; j++) {
            o += out[pb + j] * kv(b, j, h * dims.dh + c, 2u);
        }
        out[orow + c] = o;
    }
}
