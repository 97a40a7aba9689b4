//! Fuzz target: the `.npy` reader (files a user hands the CLI: `--field`, fixtures). Arbitrary
//! bytes and mutations of a valid file are read or refused with a message, never a panic or
//! an allocation the header alone asks for. `cargo xtask fuzz` runs it far longer.

use flowscope_core::{npy_f32, read_npy_f32};
use proptest::prelude::*;

fn valid() -> Vec<u8> {
    npy_f32(&[3, 4], &(0..12).map(|k| k as f32 * 0.5).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn fuzz_npy_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_npy_f32(&bytes);
    }

    #[test]
    fn fuzz_npy_mutated(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                        cut in any::<usize>()) {
        let mut bytes = valid();
        for (at, value) in edits {
            let k = at % bytes.len();
            bytes[k] = value;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok((shape, values)) = read_npy_f32(&bytes) {
            let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
            prop_assert_eq!(count, Some(values.len() as u64));
        }
    }
}

#[test]
fn a_valid_file_round_trips() {
    let (shape, values) = read_npy_f32(&valid()).unwrap();
    assert_eq!(shape, [3, 4]);
    assert_eq!(values[11], 5.5);
}
