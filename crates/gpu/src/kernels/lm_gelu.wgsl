// GELU, tanh form (as GPT-2): y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3), with
// tanh u = 1 - 2 / (e^{2u} + 1) (u clamped to +-15, where tanh is 1 in f32).
// mode 0: y. mode 1: dx = dy [(1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 0.044715 x^2) / 2].
struct Dims { len: u32, mode: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const S: f32 = 0.7978846;
const C: f32 = 0.044715;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= dims.len) {
        return;
    }
    let v = x[i];
    let u = clamp(S * (v + C * v * v * v), -15.0, 15.0);
    let th = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
    if (dims.mode == 0u) {
        out[i] = 0.5 * v * (1.0 + th);
    } else {
        let g = 0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * S * (1.0 + 3.0 * C * v * v);
        out[i] = dy[i] * g;
    }
}
