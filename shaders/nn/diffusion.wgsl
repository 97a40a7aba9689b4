// Diffusion sampling on the GPU, the twin of crates/flowscope-nn/src/diffusion.rs: the seeded
// counter-based noise, the reverse step x ← a·x + b·ε + σ·z (or its x₀-clipped form) in place
// on the sample that the network reads next, ACDM's condition noised to each step's level, and
// SMDP's backward step (crates/flowscope-nn/src/smdp.rs).

struct Step {
    len: u32, per_sample: u32, draw: u32,
    // A sample's stride in the conditioning (noised_condition only).
    stride: u32,
    a: f32, b: f32, sigma: f32,
    // x₀ clipping (reverse_step only; 0: none): x̂₀ = clamp(p·x + q·ε, ±limit), then
    // x ← c0·x̂₀ + c1·x + σ·z.
    limit: f32, p: f32, q: f32, c0: f32, c1: f32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> eps: array<f32>;
@group(0) @binding(2) var<storage, read> seeds: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
// SMDP: the physics stepped back, B(x).
@group(0) @binding(4) var<storage, read> inverse: array<f32>;

// PCG output permutation (Jarzynski & Olano 2020), as `diffusion::normal` hashes.
fn pcg(v_in: u32) -> u32 {
    let v = v_in * 747796405u + 2891336453u;
    let word = ((v >> ((v >> 28u) + 4u)) ^ v) * 277803737u;
    return (word >> 22u) ^ word;
}

// A standard normal number for (seed, draw, index): two hashed uniforms, Box–Muller.
fn normal(seed: u32, draw: u32, index: u32) -> f32 {
    let a = pcg(seed ^ pcg(draw ^ pcg(index * 2u)));
    let b = pcg(seed ^ pcg(draw ^ pcg((index * 2u) | 1u)));
    let u1 = (f32(a >> 8u) + 1.0) / 16777216.0;
    let u2 = f32(b >> 8u) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// x = noise draw 0: the start of the reverse process.
@compute @workgroup_size(64)
fn initial_noise(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= step.len) { return; }
    x[k] = normal(seeds[k / step.per_sample], 0u, k % step.per_sample);
}

@compute @workgroup_size(64)
fn reverse_step(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= step.len) { return; }
    var z = 0.0;
    if (step.sigma != 0.0) {
        z = normal(seeds[k / step.per_sample], step.draw, k % step.per_sample);
    }
    if (step.limit > 0.0) {
        let x0 = clamp(step.p * x[k] + step.q * eps[k], -step.limit, step.limit);
        x[k] = step.c0 * x0 + step.c1 * x[k] + step.sigma * z;
    } else {
        x[k] = step.a * x[k] + step.b * eps[k] + step.sigma * z;
    }
}

// The condition at the step's noise level (ACDM): the leading channels of each sample's
// conditioning become a·x₀ + b·z (a = √ᾱ, b = √(1 − ᾱ)). Here `eps`'s binding holds x₀ and
// `x`'s the whole conditioning, whose further channels (Re) stay as they are.
@compute @workgroup_size(64)
fn noised_condition(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= step.len) { return; }
    let sample = k / step.per_sample;
    let i = k % step.per_sample;
    x[sample * step.stride + i] = step.a * eps[k] + step.b * normal(seeds[sample], step.draw, i);
}

// SMDP's backward step x ← B(x) + a·c + σ·z (a = Δt for the SDE, ½Δt for the ODE, whose σ is 0):
// `eps`'s binding holds the network's correction c.
@compute @workgroup_size(64)
fn smdp_step(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x + id.y * 65535u * 64u;
    if (k >= step.len) { return; }
    var z = 0.0;
    if (step.sigma != 0.0) {
        z = normal(seeds[k / step.per_sample], step.draw, k % step.per_sample);
    }
    x[k] = inverse[k] + step.a * eps[k] + step.sigma * z;
}
