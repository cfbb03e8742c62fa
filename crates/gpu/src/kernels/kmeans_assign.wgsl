// k-means assignment on scalars: each value's nearest centroid (lowest index on ties), as f32.
struct Dims { len: u32, k: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    var best = 0u;
    var best_d = 3.4e38;
    for (var j = 0u; j < dims.k; j++) {
        let d = (x[i] - centroids[j]) * (x[i] - centroids[j]);
        if (d < best_d) {
            best_d = d;
            best = j;
        }
    }
    out[i] = f32(best);
}
