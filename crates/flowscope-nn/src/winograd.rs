//! 3×3 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms
//! for Convolutional Neural Networks", CVPR 2016): each 2×2 block of outputs comes from a 4×4
//! block of inputs with 16 multiplications per channel pair instead of 36. The products are 16
//! matrix products `M_e = U_e · V_e`, one per position e of the 4×4 transformed tile, with
//! `U = G g Gᵀ` the transformed weights (`[16, co, ci]`) and `V = Bᵀ d B` the transformed
//! input tiles (`[16, ci, tiles]`); `Y = Aᵀ M A` gives the outputs. Any padding mode: the tiles
//! read the input through the same index tables as the direct convolution.

use crate::layers::{Conv2d, SharedOut, Taps, SCRATCH};
use crate::tensor::Tensor;

/// Tiles per task: the transformed input and products stay in the cache, and the products have
/// enough columns for the matrix kernel.
const TILES_PER_TASK: usize = 192;

/// Whether [`conv3x3`] computes this convolution: in wasm, for 3×3 kernels with stride and
/// dilation 1, enough channels that the saved multiplications outweigh the transforms, and
/// enough tiles in the batch for the products' matrix kernel (on a coarse level of one image
/// the direct route is faster). With wasm's 128-bit vectors this route made the benchmark UNet
/// 1.3–1.4× faster; natively, against AVX-512 matrix kernels, it was 3–19% slower, so native
/// builds keep the direct route.
pub(crate) fn applies(
    [n, ci, co]: [usize; 3],
    out: [usize; 2],
    conv: &Conv2d,
    kernel: [usize; 2],
) -> bool {
    cfg!(target_arch = "wasm32")
        && kernel == [3, 3]
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && ci >= 8
        && co >= 8
        && n * out[0].div_ceil(2) * out[1].div_ceil(2) >= MIN_TILES
}

/// The fewest tiles in a batch for which [`conv3x3`] is the faster route.
const MIN_TILES: usize = 64;

/// Writes the convolution of `x` `[n, ci, h, w]` with `weight` `[co, ci, 3, 3]` plus `bias`
/// into `target`, the room of an `[n, co, ho, wo]` output.
pub(crate) fn conv3x3(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&[f32]>,
    taps: &Taps,
    target: SharedOut,
) {
    let ([n, ci, h, w], co) = ([x.shape[0], x.shape[1], x.shape[2], x.shape[3]], weight.shape[0]);
    let [ho, wo] = taps.out;
    assert!(weight.len() >= co * ci * 9);
    let (tiles_y, tiles_x) = (ho.div_ceil(2), wo.div_ceil(2));
    let u = transformed_weights(weight, co, ci);
    // The input index of each of a tile's four rows (columns): padded position q = 2t + r is
    // output 2t + r - k's tap k, read through the direct convolution's tables.
    let source = |table: &[Option<usize>], size: usize, q: usize| -> Option<usize> {
        let o = q.min(size - 1);
        table.get(o * 3 + (q - o)).copied().flatten()
    };
    let col_sources: Vec<Option<usize>> =
        (0..2 * tiles_x + 2).map(|q| source(taps.cols, wo, q)).collect();
    // Tasks take consecutive tile rows of the whole batch (row R is batch entry R / tiles_y's
    // row R % tiles_y), so that a coarse level's products still have enough columns.
    let all_rows = n * tiles_y;
    let rows_per_task = (TILES_PER_TASK / tiles_x).clamp(1, all_rows);
    let rows_per_task = rows_per_task.min(all_rows.div_ceil(flowscope_parallel::threads())).max(1);
    flowscope_parallel::for_each(all_rows.div_ceil(rows_per_task), |task| {
        let first_row = task * rows_per_task;
        let rows = rows_per_task.min(all_rows - first_row);
        let tiles = rows * tiles_x;
        let entry_and_row = |r: usize| ((first_row + r) / tiles_y, (first_row + r) % tiles_y);
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            scratch.resize(16 * (ci + co) * tiles + 34 * tiles_x + 2, 0.0);
            let (v, rest) = scratch.split_at_mut(16 * ci * tiles);
            let (m, rest) = rest.split_at_mut(16 * co * tiles);
            let (padded, rest) = rest.split_at_mut(2 * tiles_x + 2);
            // One tile row at a time, as 16 rows of `tiles_x` values (one per tile): every
            // step below is a vector operation along the row.
            let (d, t) = rest.split_at_mut(16 * tiles_x);
            let lane = |k: usize| k * tiles_x..(k + 1) * tiles_x;
            for c in 0..ci {
                for r in 0..rows {
                    let (b, ty) = entry_and_row(r);
                    let channel = &x.data[(b * ci + c) * h * w..][..h * w];
                    for k in 0..4 {
                        // The tile row's input row k with its padding, then the four
                        // overlapping columns of every tile out of it.
                        match source(taps.rows, ho, 2 * ty + k) {
                            Some(sy) => {
                                let line = &channel[sy * w..][..w];
                                for (value, sx) in padded.iter_mut().zip(&col_sources) {
                                    *value = sx.map_or(0.0, |sx| line[sx]);
                                }
                            }
                            None => padded.fill(0.0),
                        }
                        let mut lanes =
                            d[lane(4 * k).start..lane(4 * k + 3).end].chunks_exact_mut(tiles_x);
                        let mut next = || lanes.next().expect("four lanes");
                        let (d0, d1, d2, d3) = (next(), next(), next(), next());
                        for (tx, window) in padded.windows(4).step_by(2).enumerate() {
                            (d0[tx], d1[tx], d2[tx], d3[tx]) =
                                (window[0], window[1], window[2], window[3]);
                        }
                    }
                    // t = Bᵀ d (over the tile's rows), then V = t B (over its columns).
                    for s in 0..4 {
                        let at = |k: usize| &d[lane(k * 4 + s)];
                        let (d0, d1, d2, d3) = (at(0), at(1), at(2), at(3));
                        combine(&mut t[lane(s)], d0, d2, |a, b| a - b);
                        combine(&mut t[lane(4 + s)], d1, d2, |a, b| a + b);
                        combine(&mut t[lane(8 + s)], d2, d1, |a, b| a - b);
                        combine(&mut t[lane(12 + s)], d1, d3, |a, b| a - b);
                    }
                    for i in 0..4 {
                        let at = |s: usize| &t[lane(i * 4 + s)];
                        let (t0, t1, t2, t3) = (at(0), at(1), at(2), at(3));
                        let out = |j: usize| (((i * 4 + j) * ci + c) * tiles + r * tiles_x)..;
                        combine(&mut v[out(0)][..tiles_x], t0, t2, |a, b| a - b);
                        combine(&mut v[out(1)][..tiles_x], t1, t2, |a, b| a + b);
                        combine(&mut v[out(2)][..tiles_x], t2, t1, |a, b| a - b);
                        combine(&mut v[out(3)][..tiles_x], t1, t3, |a, b| a - b);
                    }
                }
            }
            for e in 0..16 {
                // SAFETY: U_e is [co, ci] (rows 16·ci apart), V_e [ci, tiles] and M_e [co, tiles]
                // inside their buffers; M is this task's own.
                unsafe {
                    matrixmultiply::sgemm(
                        co,
                        ci,
                        tiles,
                        1.0,
                        u[e * ci..].as_ptr(),
                        (16 * ci) as isize,
                        1,
                        v[e * ci * tiles..].as_ptr(),
                        tiles as isize,
                        1,
                        0.0,
                        m[e * co * tiles..].as_mut_ptr(),
                        tiles as isize,
                        1,
                    )
                };
            }
            // Y = Aᵀ M A, a tile row at a time: p = M A (over the tile's columns), then Aᵀ p.
            let (p, y) = t.split_at_mut(8 * tiles_x);
            for o in 0..co {
                for r in 0..rows {
                    let at = |e: usize| &m[(e * co + o) * tiles + r * tiles_x..][..tiles_x];
                    for i in 0..4 {
                        let (m0, m1, m2, m3) =
                            (at(i * 4), at(i * 4 + 1), at(i * 4 + 2), at(i * 4 + 3));
                        for (tx, value) in p[lane(i * 2)].iter_mut().enumerate() {
                            *value = m0[tx] + m1[tx] + m2[tx];
                        }
                        for (tx, value) in p[lane(i * 2 + 1)].iter_mut().enumerate() {
                            *value = m1[tx] - m2[tx] - m3[tx];
                        }
                    }
                    for dx in 0..2 {
                        let at = |i: usize| &p[lane(i * 2 + dx)];
                        let (p0, p1, p2, p3) = (at(0), at(1), at(2), at(3));
                        for (tx, value) in y[lane(dx)].iter_mut().enumerate() {
                            *value = p0[tx] + p1[tx] + p2[tx];
                        }
                        for (tx, value) in y[lane(2 + dx)].iter_mut().enumerate() {
                            *value = p1[tx] - p2[tx] - p3[tx];
                        }
                    }
                    for dy in 0..2 {
                        let (b, ty) = entry_and_row(r);
                        let oy = 2 * ty + dy;
                        if oy >= ho {
                            break;
                        }
                        let row = target.at(((b * co + o) * ho + oy) * wo);
                        let bias = bias.map_or(0.0, |bias| bias[o]);
                        let (y0, y1) = (&y[lane(dy * 2)], &y[lane(dy * 2 + 1)]);
                        for (ox, value) in (0..wo).map(|ox| (ox, [y0, y1][ox % 2][ox / 2])) {
                            // SAFETY: output row oy of batch entry b, channel o, in this task's
                            // rows; each value written once.
                            unsafe { row.add(ox).write(bias + value) };
                        }
                    }
                }
            }
        });
    });
}

/// `out[k] = f(a[k], b[k])` along a row of tiles.
fn combine(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((out, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *out = f(a, b);
    }
}

/// `U = G g Gᵀ` for every (output, input) channel pair, as `[co, 16, ci]`: U_e is the
/// `[co, ci]` matrix with rows 16·ci apart from offset e·ci. Worked out per output channel on
/// all threads.
fn transformed_weights(weight: &Tensor, co: usize, ci: usize) -> Vec<f32> {
    let mut u = vec![0.0f32; 16 * co * ci];
    flowscope_parallel::for_each_chunk_mut(&mut u, 16 * ci, |o, u| {
        for (c, g) in weight.data[o * ci * 9..][..ci * 9].chunks(9).enumerate() {
            // G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]], on the rows then the columns.
            let spread = |a: f32, b: f32, c: f32| [a, (a + b + c) * 0.5, (a - b + c) * 0.5, c];
            let columns: [[f32; 4]; 3] = std::array::from_fn(|k| spread(g[k], g[3 + k], g[6 + k]));
            for i in 0..4 {
                let row = spread(columns[0][i], columns[1][i], columns[2][i]);
                for (j, value) in row.into_iter().enumerate() {
                    u[(i * 4 + j) * ci + c] = value;
                }
            }
        }
    });
    u
}

#[cfg(test)]
mod tests {
    use crate::layers::{taps, PaddingMode, SharedOut, Taps};
    use crate::tensor::Tensor;

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut state = seed;
        let data = (0..shape.iter().product::<usize>())
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect();
        Tensor::new(shape.to_vec(), data).unwrap()
    }

    /// The convolution by its definition, in f64.
    fn by_definition(x: &Tensor, weight: &Tensor, pad: usize, mode: PaddingMode) -> Vec<f64> {
        let [n, ci, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
        let co = weight.shape[0];
        let (ho, wo) = (h + 2 * pad - 2, w + 2 * pad - 2);
        let source = |i: isize, size: usize| -> Option<usize> {
            let size = size as isize;
            match mode {
                _ if (0..size).contains(&i) => Some(i as usize),
                PaddingMode::Zeros => None,
                PaddingMode::Replicate => Some(i.clamp(0, size - 1) as usize),
                PaddingMode::Circular => Some(i.rem_euclid(size) as usize),
            }
        };
        let mut out = Vec::new();
        for b in 0..n {
            for o in 0..co {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut sum = 0.0;
                        for c in 0..ci {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let sy = source((oy + ky) as isize - pad as isize, h);
                                    let sx = source((ox + kx) as isize - pad as isize, w);
                                    if let (Some(sy), Some(sx)) = (sy, sx) {
                                        let g = weight.data[((o * ci + c) * 3 + ky) * 3 + kx];
                                        let v = x.data[((b * ci + c) * h + sy) * w + sx];
                                        sum += f64::from(g) * f64::from(v);
                                    }
                                }
                            }
                        }
                        out.push(sum);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn winograd_convolutions_match_the_definition() {
        let cases = [
            ([2, 8, 7, 10], 9, 1, PaddingMode::Zeros),
            ([1, 12, 6, 5], 8, 0, PaddingMode::Zeros),
            ([1, 8, 5, 9], 16, 1, PaddingMode::Replicate),
            ([2, 9, 8, 6], 8, 2, PaddingMode::Circular),
            ([1, 8, 1, 1], 8, 1, PaddingMode::Zeros),
            ([2, 8, 17, 20], 8, 1, PaddingMode::Zeros),
        ];
        for (k, ([n, ci, h, w], co, pad, mode)) in cases.into_iter().enumerate() {
            let x = random(&[n, ci, h, w], 2 * k as u64 + 1);
            let weight = random(&[co, ci, 3, 3], 2 * k as u64 + 2);
            let bias = random(&[co], 99);
            let (ho, wo) = (h + 2 * pad - 2, w + 2 * pad - 2);
            // Called directly: conv2d takes this route only in wasm and on large enough inputs.
            let rows = taps(ho, 3, h, 1, pad, 1, mode);
            let cols = taps(wo, 3, w, 1, pad, 1, mode);
            let taps = Taps { rows: &rows, cols: &cols, kernel: [3, 3], out: [ho, wo] };
            // NaN where nothing is written.
            let mut y = vec![f32::NAN; n * co * ho * wo];
            super::conv3x3(&x, &weight, Some(&bias.data), &taps, SharedOut(y.as_mut_ptr()));
            let expected = by_definition(&x, &weight, pad, mode);
            let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (&got, want)) in y.iter().zip(&expected).enumerate() {
                let want = want + f64::from(bias.data[i / (ho * wo) % co]);
                let error = (f64::from(got) - want).abs() / scale;
                assert!(error < 2e-6, "case {k}, output {i}: {got} against {want}");
            }
        }
    }
}
