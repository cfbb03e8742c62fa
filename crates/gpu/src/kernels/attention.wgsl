// Masked scaled dot-product attention, one thread per (batch, query). mask[i * t_k + j] = 1 means
// query i may not attend to key j. A fully masked query gets zero weights and a zero output.
// Output: the weights (batch x t_q x t_k), then the outputs (batch x t_q x d_v).
struct Dims { batch: u32, t_q: u32, t_k: u32, d: u32, d_v: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if (row >= dims.batch * dims.t_q) {
        return;
    }
    let b = row / dims.t_q;
    let i = row % dims.t_q;
    let scale = 1.0 / sqrt(f32(dims.d));
    let wbase = row * dims.t_k;
    var m = -3.4e38;
    var has_key = false;
    for (var j = 0u; j < dims.t_k; j++) {
        var s = 0.0;
        if (mask[i * dims.t_k + j] == 0.0) {
            for (var c = 0u; c < dims.d; c++) {
                s += q[row * dims.d + c] * k[(b * dims.t_k + j) * dims.d + c];
            }
            s *= scale;
            m = max(m, s);
            has_key = true;
        }
        out[wbase + j] = s;
    }
    var total = 0.0;
    for (var j = 0u; j < dims.t_k; j++) {
        var e = 0.0;
        if (has_key && mask[i * dims.t_k + j] == 0.0) {
            e = exp(out[wbase + j] - m);
        }
        out[wbase + j] = e;
        total += e;
    }
    let obase = dims.batch * dims.t_q * dims.t_k + row * dims.d_v;
    for (var j = 0u; j < dims.t_k; j++) {
        if (total > 0.0) {
            out[wbase + j] = out[wbase + j] / total;
        }
    }
    for (var c = 0u; c < dims.d_v; c++) {
        var acc = 0.0;
        for (var j = 0u; j < dims.t_k; j++) {
            acc += out[wbase + j] * v[(b * dims.t_k + j) * dims.d_v + c];
        }
        out[obase + c] = acc;
    }
}
