// Pruning masks re-applied after an optimiser step: w[i] = 0 where m[i] = 0 (m holds 0 or 1).
// CPU reference: glassbox_lab::prune::Masks::apply.
struct Dims { len: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    if (m[i] == 0.0) {
        w[i] = 0.0;
    }
}
