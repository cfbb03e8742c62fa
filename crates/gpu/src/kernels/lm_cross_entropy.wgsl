// Weighted cross-entropy over rows of logits z (n x V), one workgroup of 64 per row:
//   p = softmax(z) (max subtracted), lse = max + ln sum e^{z - max},
//   nll = lse - z[y],  dz = f (p - onehot(y)),
// with f = w / sum(w) computed by the host (w = 0: no loss, dz = 0). `tf`: the targets y (n, exact
// f32 values), then f (n). Output: dz (n V), then nll (n).
struct Dims { n: u32, v: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> tf: array<f32>;
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

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row = wg.x + wg.y * nwg.x;
    if (row >= dims.n) {
        return;
    }
    let t = lid.x;
    let base = row * dims.v;
    var mx = -3.4e38;
    for (var j = t; j < dims.v; j += 64u) {
        mx = max(mx, z[base + j]);
    }
    mx = reduce_max(t, mx);
    var s = 0.0;
    for (var j = t; j < dims.v; j += 64u) {
        s += exp(z[base + j] - mx);
    }
    let sum = reduce_sum(t, s);
    let inv = 1.0 / sum;
    let y = u32(tf[row]);
    let f = tf[dims.n + row];
    for (var j = t; j < dims.v; j += 64u) {
        let p = exp(z[base + j] - mx) * inv;
        out[base + j] = (p - select(0.0, 1.0, j == y)) * f;
    }
    if (t == 0u) {
        out[dims.n * dims.v + row] = mx + log(sum) - z[base + y];
    }
}
