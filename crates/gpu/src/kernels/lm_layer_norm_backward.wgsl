// Backward of the layer norm y = xhat g + b, xhat = (x - mean) rstd, over n rows of width d.
// mode 0, one workgroup of 64 per row: dxhat = g dy,
//   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)).
// mode 1, one workgroup of 64 per column j: dg[j] = sum over rows dy xhat, db[j] = sum over rows dy
// (fixed-order sums reduced in workgroup memory: deterministic, no atomics).
// `gms`: g (d), then mean (n), then rstd (n). Output: dx (n d), then dg (d), then db (d).
struct Dims { n: u32, d: u32, mode: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gms: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 64>;
var<workgroup> part2: array<f32, 64>;

// Both workgroup-wide sums at once; every invocation gets them.
fn totals(t: u32, a: f32, b: f32) -> vec2<f32> {
    part[t] = a;
    part2[t] = b;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] += part[t + s];
            part2[t] += part2[t + s];
        }
        workgroupBarrier();
    }
    let r = vec2<f32>(part[0], part2[0]);
    workgroupBarrier();
    return r;
}

fn xhat(r: u32, j: u32) -> f32 {
    return (x[r * dims.d + j] - gms[dims.d + r]) * gms[dims.d + dims.n + r];
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let id = wg.x + wg.y * nwg.x;
    let t = lid.x;
    let d = dims.d;
    if (dims.mode == 0u) {
        if (id >= dims.n) {
            return;
        }
        let base = id * d;
        var a = 0.0;
        var b = 0.0;
        for (var j = t; j < d; j += 64u) {
            let g = dy[base + j] * gms[j];
            a += g;
            b += g * xhat(id, j);
        }
        let m = totals(t, a, b) / f32(d);
        let rstd = gms[d + dims.n + id];
        for (var j = t; j < d; j += 64u) {
            let g = dy[base + j] * gms[j];
            out[base + j] = rstd * (g - m.x - xhat(id, j) * m.y);
        }
    } else {
        if (id >= d) {
            return;
        }
        var a = 0.0;
        var b = 0.0;
        for (var r = t; r < dims.n; r += 64u) {
            let g = dy[r * d + id];
            a += g * xhat(r, id);
            b += g;
        }
        let s = totals(t, a, b);
        if (t == 0u) {
            out[dims.n * d + id] = s.x;
            out[dims.n * d + d + id] = s.y;
        }
    }
}
