//! The WGSL twins of the particle solvers, in f32 on the shared device: [`GpuWcsph`]
//! (`shaders/sph/wcsph.wgsl`), [`GpuDfsph`] (`shaders/sph/dfsph.wgsl`) and [`GpuGas1d`]
//! (`shaders/sph/gas1d.wgsl`). All rebuild the neighbour grid on the device by a counting sort
//! (`shaders/sph/sort.wgsl`, appended to each); the 2D ones also draw their views there
//! (`shaders/sph/particles.wgsl`). Nothing comes back per step.

mod dfsph;
mod gas1d;
mod wcsph;

pub use dfsph::{DfsphMirror, GpuDfsph};
pub use gas1d::{Gas1dMirror, GpuGas1d, GAS_VIEWS, STRIP_POINTS};
pub use wcsph::{GpuWcsph, Mirror};

use crate::fluid2d::cell_list;
use crate::tank::Tank;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};

/// The counting sort every particle solver's shader appends.
const SORT: &str = include_str!("../../../../shaders/sph/sort.wgsl");
/// The 2D kernels and views the 2D solvers' shaders append.
const PARTICLES: &str = include_str!("../../../../shaders/sph/particles.wgsl");

/// A 2D solver's shader with the parts it shares.
fn source_2d(solver: &str) -> String {
    format!("{solver}\n{SORT}\n{PARTICLES}")
}
const GROUP: u32 = 64;

/// The views the GPU draws, in the order of `Image::quantity`.
pub const VIEWS: [&str; 4] = ["speed", "pressure", "density", "neighbours"];

/// Pixel size and particle disc radius of the views of a tank: two pixels per particle spacing
/// and discs of 0.75 spacings, but at most 2048 pixels across (bigger fluids draw smaller).
pub fn view_raster(tank: &Tank) -> (f64, f64) {
    let pixel = (0.5 * tank.dx).max(tank.width / 2048.0);
    (pixel, (0.75 * tank.dx).max(0.75 * pixel))
}

fn flat(points: &[[f64; 2]]) -> Vec<[f32; 2]> {
    points.iter().map(|p| [p[0] as f32, p[1] as f32]).collect()
}

/// The geometry of a tank's neighbour grid for support `radius`: lower corner, cell size and
/// cells along each axis, as the CPU's cell list has it.
fn grid_geometry(tank: &Tank, radius: f64) -> ([f32; 2], [f32; 2], [u32; 2]) {
    let (lo, cell, dims) = cell_list(tank, radius, &[]).geometry();
    (
        [lo[0] as f32, lo[1] as f32],
        [cell[0] as f32, cell[1] as f32],
        [dims[0] as u32, dims[1] as u32],
    )
}

/// The counting sort's buffers (sort.wgsl, bindings 9 to 13).
struct Grid {
    cells: usize,
    cell_of: wgpu::Buffer,
    rank: wgpu::Buffer,
    counts: wgpu::Buffer,
    start: wgpu::Buffer,
    order: wgpu::Buffer,
}

impl Grid {
    fn new(device: &wgpu::Device, n_all: usize, dims: [u32; 2]) -> Self {
        let cells = (dims[0] * dims[1]) as usize;
        Self {
            cells,
            cell_of: buffers::storage_zeros(device, "sph cell", n_all),
            rank: buffers::storage_zeros(device, "sph rank", n_all),
            counts: buffers::storage_zeros(device, "sph counts", cells + 1),
            start: buffers::storage_zeros(device, "sph start", cells + 1),
            order: buffers::storage_zeros(device, "sph order", n_all),
        }
    }

    /// The dispatches that sort the `n_all` particles of `pos` into the grid.
    fn sort(
        &self,
        program: &mut Program,
        uniform: &wgpu::Buffer,
        pos: &wgpu::Buffer,
        n_all: usize,
    ) -> Vec<Op> {
        let u = uniform;
        vec![
            program.op_1d("clear_counts", &[(0, u), (11, &self.counts)], self.cells + 1, GROUP),
            program.op_1d(
                "count_cells",
                &[(0, u), (1, pos), (9, &self.cell_of), (10, &self.rank), (11, &self.counts)],
                n_all,
                GROUP,
            ),
            program.op("scan", &[(0, u), (11, &self.counts), (12, &self.start)], [1, 1, 1]),
            program.op_1d(
                "scatter",
                &[
                    (0, u),
                    (9, &self.cell_of),
                    (10, &self.rank),
                    (12, &self.start),
                    (13, &self.order),
                ],
                n_all,
                GROUP,
            ),
        ]
    }
}

/// Mirrors `Image` in particles.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Image {
    nx: u32,
    ny: u32,
    pixel: f32,
    radius: f32,
    quantity: u32,
    _pad: [u32; 3],
}

/// The particle views of a fluid: per view, the dispatches that draw it into `pixels`.
struct Views {
    ops: Vec<Vec<Op>>,
    /// Each view's image layout and the uniform holding it (the disc radius changes).
    uniforms: Vec<(wgpu::Buffer, Image)>,
    pixels: wgpu::Buffer,
    /// Image size (columns, rows).
    image: (u32, u32),
}

impl Views {
    /// Views of a fluid in `tank`: `before` (what makes the grid match the current positions),
    /// then the splat with the solver's `bindings` (its uniform, particles, the sorted grid and
    /// whatever its `quantity_of` reads).
    fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        program: &mut Program,
        tank: &Tank,
        before: &[Op],
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Self {
        let (pixel, disc) = view_raster(tank);
        let image = (
            ((tank.width / pixel).ceil() as u32).max(1),
            ((tank.height / pixel).ceil() as u32).max(1),
        );
        let size = (image.0 * image.1) as usize;
        let pixels = buffers::storage_zeros(device, "sph view", size);
        let (ops, uniforms) = (0..VIEWS.len() as u32)
            .map(|quantity| {
                let layout = Image {
                    nx: image.0,
                    ny: image.1,
                    pixel: pixel as f32,
                    radius: disc as f32,
                    quantity,
                    _pad: [0; 3],
                };
                let uniform = buffers::uniform_from(device, queue, "sph image", &layout);
                let mut all = bindings.to_vec();
                all.extend([(18, &uniform), (19, &pixels)]);
                let mut ops = before.to_vec();
                ops.push(program.op_1d("splat", &all, size, GROUP));
                (ops, (uniform, layout))
            })
            .unzip();
        Self { ops, uniforms, pixels, image }
    }

    /// Draws view `name` and returns the image buffer (`image.0 × image.1` f32, NaN where there
    /// is no fluid).
    fn draw(&self, ctx: &GpuContext, name: &str) -> Option<&wgpu::Buffer> {
        let k = VIEWS.iter().position(|v| *v == name)?;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encode(&mut encoder, &self.ops[k]);
        ctx.queue.submit([encoder.finish()]);
        Some(&self.pixels)
    }

    /// Discs `scale` times the default size (at most 2: the splat looks for particles in the
    /// neighbouring cells only).
    fn set_disc_scale(&self, queue: &wgpu::Queue, scale: f64) {
        for (buffer, layout) in &self.uniforms {
            let scaled = Image { radius: layout.radius * scale.clamp(0.25, 2.0) as f32, ..*layout };
            queue.write_buffer(buffer, 0, bytemuck::bytes_of(&scaled));
        }
    }
}

/// Writes a solver's `params` (with this batch's dt) and submits `n` steps of its dispatches,
/// one command buffer each.
fn submit_steps(
    ctx: &GpuContext,
    uniform: &wgpu::Buffer,
    params: &impl bytemuck::Pod,
    step_ops: &[Op],
    n: u32,
) {
    ctx.queue.write_buffer(uniform, 0, bytemuck::bytes_of(params));
    for _ in 0..n {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encode(&mut encoder, step_ops);
        ctx.queue.submit([encoder.finish()]);
    }
}

/// The smallest and largest of `values`, if any is finite.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f32, f32)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    (lo <= hi).then_some((lo as f32, hi as f32))
}
