// k-means update on scalars: each centroid becomes the mean of its values (one thread per centroid);
// a centroid with no values keeps its place.
struct Dims { len: u32, k: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> assignment: array<f32>;
@group(0) @binding(3) var<storage, read> centroids: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= dims.k) {
        return;
    }
    var s = 0.0;
    var count = 0u;
    for (var i = 0u; i < dims.len; i++) {
        if (u32(assignment[i]) == j) {
            s += x[i];
            count += 1u;
        }
    }
    out[j] = select(centroids[j], s / f32(count), count > 0u);
}
