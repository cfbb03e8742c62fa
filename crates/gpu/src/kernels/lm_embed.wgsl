// The language model's input rows: sequence b (of `batch`) is K soft-prompt vectors, then t
// tokens; row j (L = K + t rows per sequence) is
//   x[b L + j] = (j < K ? soft[j] : wte[token[b t + j - K]]) + wpe[pos0 + j],
// one invocation per element (pos0 = 0, except for a generation session reading on from position
// pos0). Token ids travel as exact f32 values.
struct Dims { batch: u32, t: u32, k: u32, width: u32, pos0: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> tokens: array<f32>;
@group(0) @binding(2) var<storage, read> wte: array<f32>;
@group(0) @binding(3) var<storage, read> wpe: array<f32>;
@group(0) @binding(4) var<storage, read> soft: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let w = dims.width;
    let l = dims.k + dims.t;
    if (i >= dims.batch * l * w) {
        return;
    }
    let row = i / w;
    let c = i % w;
    let b = row / l;
    let j = row % l;
    var e = 0.0;
    if (j < dims.k) {
        e = soft[j * w + c];
    } else {
        e = wte[u32(tokens[b * dims.t + j - dims.k]) * w + c];
    }
    out[i] = e + wpe[(dims.pos0 + j) * w + c];
}
