//! Scalar fields on cell-centred grids, in the layout every export uses.
//!
//! Data is row-major `[j][i]`: `j` runs along y from the bottom (y = 0) upwards, `i` along x;
//! sample `(i, j)` sits at the cell centre `((i + 0.5) dx, (j + 0.5) dy)` from the domain origin.

use npyz::WriterBuilder;

/// `[[xmin, xmax], [ymin, ymax]]`.
pub type Domain = [[f64; 2]; 2];

#[derive(Clone, Debug, PartialEq)]
pub struct Field2 {
    pub nx: usize,
    pub ny: usize,
    pub data: Vec<f32>,
}

impl Field2 {
    pub fn zeros(nx: usize, ny: usize) -> Self {
        Self { nx, ny, data: vec![0.0; nx * ny] }
    }

    #[inline]
    pub fn index(&self, i: usize, j: usize) -> usize {
        j * self.nx + i
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.data[self.index(i, j)]
    }

    /// Smallest and largest finite values, or `None` if there are none.
    pub fn finite_range(&self) -> Option<(f32, f32)> {
        self.data.iter().filter(|v| v.is_finite()).fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
    }

    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    /// The field as a `.npy` file (contract, shared by the CLI and the browser export):
    /// little-endian f32, shape `[ny, nx]`, rows from the bottom.
    pub fn to_npy(&self) -> Vec<u8> {
        npy_f32(&[self.ny as u64, self.nx as u64], &self.data)
    }
}

/// `data` (row-major, C order) as a little-endian f32 `.npy` file of `shape`.
pub fn npy_f32(shape: &[u64], data: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(128 + 4 * data.len());
    let mut writer = npyz::WriteOptions::new()
        .dtype(npyz::DType::new_scalar("<f4".parse().expect("valid type string")))
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .expect("writing to memory cannot fail");
    writer.extend(data.iter().copied()).expect("writing to memory cannot fail");
    writer.finish().expect("writing to memory cannot fail");
    bytes
}

/// A little-endian f32 `.npy` file (C order, as [`npy_f32`] writes it): its shape and values.
pub fn read_npy_f32(bytes: &[u8]) -> Result<(Vec<u64>, Vec<f32>), String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a .npy file: {e}"))?;
    if npy.order() != npyz::Order::C {
        return Err("a Fortran-order .npy file; write it in C order".into());
    }
    match npy.dtype() {
        npyz::DType::Plain(t) if t.to_string() == "<f4" => {
            let shape = npy.shape().to_vec();
            // The header alone must not size an allocation: check it against the bytes first.
            let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
            match count {
                Some(count) if count.saturating_mul(4) <= bytes.len() as u64 => {}
                _ => {
                    return Err(format!(
                        "the header promises {shape:?} values, more than the file's {} bytes hold",
                        bytes.len()
                    ))
                }
            }
            Ok((shape, npy.into_vec::<f32>().map_err(|e| e.to_string())?))
        }
        other => Err(format!("{other:?} values; expected little-endian f32")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_shape_and_values() {
        let field = Field2 { nx: 3, ny: 2, data: vec![0.0, 1.0, 2.0, 3.0, 4.0, f32::NAN] };
        let bytes = field.to_npy();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 3]);
        let (shape, values) = read_npy_f32(&bytes).unwrap();
        assert_eq!((shape, values[4]), (vec![2, 3], 4.0));
        assert!(read_npy_f32(b"nope").is_err());
        let data: Vec<f32> = npy.into_vec().unwrap();
        assert_eq!(&data[..5], &field.data[..5]);
        assert!(data[5].is_nan());
    }

    /// A header promising 2⁴⁰ values over 8 bytes must not size an allocation.
    #[test]
    fn a_header_promising_more_than_the_file_holds_is_refused() {
        let bytes = npy_f32(&[2], &[1.0, 2.0]);
        // Version 1: magic and version (8 bytes), header length (2), the ASCII header, data.
        let (head, data) = bytes.split_at(bytes.len() - 8);
        let header = std::str::from_utf8(&head[10..]).unwrap();
        let (shape, huge) = ("(2, )", "(1099511627776, )");
        let padding = " ".repeat(huge.len() - shape.len());
        assert!(header.contains(shape) && header.contains(&padding), "{header:?}");
        let forged = header.replacen(shape, huge, 1).replacen(&padding, "", 1);
        let forged = [&head[..10], forged.as_bytes(), data].concat();
        assert_eq!(forged.len(), bytes.len());
        let error = read_npy_f32(&forged).unwrap_err();
        assert!(error.contains("promises"), "{error}");
    }
}
