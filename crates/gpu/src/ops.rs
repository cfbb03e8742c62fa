//! The engine's element-wise, reduction, convolution, pooling, attention and k-means kernels, one
//! WGSL file each (src/kernels). CPU references: `glassbox_lab::{vision::nn, attention, compress::kmeans}`.
//! Integer data (labels, arg-max indices, cluster indices, masks) travel as exact small f32 values.

use crate::{Gpu, GpuError};
use glassbox_lab::attention::AttentionShape;
use glassbox_lab::vision::nn::ConvShape;

/// A compiled kernel: one WGSL file with one entry point `main`.
/// One dispatch: kernel, uniform words, workgroups.
pub(crate) type Pass<'a> = (&'a Kernel, Vec<u32>, (u32, u32, u32));

pub(crate) struct Kernel {
    pub(crate) name: &'static str,
    pub(crate) pipeline: wgpu::ComputePipeline,
}

/// A kernel compiled at its first use (training's): on a software adapter each pipeline takes a
/// good part of a second to compile, which every WebGPU visit would otherwise wait for at its
/// start. A kernel the device rejects then fails its first call (the submission's error scope).
pub(crate) struct Later {
    name: &'static str,
    source: String,
    kernel: std::sync::OnceLock<Kernel>,
}

impl Later {
    pub(crate) fn get(&self, device: &wgpu::Device) -> &Kernel {
        self.kernel
            .get_or_init(|| compile(device, self.name, &self.source))
    }
}

/// The engine's WGSL kernels by file name: the kernels file (glassbox_pack), compiled in natively
/// and fetched by the page, whose code carries none of them.
pub struct KernelSources(Vec<(String, String)>);

impl KernelSources {
    /// Read a kernels file; a damaged or cut one is refused, and so is a sound one from another
    /// build (its checksum is not the one this build compiled in): its kernels may not match
    /// this code's.
    pub fn parse(file: &str) -> Result<KernelSources, String> {
        let kernels = glassbox_pack::kernels(file)?;
        if file.lines().next() != Some(env!("GLASSBOX_KERNELS_HEAD")) {
            return Err("it is from another build of the book (reload the page)".into());
        }
        Ok(KernelSources(
            kernels
                .into_iter()
                .map(|(name, source)| (name.to_string(), source.to_string()))
                .collect(),
        ))
    }

    /// The kernels this build was made with (build.rs's file), compiled in: the CLI's and the
    /// tests'. The book fetches its copy instead.
    pub fn built_in() -> KernelSources {
        KernelSources::parse(include_str!(concat!(env!("OUT_DIR"), "/kernels.txt")))
            .expect("build.rs writes a well-formed kernels file")
    }

    /// A kernel's source with its constants set; an error names a kernel or a constant that a
    /// file from another build lacks.
    fn get(&self, file: &str, constants: &[(&str, u32)]) -> Result<String, String> {
        let (_, source) = self
            .0
            .iter()
            .find(|(name, _)| name == file)
            .ok_or_else(|| format!("it has no {file}"))?;
        with_constants(source, constants).map_err(|e| format!("{file}: {e}"))
    }
}

macro_rules! kernels {
    ($($field:ident => $file:literal $([$($name:ident = $value:literal),*])?),* $(,)?
     ; later: $($lfield:ident => $lfile:literal $([$($lname:ident = $lvalue:literal),*])?),* $(,)?) => {
        /// Every kernel's pipeline, compiled once when the device opens (the `later` ones at their
        /// first use).
        pub(crate) struct Kernels {
            $(pub(crate) $field: Kernel,)*
            $(pub(crate) $lfield: Later,)*
        }
        impl Kernels {
            pub(crate) fn new(device: &wgpu::Device, sources: &KernelSources) -> Result<Kernels, String> {
                // Every source first (a file from another build fails here, before any compiles).
                let files: &[(&str, &[(&str, u32)])] = &[
                    $(($file, &[$($((stringify!($name), $value)),*)?]),)*
                    $(($lfile, &[$($((stringify!($lname), $lvalue)),*)?]),)*
                ];
                let mut texts = Vec::with_capacity(files.len());
                for (file, constants) in files {
                    texts.push(sources.get(file, constants)?);
                }
                let mut texts = texts.into_iter();
                let mut next = move || texts.next().unwrap_or_default();
                Ok(Kernels {
                    $($field: compile(device, $file, &next()),)*
                    $($lfield: Later {
                        name: $lfile,
                        source: next(),
                        kernel: std::sync::OnceLock::new(),
                    },)*
                })
            }
        }
    };
}

kernels! {
    matmul => "matmul.wgsl",
    matmul_small => "matmul.wgsl" [TX = 8, TY = 8, TK = 16],
    matmul_rows => "matmul_rows.wgsl",
    relu => "relu.wgsl",
    conv2d_16 => "conv2d.wgsl" [TY = 2],
    conv2d_32 => "conv2d.wgsl" [TY = 4],
    conv2d => "conv2d.wgsl",
    bn_apply => "bn_apply.wgsl",
    bn_running => "bn_running.wgsl",
    bn_backward => "bn_backward.wgsl",
    bn_backward_eval => "bn_backward_eval.wgsl",
    head_forward => "head_forward.wgsl",
    head_backward => "head_backward.wgsl",
    mask => "mask.wgsl",
    maxpool => "maxpool.wgsl",
    maxpool_backward => "maxpool_backward.wgsl",
    bn_stats => "bn_stats.wgsl",
    softmax_ce => "softmax_ce.wgsl",
    sgd => "sgd.wgsl",
    adam => "adam.wgsl",
    attention => "attention.wgsl",
    kmeans_assign => "kmeans_assign.wgsl",
    kmeans_update => "kmeans_update.wgsl",
    lm_layer_norm => "lm_layer_norm.wgsl",
    lm_layer_norm_backward => "lm_layer_norm_backward.wgsl",
    lm_gelu => "lm_gelu.wgsl",
    lm_attention => "lm_attention.wgsl",
    lm_attention_backward => "lm_attention_backward.wgsl",
    lm_attention_kv_grad => "lm_attention_kv_grad.wgsl",
    lm_embed => "lm_embed.wgsl",
    lm_embed_backward => "lm_embed_backward.wgsl",
    lm_cross_entropy => "lm_cross_entropy.wgsl",
    lm_add => "lm_add.wgsl",
    ; later:
    conv2d_weight_grad_16 => "conv2d_weight_grad.wgsl" [TY = 2],
    conv2d_weight_grad_32 => "conv2d_weight_grad.wgsl" [TY = 4],
    conv2d_weight_grad => "conv2d_weight_grad.wgsl",
    conv2d_weight_grad_128 => "conv2d_weight_grad.wgsl" [TX = 16, TY = 16],
    conv2d_weight_grad_sum => "conv2d_weight_grad_sum.wgsl",
}

/// `source` with each `const NAME: u32 = ...;` of `constants` set to the given value: one WGSL file
/// compiled at several tile sizes.
fn with_constants(source: &str, constants: &[(&str, u32)]) -> Result<String, String> {
    let mut out = source.to_string();
    for (name, value) in constants {
        let head = format!("const {name}: u32 = ");
        let start = out
            .find(&head)
            .ok_or_else(|| format!("it declares no `{head}...`"))?;
        let end = start
            + out[start..]
                .find(';')
                .ok_or_else(|| format!("its `{head}...` has no end"))?;
        out.replace_range(start..end, &format!("{head}{value}u"));
    }
    Ok(out)
}

fn compile(device: &wgpu::Device, name: &'static str, source: &str) -> Kernel {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    Kernel { name, pipeline }
}

/// Workgroups for `items` threads of `size` per group, as a 2D grid within the 65,535 limit.
pub(crate) fn grid(items: usize, size: usize) -> (u32, u32, u32) {
    let groups = items.div_ceil(size).max(1);
    let x = groups.min(65_535);
    (x as u32, groups.div_ceil(x) as u32, 1)
}

/// One 3 x 3 convolution pass (kernels/conv2d.wgsl, an implicit GEMM): the forward convolution of
/// an input with C_in channels, or with `backward` the input gradient from dy (C_out channels).
/// The tile is 16, 32 or 64 output channels high (the fewest that cover them, else 64) and 128
/// output pixels (n, h, w) wide; columns of tiles past 65,535 continue in the z dimension.
pub(crate) fn conv_pass(kernels: &Kernels, s: ConvShape, backward: bool) -> Pass<'_> {
    let rows = if backward { s.c_in } else { s.c_out };
    let (kernel, tile) = match rows {
        0..=16 => (&kernels.conv2d_16, 16),
        17..=32 => (&kernels.conv2d_32, 32),
        _ => (&kernels.conv2d, 64),
    };
    let dims = vec![
        s.n as u32,
        s.c_in as u32,
        s.c_out as u32,
        s.h as u32,
        s.w as u32,
        backward as u32,
    ];
    let cols = (s.n * s.h * s.w).div_ceil(128).max(1);
    let x = cols.min(65_535);
    let groups = (
        x as u32,
        rows.div_ceil(tile).max(1) as u32,
        cols.div_ceil(x) as u32,
    );
    (kernel, dims, groups)
}

/// The weight gradient's tile (kernels/conv2d_weight_grad.wgsl) as (rows, columns) of dW: 16, 32
/// or 64 output channels (the fewest that cover them) by 64 weight columns (c, i, j), or past 64
/// channels 128 x 128, the matmul's large tile.
fn weight_grad_tile(c_out: usize) -> (usize, usize) {
    match c_out {
        0..=16 => (16, 64),
        17..=32 => (32, 64),
        33..=64 => (64, 64),
        _ => (128, 128),
    }
}

/// How the weight gradient splits its k axis (k = n h w): (ranges, k values per range). A 3 x 3
/// layer's dW is small (C_out x 9 C_in) and its k long, so unsplit a few dozen workgroups would
/// each run the whole of k while the rest of the GPU idles. The ranges multiply the output's tiles
/// up to about 256 workgroups, each range at least 256 long (its partial sums, written once and
/// read once by the sum, then cost a few percent of its multiply-adds) and a whole number of the
/// kernel's 16-deep k-slices, their partial sums at most 2^22 floats (16 MB). But whatever the
/// tiles, no range is longer than 16,384 (1,024 slices): lavapipe (Mesa's llvmpipe) ends all the
/// loops of an invocation once they have run 65,535 iterations together, which 2,048 slices of the
/// 16-row tile pass (the direct kernel this replaced, one n h w loop per weight, returned wrong
/// sums there from 64 images of 32 x 32).
fn weight_grad_split(s: ConvShape) -> (usize, usize) {
    const GROUPS: usize = 256;
    const MIN_RANGE: usize = 256;
    const MAX_RANGE: usize = 16_384;
    const SCRATCH: usize = 1 << 22;
    const TK: usize = 16;
    let (rows, cols) = weight_grad_tile(s.c_out);
    let tiles = s.c_out.div_ceil(rows) * (9 * s.c_in).div_ceil(cols);
    let k = s.n * s.h * s.w;
    let ranges = GROUPS
        .div_ceil(tiles.max(1))
        .min(k / MIN_RANGE)
        .min(SCRATCH / s.w_len().max(1))
        .max(k.div_ceil(MAX_RANGE))
        .max(1);
    let chunk = k.div_ceil(ranges).next_multiple_of(TK).max(TK);
    (k.div_ceil(chunk).max(1), chunk)
}

fn f(v: f32) -> u32 {
    v.to_bits()
}

impl Gpu {
    /// Add one dispatch of `kernel` to `encoder`: `dims` as its uniform (binding 0), then `buffers`
    /// as bindings 1, 2, ... in order.
    pub(crate) fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: &Kernel,
        dims: &[u32],
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) {
        let mut words = dims.to_vec();
        words.resize(dims.len().div_ceil(4).max(1) * 4, 0);
        let uniform = self.uniform(kernel.name, &words);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &kernel.pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.name),
            timestamp_writes: None,
        });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }

    /// Add the 3 x 3 convolution's weight gradient to `encoder`: dW (`dw`, C_out x C_in x 3 x 3)
    /// from the input `x` and the output gradient `dy` (kernels/conv2d_weight_grad.wgsl, an
    /// implicit GEMM over k = n h w). With k split (`weight_grad_split`) the ranges' partial sums
    /// go to a scratch buffer and conv2d_weight_grad_sum.wgsl adds them in order into `dw`;
    /// unsplit, the one pass writes `dw`.
    pub(crate) fn encode_conv2d_weight_grad(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        s: ConvShape,
        x: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dw: &wgpu::Buffer,
    ) {
        let k = &self.kernels;
        let (rows, cols) = weight_grad_tile(s.c_out);
        let kernel = match rows {
            16 => &k.conv2d_weight_grad_16,
            32 => &k.conv2d_weight_grad_32,
            64 => &k.conv2d_weight_grad,
            _ => &k.conv2d_weight_grad_128,
        }
        .get(&self.device);
        let (splits, chunk) = weight_grad_split(s);
        let (col_tiles, row_tiles) = ((9 * s.c_in).div_ceil(cols), s.c_out.div_ceil(rows));
        let dims = [
            s.n, s.c_in, s.c_out, s.h, s.w, chunk, splits, col_tiles, row_tiles,
        ]
        .map(|v| v as u32);
        let groups = grid(col_tiles * row_tiles * splits, 1);
        if splits == 1 {
            self.encode(encoder, kernel, &dims, &[x, dy, dw], groups);
            return;
        }
        let len = s.w_len();
        let part = self.resident("weight gradient partial sums", splits * len, None);
        self.encode(encoder, kernel, &dims, &[x, dy, &part], groups);
        self.encode(
            encoder,
            k.conv2d_weight_grad_sum.get(&self.device),
            &[len as u32, splits as u32],
            &[&part, dw],
            grid(len, 256),
        );
    }

    /// Run `kernel` with `dims` as its uniform (binding 0), `inputs` as read-only storage
    /// (bindings 1..), and an output of `out_len` floats (the last binding); read the output back.
    pub(crate) async fn run(
        &self,
        kernel: &Kernel,
        dims: &[u32],
        inputs: &[&[f32]],
        out_len: usize,
        groups: (u32, u32, u32),
    ) -> Result<Vec<f32>, GpuError> {
        self.run_passes(&[(kernel, dims.to_vec(), groups)], inputs, out_len, out_len)
            .await
    }

    /// Run `passes` in order over the same bindings (one command buffer): `dims` of each as its
    /// uniform, `inputs` as storage (bindings 1..), an output of `out_len` floats (the last
    /// binding); read back its first `read_len` floats.
    pub(crate) async fn run_passes(
        &self,
        passes: &[Pass<'_>],
        inputs: &[&[f32]],
        out_len: usize,
        read_len: usize,
    ) -> Result<Vec<f32>, GpuError> {
        self.check_alive()?;
        let name = passes.first().map_or("kernel", |p| p.0.name);
        self.fits(name, inputs.iter().map(|i| i.len()).chain([out_len]))?;
        let buffers: Vec<wgpu::Buffer> = inputs.iter().map(|d| self.storage(name, d)).collect();
        let out = self.output(name, out_len);
        let mut bindings: Vec<&wgpu::Buffer> = buffers.iter().collect();
        bindings.push(&out);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(name) });
        for (kernel, dims, groups) in passes {
            self.encode(&mut encoder, kernel, dims, &bindings, *groups);
        }
        self.submit_and_read(encoder, &out, read_len.min(out_len))
            .await
    }

    pub async fn relu(&self, x: &[f32]) -> Result<Vec<f32>, GpuError> {
        self.run(
            &self.kernels.relu,
            &[x.len() as u32, 0],
            &[x, x],
            x.len(),
            grid(x.len(), 256),
        )
        .await
    }

    pub async fn relu_backward(&self, x: &[f32], dy: &[f32]) -> Result<Vec<f32>, GpuError> {
        same_len("relu_backward", x.len(), dy.len())?;
        self.run(
            &self.kernels.relu,
            &[x.len() as u32, 1],
            &[x, dy],
            x.len(),
            grid(x.len(), 256),
        )
        .await
    }

    pub async fn conv2d(
        &self,
        x: &[f32],
        weight: &[f32],
        s: ConvShape,
    ) -> Result<Vec<f32>, GpuError> {
        same_len("conv2d input", x.len(), s.x_len())?;
        same_len("conv2d weight", weight.len(), s.w_len())?;
        let (kernel, dims, groups) = conv_pass(&self.kernels, s, false);
        self.run(kernel, &dims, &[x, weight], s.y_len(), groups)
            .await
    }

    /// The input gradient: the forward kernel with the weights read flipped and transposed.
    pub async fn conv2d_backward_input(
        &self,
        dy: &[f32],
        weight: &[f32],
        s: ConvShape,
    ) -> Result<Vec<f32>, GpuError> {
        same_len("conv2d dy", dy.len(), s.y_len())?;
        same_len("conv2d weight", weight.len(), s.w_len())?;
        let (kernel, dims, groups) = conv_pass(&self.kernels, s, true);
        self.run(kernel, &dims, &[dy, weight], s.x_len(), groups)
            .await
    }

    /// Invalid when a buffer of any of `lens` floats would pass this adapter's storage binding
    /// limit.
    fn fits(&self, name: &str, lens: impl IntoIterator<Item = usize>) -> Result<(), GpuError> {
        let limit = self.info.max_storage_buffer_binding_size as usize / 4;
        if lens.into_iter().any(|l| l > limit) {
            return Err(GpuError::Invalid(format!(
                "{name}: data exceed this adapter's buffer limit"
            )));
        }
        Ok(())
    }

    /// The weight gradient dW[o,c,i,j] = sum over n, h, w of dy[n,o,h,w] x[n,c,h+i-1,w+j-1].
    pub async fn conv2d_backward_weight(
        &self,
        x: &[f32],
        dy: &[f32],
        s: ConvShape,
    ) -> Result<Vec<f32>, GpuError> {
        same_len("conv2d input", x.len(), s.x_len())?;
        same_len("conv2d dy", dy.len(), s.y_len())?;
        self.check_alive()?;
        let name = "conv2d weight gradient";
        let (ranges, _) = weight_grad_split(s);
        let scratch = if ranges > 1 { ranges * s.w_len() } else { 0 };
        self.fits(name, [x.len(), dy.len(), s.w_len(), scratch])?;
        let (x, dy) = (self.storage(name, x), self.storage(name, dy));
        let dw = self.output(name, s.w_len());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(name) });
        self.encode_conv2d_weight_grad(&mut encoder, s, &x, &dy, &dw);
        self.submit_and_read(encoder, &dw, s.w_len()).await
    }

    /// 2 x 2 max-pooling over `planes` planes of h x w: (values, arg-max input indices).
    pub async fn maxpool2x2(
        &self,
        x: &[f32],
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<(Vec<f32>, Vec<u32>), GpuError> {
        same_len("maxpool input", x.len(), planes * h * w)?;
        let n = planes * (h / 2) * (w / 2);
        let out = self
            .run(
                &self.kernels.maxpool,
                &[planes as u32, h as u32, w as u32],
                &[x],
                2 * n,
                grid(n, 256),
            )
            .await?;
        Ok((
            out[..n].to_vec(),
            out[n..].iter().map(|&v| v as u32).collect(),
        ))
    }

    pub async fn maxpool2x2_backward(
        &self,
        dy: &[f32],
        argmax: &[u32],
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<f32>, GpuError> {
        same_len("maxpool dy", dy.len(), planes * (h / 2) * (w / 2))?;
        same_len("maxpool argmax", argmax.len(), dy.len())?;
        let arg: Vec<f32> = argmax.iter().map(|&a| a as f32).collect();
        let len = planes * h * w;
        self.run(
            &self.kernels.maxpool_backward,
            &[planes as u32, h as u32, w as u32, 0],
            &[dy, &arg],
            len,
            grid(len, 256),
        )
        .await
    }

    /// Per-channel mean and biased variance of an NCHW tensor.
    pub async fn batchnorm_stats(
        &self,
        x: &[f32],
        n: usize,
        c: usize,
        hw: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        same_len("batchnorm input", x.len(), n * c * hw)?;
        let out = self
            .run(
                &self.kernels.bn_stats,
                &[n as u32, c as u32, hw as u32],
                &[x],
                2 * c,
                (c as u32, 1, 1),
            )
            .await?;
        Ok((out[..c].to_vec(), out[c..].to_vec()))
    }

    /// Mean softmax cross-entropy of logits (N x K) and its gradient.
    pub async fn softmax_cross_entropy(
        &self,
        logits: &[f32],
        labels: &[u32],
        k: usize,
    ) -> Result<(f32, Vec<f32>), GpuError> {
        let n = labels.len();
        same_len("logits", logits.len(), n * k)?;
        if labels.iter().any(|&y| y as usize >= k) {
            return Err(GpuError::Invalid(format!("a label is not below {k}")));
        }
        let y: Vec<f32> = labels.iter().map(|&v| v as f32).collect();
        let out = self
            .run(
                &self.kernels.softmax_ce,
                &[n as u32, k as u32],
                &[logits, &y],
                n * k + n,
                grid(n, 64),
            )
            .await?;
        let loss = out[n * k..].iter().map(|&v| v as f64).sum::<f64>() / n.max(1) as f64;
        Ok((loss as f32, out[..n * k].to_vec()))
    }

    /// One SGD-with-momentum step: (new weights, new velocities).
    pub async fn sgd_momentum(
        &self,
        w: &[f32],
        g: &[f32],
        v: &[f32],
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        same_len("gradient", g.len(), w.len())?;
        same_len("velocity", v.len(), w.len())?;
        let dims = [w.len() as u32, f(lr), f(momentum), f(weight_decay)];
        let out = self
            .run(
                &self.kernels.sgd,
                &dims,
                &[w, g, v],
                2 * w.len(),
                grid(w.len(), 256),
            )
            .await?;
        Ok((out[..w.len()].to_vec(), out[w.len()..].to_vec()))
    }

    /// Gradient through a = relu(gamma x_hat + beta) with fixed (running) statistics, given da
    /// (NCHW, index (b C + ch) HW + i): dy = da [y > 0], dz = dy gamma / sqrt(var + eps),
    /// dgamma[ch] = sum over N, HW of dy x_hat, dbeta[ch] = sum of dy. Returns (dz, dgamma, dbeta).
    /// CPU reference: `glassbox_lab::vision::nn::relu_batchnorm_backward_eval`.
    #[allow(clippy::too_many_arguments)]
    pub async fn relu_batchnorm_backward_eval(
        &self,
        da: &[f32],
        y: &[f32],
        x_hat: &[f32],
        gamma: &[f32],
        var: &[f32],
        n: usize,
        c: usize,
        hw: usize,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        let len = n
            .checked_mul(c)
            .and_then(|v| v.checked_mul(hw))
            .ok_or_else(|| GpuError::Invalid(format!("{n} x {c} x {hw} values overflow")))?;
        same_len("batchnorm da", da.len(), len)?;
        same_len("batchnorm y", y.len(), len)?;
        same_len("batchnorm x_hat", x_hat.len(), len)?;
        same_len("batchnorm gamma", gamma.len(), c)?;
        same_len("batchnorm variance", var.len(), c)?;
        if c > 65_535 {
            return Err(GpuError::Invalid(format!(
                "batchnorm has {c} channels, at most 65535 (one workgroup each)"
            )));
        }
        let gv = [gamma, var].concat();
        let dims = [
            n as u32,
            c as u32,
            hw as u32,
            f(glassbox_lab::vision::nn::BN_EPS),
        ];
        let out = self
            .run(
                &self.kernels.bn_backward_eval,
                &dims,
                &[da, y, x_hat, &gv],
                len + 2 * c,
                (c as u32, 1, 1),
            )
            .await?;
        Ok((
            out[..len].to_vec(),
            out[len..len + c].to_vec(),
            out[len + c..].to_vec(),
        ))
    }

    /// One Adam step (PyTorch's `Adam(weight_decay=wd)`) on one tensor, element-wise:
    /// g <- g + wd theta, m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    /// theta <- theta - lr c (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), with b1, b2 and eps
    /// those of `glassbox_lab::shift::suffix` (0.9, 0.999, 1e-8), c = `multiplier` and t = `step`
    /// (1-based). The constants 1 - b and the bias corrections are computed here in f64; the kernel
    /// works in f32. Returns (theta, m, v). CPU reference: `glassbox_lab::shift::suffix::Adam::step`.
    #[allow(clippy::too_many_arguments)]
    pub async fn adam(
        &self,
        theta: &[f32],
        grad: &[f32],
        m: &[f32],
        v: &[f32],
        lr: f32,
        multiplier: f32,
        weight_decay: f32,
        step: i32,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), GpuError> {
        use glassbox_lab::shift::suffix::{ADAM_EPS, BETA1, BETA2};
        same_len("Adam gradient", grad.len(), theta.len())?;
        same_len("Adam first moment", m.len(), theta.len())?;
        same_len("Adam second moment", v.len(), theta.len())?;
        if step < 1 {
            return Err(GpuError::Invalid(format!(
                "Adam's step number is {step}; it counts from 1"
            )));
        }
        let len = theta.len();
        let dims = [
            len as u32,
            f((lr as f64 * multiplier as f64) as f32),
            f(weight_decay),
            f(BETA1 as f32),
            f((1.0 - BETA1) as f32),
            f(BETA2 as f32),
            f((1.0 - BETA2) as f32),
            f(ADAM_EPS as f32),
            f((1.0 - BETA1.powi(step)) as f32),
            f((1.0 - BETA2.powi(step)) as f32),
        ];
        let out = self
            .run(
                &self.kernels.adam,
                &dims,
                &[theta, grad, m, v],
                3 * len,
                grid(len, 256),
            )
            .await?;
        Ok((
            out[..len].to_vec(),
            out[len..2 * len].to_vec(),
            out[2 * len..].to_vec(),
        ))
    }

    /// Masked attention: (weights, outputs); `masked[i * t_k + j]` forbids query i to see key j.
    pub async fn attention(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        masked: &[bool],
        s: AttentionShape,
    ) -> Result<(Vec<f32>, Vec<f32>), GpuError> {
        same_len("queries", q.len(), s.q_len())?;
        same_len("keys", k.len(), s.k_len())?;
        same_len("values", v.len(), s.v_len())?;
        same_len("mask", masked.len(), s.t_q * s.t_k)?;
        let mask: Vec<f32> = masked.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
        let nw = s.batch * s.t_q * s.t_k;
        let dims = [s.batch, s.t_q, s.t_k, s.d, s.d_v].map(|v| v as u32);
        let out = self
            .run(
                &self.kernels.attention,
                &dims,
                &[q, k, v, &mask],
                nw + s.out_len(),
                grid(s.batch * s.t_q, 64),
            )
            .await?;
        Ok((out[..nw].to_vec(), out[nw..].to_vec()))
    }

    pub async fn kmeans_assign(&self, x: &[f32], centroids: &[f32]) -> Result<Vec<u32>, GpuError> {
        if centroids.is_empty() {
            return Err(GpuError::Invalid(
                "k-means needs at least one centroid".into(),
            ));
        }
        let dims = [x.len() as u32, centroids.len() as u32];
        let out = self
            .run(
                &self.kernels.kmeans_assign,
                &dims,
                &[x, centroids],
                x.len(),
                grid(x.len(), 256),
            )
            .await?;
        Ok(out.iter().map(|&v| v as u32).collect())
    }

    pub async fn kmeans_update(
        &self,
        x: &[f32],
        assignment: &[u32],
        centroids: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        same_len("assignment", assignment.len(), x.len())?;
        let a: Vec<f32> = assignment.iter().map(|&v| v as f32).collect();
        let dims = [x.len() as u32, centroids.len() as u32];
        self.run(
            &self.kernels.kmeans_update,
            &dims,
            &[x, &a, centroids],
            centroids.len(),
            grid(centroids.len(), 64),
        )
        .await
    }

    /// G = M M^T for a row-major M (rows x cols): the normal-equation product, on the matmul kernel.
    pub async fn gram(&self, m: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, GpuError> {
        let s = glassbox_lab::kernels::MatmulShape {
            b_transposed: true,
            ..glassbox_lab::kernels::MatmulShape::new(rows, cols, rows)
        };
        self.matmul(m, m, s).await
    }
}

fn same_len(what: &str, got: usize, want: usize) -> Result<(), GpuError> {
    if got == want {
        Ok(())
    } else {
        Err(GpuError::Invalid(format!(
            "{what} has {got} values, want {want}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::{weight_grad_split, KernelSources};
    use glassbox_lab::vision::nn::ConvShape;

    /// The built-in kernels file holds every WGSL file as written, less comments; a file from
    /// another build that lacks a kernel or a constant is refused with its name, not a panic.
    #[test]
    fn kernel_sources_come_from_the_kernels_file() {
        let built = KernelSources::built_in();
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/kernels"))
            .unwrap()
            .count();
        assert_eq!(built.0.len(), on_disk);
        let matmul = built.get("matmul.wgsl", &[("TX", 8), ("TY", 8)]).unwrap();
        assert!(matmul.contains("const TX: u32 = 8u;") && !matmul.contains("//"));
        assert!(built
            .get("none.wgsl", &[])
            .unwrap_err()
            .contains("none.wgsl"));
        let err = built.get("relu.wgsl", &[("TX", 8)]).unwrap_err();
        assert!(err.contains("relu.wgsl") && err.contains("TX"), "{err}");
        let foreign = glassbox_pack::seal("kernels", "== relu.wgsl\nfn main() {}\n");
        let refused = |file: &str| KernelSources::parse(file).err().unwrap_or_default();
        assert!(refused(&foreign).contains("another build"));
        assert!(refused(&foreign.replace("main", "mainx")).contains("damaged"));
    }

    fn shape(n: usize, c_in: usize, c_out: usize, size: usize) -> ConvShape {
        ConvShape {
            n,
            c_in,
            c_out,
            h: size,
            w: size,
        }
    }

    /// The split covers k exactly (the last range may be short, none is empty), in whole 16-deep
    /// slices, none over 16,384 long; short k is not split, long k with few tiles is, up to about
    /// 256 workgroups, and a long k is split however many tiles there are.
    #[test]
    fn the_weight_gradient_splits_long_k_over_few_tiles() {
        for (s, want) in [
            (shape(1, 3, 5, 7), 1),
            (shape(3, 17, 64, 7), 1),
            (shape(1, 1, 1, 1), 1),
            (shape(3, 17, 64, 32), 12),
            (shape(3, 3, 5, 32), 12),
            (shape(64, 16, 16, 32), 86),
            (shape(64, 64, 128, 4), 4),
            (shape(64, 2000, 16, 32), 4),
            (shape(1024, 1, 1, 32), 256),
        ] {
            let (ranges, chunk) = weight_grad_split(s);
            let k = s.n * s.h * s.w;
            assert_eq!(ranges, want, "{s:?}");
            assert_eq!(chunk % 16, 0, "{s:?}");
            assert!(chunk <= 16_384, "{s:?}");
            assert!(
                ranges * chunk >= k && (ranges - 1) * chunk < k.max(1),
                "{s:?}"
            );
        }
    }
}
