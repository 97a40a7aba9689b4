//! The resource budget: what a case may ask of the machine. Every case declares its cost from
//! its parameters ([`CaseSpec::cost`](crate::CaseSpec)) before it allocates anything, and the
//! front end checks it against a [`Budget`] (one place), so that a link or a message cannot ask
//! a browser tab for more cells, particles or memory than it survives. Work per frame is bounded
//! where it is done (sub-steps in the grid room, dispatches per command buffer, step slices).

use crate::{Backend, CaseError, CaseSpec, ParamValues};

/// What a case will allocate for its parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Grid cells (all grids of the case together).
    pub cells: u64,
    pub particles: u64,
    /// Bytes the case holds on the CPU (the WebAssembly memory in the browser), estimated from
    /// the arrays it keeps; a test holds the estimate to what the allocator sees.
    pub bytes: u64,
    /// The largest buffer the case binds on the GPU backend, in bytes (devices cap one binding,
    /// 128 MiB by WebGPU's default).
    pub gpu_buffer: u64,
    /// The parameters that set the size, named in a refusal.
    pub set_by: &'static [&'static str],
}

/// The largest device buffer per grid cell: two f32 components.
const GPU_BYTES_PER_CELL: u64 = 8;
/// The largest device buffer per particle: the neighbour listing, 64 u32 indices.
const GPU_BYTES_PER_PARTICLE: u64 = 256;

impl Cost {
    /// `cells` grid cells holding `bytes_per_cell` each, sized by the parameters `set_by`.
    pub fn grid(cells: u64, bytes_per_cell: u64, set_by: &'static [&'static str]) -> Self {
        Self {
            cells,
            bytes: cells.saturating_mul(bytes_per_cell),
            gpu_buffer: cells.saturating_mul(GPU_BYTES_PER_CELL),
            set_by,
            ..Self::default()
        }
    }

    /// `particles` particles holding `bytes_per_particle` each, sized by the parameters `set_by`.
    pub fn particles(
        particles: u64,
        bytes_per_particle: u64,
        set_by: &'static [&'static str],
    ) -> Self {
        Self {
            particles,
            bytes: particles.saturating_mul(bytes_per_particle),
            gpu_buffer: particles.saturating_mul(GPU_BYTES_PER_PARTICLE),
            set_by,
            ..Self::default()
        }
    }

    /// This cost with `bytes` more (model weights, fixed buffers).
    pub fn plus_bytes(self, bytes: u64) -> Self {
        Self { bytes: self.bytes.saturating_add(bytes), ..self }
    }

    /// Both costs together (a learned case and the solver beside it).
    pub fn and(self, other: Cost) -> Self {
        Self {
            cells: self.cells.saturating_add(other.cells),
            particles: self.particles.saturating_add(other.particles),
            bytes: self.bytes.saturating_add(other.bytes),
            gpu_buffer: self.gpu_buffer.max(other.gpu_buffer),
            set_by: if self.set_by.is_empty() { other.set_by } else { self.set_by },
        }
    }
}

/// The most a case may ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub cells: u64,
    pub particles: u64,
    pub bytes: u64,
    /// How many times the browser's default this is (1 for the default), for the refusal's
    /// advice.
    pub factor: f64,
}

/// The largest `?budget=` factor: 16× the default memory is 8 GiB, past what a 32-bit
/// WebAssembly module can address.
pub const MAX_FACTOR: f64 = 16.0;

impl Budget {
    /// No limit: the CLI, whose limits are the machine's.
    pub const UNLIMITED: Budget =
        Budget { cells: u64::MAX, particles: u64::MAX, bytes: u64::MAX, factor: f64::INFINITY };

    /// A browser tab's default, which a phone survives: 1024² cells (the largest square grid a
    /// case offers), 512 MiB, and particles by backend (the device steps more in the time the
    /// CPU takes; 500 k fill WebGPU's default 128 MiB binding with their neighbour lists).
    pub fn browser(backend: Backend) -> Self {
        let particles = match backend {
            Backend::Cpu => 200_000,
            Backend::Gpu => 500_000,
        };
        Self { cells: 1 << 20, particles, bytes: 512 << 20, factor: 1.0 }
    }

    /// This budget scaled by `factor` (clamped to 1/16 … [`MAX_FACTOR`]).
    pub fn times(self, factor: f64) -> Self {
        let factor = if factor.is_finite() { factor.clamp(1.0 / 16.0, MAX_FACTOR) } else { 1.0 };
        let scale = |x: u64| (x as f64 * factor) as u64;
        Self {
            cells: scale(self.cells),
            particles: scale(self.particles),
            bytes: scale(self.bytes),
            factor: self.factor * factor,
        }
    }

    /// Refuses `params` of `spec` when their cost is over this budget, naming the parameters
    /// that set the size and how to raise the budget.
    pub fn check(&self, spec: &CaseSpec, params: &ParamValues) -> Result<Cost, CaseError> {
        let cost = (spec.cost)(params);
        let over = [
            ("cells", cost.cells, self.cells),
            ("particles", cost.particles, self.particles),
            ("bytes", cost.bytes, self.bytes),
        ]
        .into_iter()
        .find(|(_, asked, allowed)| asked > allowed);
        let Some((what, asked, allowed)) = over else { return Ok(cost) };
        let needed = (asked as f64 / allowed as f64 * self.factor).ceil();
        let advice = if needed <= MAX_FACTOR {
            format!(", or open the page with ?budget={needed}")
        } else {
            String::new()
        };
        Err(CaseError::OverBudget(format!(
            "{}: {} asks for {} {what}, over this page's budget of {}; lower {}{advice}",
            spec.id,
            named(&cost, params),
            amount(asked, what),
            amount(allowed, what),
            cost.set_by.join(" or "),
        )))
    }
}

/// Refuses a cost whose largest GPU buffer is over `limit` bytes (the device's
/// `max_storage_buffer_binding_size`): wgpu would fail the case's first step, or natively
/// panic.
pub fn check_device(
    spec: &CaseSpec,
    params: &ParamValues,
    cost: &Cost,
    limit: u64,
) -> Result<(), CaseError> {
    if cost.gpu_buffer <= limit {
        return Ok(());
    }
    Err(CaseError::OverBudget(format!(
        "{}: {} needs a {} buffer on the GPU, over this device's limit of {}; lower {} or use \
         the CPU backend",
        spec.id,
        named(cost, params),
        amount(cost.gpu_buffer, "bytes"),
        amount(limit, "bytes"),
        cost.set_by.join(" or "),
    )))
}

/// The sizing parameters with their values: "n = 256 with width = 5".
fn named(cost: &Cost, params: &ParamValues) -> String {
    let named: Vec<String> = cost
        .set_by
        .iter()
        .map(|name| match params.get(name) {
            Some(value) => format!("{name} = {value}"),
            None => name.to_string(),
        })
        .collect();
    named.join(" with ")
}

/// `n` in the unit of `what`, short (MiB for bytes, M or k for counts).
fn amount(n: u64, what: &str) -> String {
    let n = n as f64;
    match what {
        "bytes" => format!("{:.0} MiB", n / (1u64 << 20) as f64),
        _ if n >= 1e6 => format!("{:.1} M", n / 1e6),
        _ if n >= 1e4 => format!("{:.0} k", n / 1e3),
        _ => format!("{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_scale_every_limit_and_stay_in_range() {
        let cpu = Budget::browser(Backend::Cpu);
        let doubled = cpu.times(2.0);
        assert_eq!(doubled.cells, 2 * cpu.cells);
        assert_eq!(doubled.particles, 2 * cpu.particles);
        assert_eq!(doubled.bytes, 2 * cpu.bytes);
        assert_eq!(cpu.times(1e9).factor, MAX_FACTOR);
        assert_eq!(cpu.times(f64::NAN), cpu);
    }

    #[test]
    fn amounts_read_as_a_person_writes_them() {
        assert_eq!(amount(3_276_800, "cells"), "3.3 M");
        assert_eq!(amount(200_000, "particles"), "200 k");
        assert_eq!(amount(512 << 20, "bytes"), "512 MiB");
    }
}
