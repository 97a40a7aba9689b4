//! A dense f32 tensor in row-major order, PyTorch's layout: images are `[batch, channels,
//! height, width]`, sequences `[batch, channels, length]`, features `[batch, features]`.

use crate::NnError;

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The number of values of a tensor of `shape`; an error where the product overflows (a
/// wrapped product would let a huge shape pass with few values, and the layers' unchecked
/// indexing read past them).
pub fn elements(shape: &[usize]) -> Result<usize, NnError> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| {
        NnError::Shape(format!("a tensor of shape {shape:?} has more values than memory holds"))
    })
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, NnError> {
        let len = elements(&shape)?;
        if len != data.len() {
            return Err(NnError::Shape(format!(
                "a tensor of shape {shape:?} needs {len} values, got {}",
                data.len()
            )));
        }
        Ok(Self { shape, data })
    }

    pub fn zeros(shape: &[usize]) -> Self {
        Self { shape: shape.to_vec(), data: vec![0.0; shape.iter().product()] }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// `[n, c, h, w]` of an image batch, or an error naming what was expected.
    pub fn dims4(&self, what: &str) -> Result<[usize; 4], NnError> {
        <[usize; 4]>::try_from(self.shape.as_slice()).map_err(|_| {
            NnError::Shape(format!(
                "{what} expects [batch, channels, height, width], got {:?}",
                self.shape
            ))
        })
    }

    pub fn dims3(&self, what: &str) -> Result<[usize; 3], NnError> {
        <[usize; 3]>::try_from(self.shape.as_slice()).map_err(|_| {
            NnError::Shape(format!(
                "{what} expects [batch, channels, length], got {:?}",
                self.shape
            ))
        })
    }

    pub fn dims2(&self, what: &str) -> Result<[usize; 2], NnError> {
        <[usize; 2]>::try_from(self.shape.as_slice()).map_err(|_| {
            NnError::Shape(format!("{what} expects [batch, features], got {:?}", self.shape))
        })
    }

    /// Applies `f` to every value.
    pub fn map(mut self, f: impl Fn(f32) -> f32) -> Self {
        self.data.iter_mut().for_each(|v| *v = f(*v));
        self
    }

    /// The largest `|a − b| / (|b| + scale)` over the values, `scale` being the reference's
    /// largest magnitude times `floor` (relative error that does not blow up near zero).
    pub fn max_relative_error(&self, reference: &Tensor, floor: f32) -> f32 {
        let scale = reference.data.iter().fold(0.0f32, |m, v| m.max(v.abs())) * floor;
        self.data
            .iter()
            .zip(&reference.data)
            .map(|(a, b)| (a - b).abs() / (b.abs() + scale).max(f32::MIN_POSITIVE))
            .fold(0.0, f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [2³³, 2³³] wrapped to 0 values: an empty buffer passed for a huge tensor.
    #[test]
    fn a_shape_whose_size_overflows_is_refused() {
        let huge = 1usize << (usize::BITS / 2 + 1);
        let err = Tensor::new(vec![huge, huge], Vec::new()).unwrap_err();
        assert!(err.to_string().contains("more values than memory holds"), "{err}");
        assert_eq!(elements(&[2, 3, 4]).unwrap(), 24);
    }
}
