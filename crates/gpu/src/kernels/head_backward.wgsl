// Gradients of the head; `fc` holds W (K x C), then b (K). Threads below K C + K write the parameter
// gradients (`dfc`, the same layout): dW[j,c] = sum_n dl[n,j] f[n,c], db[j] = sum_n dl[n,j]. Threads below N C HW write
// da[n,c,p] = sum_j dl[n,j] W[j,c] / HW. `dl` holds dL/dlogits in its first N K values.
struct Dims { n: u32, c: u32, hw: u32, k: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> dl: array<f32>;
@group(0) @binding(3) var<storage, read> fc: array<f32>;
@group(0) @binding(4) var<storage, read_write> dfc: array<f32>;
@group(0) @binding(5) var<storage, read_write> da: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.x + gid.y * nwg.x * 256u;
    let kc = dims.k * dims.c;
    if (idx < kc) {
        let j = idx / dims.c;
        let ch = idx % dims.c;
        var acc = 0.0;
        for (var r = 0u; r < dims.n; r++) {
            var f = 0.0;
            for (var p = 0u; p < dims.hw; p++) {
                f += a[(r * dims.c + ch) * dims.hw + p];
            }
            acc += dl[r * dims.k + j] * (f / f32(dims.hw));
        }
        dfc[idx] = acc;
    } else if (idx < kc + dims.k) {
        let j = idx - kc;
        var acc = 0.0;
        for (var r = 0u; r < dims.n; r++) {
            acc += dl[r * dims.k + j];
        }
        dfc[idx] = acc;
    }
    if (idx < dims.n * dims.c * dims.hw) {
        let ch = (idx / dims.hw) % dims.c;
        let r = idx / (dims.hw * dims.c);
        var g = 0.0;
        for (var j = 0u; j < dims.k; j++) {
            g += dl[r * dims.k + j] * fc[j * dims.c + ch];
        }
        da[idx] = g / f32(dims.hw);
    }
}
