//! Colormaps as 256-entry lookup tables, shared by every renderer and the colorbar so that the
//! picture and its legend always agree.
//!
//! viridis and inferno use the degree-6 polynomial fits of the matplotlib maps (Matt Zucker's
//! fit, public domain); coolwarm interpolates Moreland's diverging control points.

/// Names accepted by [`lut`], the first being the default.
pub const NAMES: &[&str] = &["viridis", "inferno", "coolwarm"];

const VIRIDIS: [[f64; 3]; 7] = [
    [0.277_727_327_223_417_7, 0.005_407_344_544_966_578, 0.334_099_805_335_306_1],
    [0.105_093_043_108_577_4, 1.404_613_529_898_575, 1.384_590_162_594_685],
    [-0.330_861_828_725_556_3, 0.214_847_559_468_213, 0.095_095_163_028_236_59],
    [-4.634_230_498_983_486, -5.799_100_973_351_585, -19.332_440_956_279_87],
    [6.228_269_936_347_081, 14.179_933_366_805_09, 56.690_552_600_681_05],
    [4.776_384_997_670_288, -13.745_145_377_746_01, -65.353_032_633_372_34],
    [-5.435_455_855_934_631, 4.645_852_612_178_535, 26.312_435_249_583_2],
];

const INFERNO: [[f64; 3]; 7] = [
    [0.000_218_940_369_119_226_5, 0.001_651_004_631_001_012, -0.019_480_898_437_091_84],
    [0.106_513_419_485_611_6, 0.563_956_436_788_409_1, 3.932_712_388_889_277],
    [11.602_493_082_471_87, -3.972_853_965_665_698, -15.942_394_106_291_4],
    [-41.703_996_131_394_59, 17.436_398_882_053_13, 44.354_145_198_728_13],
    [77.162_935_699_427, -33.402_358_942_100_92, -81.807_309_257_389_93],
    [-71.319_428_244_992_14, 32.626_064_263_977_23, 73.209_519_858_032_02],
    [25.131_126_224_773_41, -12.242_668_952_385_67, -23.070_325_002_871_72],
];

const COOLWARM: [[f64; 3]; 5] = [
    [0.230, 0.299, 0.754],
    [0.552, 0.690, 0.996],
    [0.865, 0.865, 0.865],
    [0.958, 0.604, 0.482],
    [0.706, 0.016, 0.150],
];

fn polynomial(c: &[[f64; 3]; 7], t: f64) -> [f64; 3] {
    let mut rgb = [0.0; 3];
    for (k, out) in rgb.iter_mut().enumerate() {
        *out = c.iter().rev().fold(0.0, |acc, coef| acc * t + coef[k]);
    }
    rgb
}

fn piecewise(stops: &[[f64; 3]], t: f64) -> [f64; 3] {
    let x = t * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    std::array::from_fn(|k| stops[i][k] * (1.0 - f) + stops[i + 1][k] * f)
}

/// The colour of `t` in `[0, 1]` as 8-bit RGB.
pub fn color(name: &str, t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let rgb = match name {
        "inferno" => polynomial(&INFERNO, t),
        "coolwarm" => piecewise(&COOLWARM, t),
        _ => polynomial(&VIRIDIS, t),
    };
    rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// A 256-entry table, packed as `0xAABBGGRR` (little-endian RGBA8) for the GPU and `ImageData`.
pub fn lut(name: &str) -> [u32; 256] {
    std::array::from_fn(|i| {
        let [r, g, b] = color(name, i as f64 / 255.0);
        u32::from_le_bytes([r, g, b, 255])
    })
}

/// A CSS `linear-gradient` for the colorbar, from the same table.
pub fn css_gradient(name: &str, direction: &str) -> String {
    let stops: Vec<String> = (0..=16)
        .map(|k| {
            let t = k as f64 / 16.0;
            let [r, g, b] = color(name, t);
            format!("rgb({r},{g},{b}) {:.1}%", t * 100.0)
        })
        .collect();
    format!("linear-gradient({direction}, {})", stops.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_dark_purple_to_yellow() {
        let [r0, g0, b0] = color("viridis", 0.0);
        assert!(b0 > r0 && b0 > g0, "starts blue-purple: {r0} {g0} {b0}");
        let [r1, g1, b1] = color("viridis", 1.0);
        assert!(r1 > 200 && g1 > 200 && b1 < 80, "ends yellow: {r1} {g1} {b1}");
    }

    #[test]
    fn luminance_increases_along_sequential_maps() {
        for name in ["viridis", "inferno"] {
            let lum = |t| {
                let [r, g, b] = color(name, t);
                0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64
            };
            for k in 0..20 {
                let (a, b) = (k as f64 / 20.0, (k + 1) as f64 / 20.0);
                assert!(lum(b) >= lum(a) - 1.0, "{name} not monotone at {a}");
            }
        }
    }
}
