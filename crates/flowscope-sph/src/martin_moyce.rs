//! The dam break's reference data: Martin & Moyce (1952), the surge front of a collapsing water
//! column, series a = 2.25 in.

/// (T, Z) with T = t √(2g/a) and Z = front / a (distance from the left wall over the column
/// width).
pub const SURGE_FRONT: [(f64, f64); 6] = [
    (0.832, 1.217),
    (1.219, 1.474),
    (1.997, 2.292),
    (2.547, 2.995),
    (3.345, 4.134),
    (4.034, 4.944),
];
