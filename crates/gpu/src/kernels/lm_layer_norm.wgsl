// Layer norm of each d-wide row of x (n rows), one workgroup of 64 per row:
//   mean = sum x / d,  var = sum (x - mean)^2 / d,  rstd = 1 / sqrt(var + eps),
//   y = (x - mean) rstd g + b
// (the sums reduced in workgroup memory). `gb`: g (d), then b (d). Output: y (n d), then mean (n),
// then rstd (n).
struct Dims { n: u32, d: u32, eps: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gb: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 64>;

fn total(t: u32, v: f32) -> f32 {
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
    let d = dims.d;
    let base = row * d;
    var s = 0.0;
    for (var j = t; j < d; j += 64u) {
        s += x[base + j];
    }
    let mean = total(t, s) / f32(d);
    var v = 0.0;
    for (var j = t; j < d; j += 64u) {
        let c = x[base + j] - mean;
        v += c * c;
    }
    let rstd = 1.0 / sqrt(total(t, v) / f32(d) + dims.eps);
    for (var j = t; j < d; j += 64u) {
        out[base + j] = (x[base + j] - mean) * rstd * gb[j] + gb[d + j];
    }
    if (t == 0u) {
        out[dims.n * d + row] = mean;
        out[dims.n * d + dims.n + row] = rstd;
    }
}
