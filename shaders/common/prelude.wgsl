// Shared helpers, prepended to every kernel by flowscope-gpu (shader::with_prelude).

// Index of cell (i, j) in a row-major [j][i] field with nx cells per row.
fn cell_index(i: u32, j: u32, nx: u32) -> u32 {
    return j * nx + i;
}

// Periodic neighbour: i + offset wrapped into [0, n).
fn wrap(i: u32, offset: i32, n: u32) -> u32 {
    return u32((i32(i) + offset + i32(n)) % i32(n));
}

// Shortest signed distance between two coordinates on a periodic axis of length l.
fn periodic_delta(a: f32, b: f32, l: f32) -> f32 {
    var d = a - b;
    d = d - l * round(d / l);
    return d;
}
