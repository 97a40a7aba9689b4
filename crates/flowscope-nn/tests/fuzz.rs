//! Fuzz targets: the model loader — safetensors, the config in its metadata, the manifest —
//! on files a page or a user hands over. Arbitrary bytes and mutations of a shipped model are
//! loaded or refused with a message, never a panic. `cargo xtask fuzz` runs them far longer.

use flowscope_nn::weights::Manifest;
use flowscope_nn::{Model, Weights};
use proptest::prelude::*;
use std::sync::OnceLock;

/// The smallest shipped model (11 kB): an MLP with its config.
fn shipped() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/smdp-toy.safetensors");
        std::fs::read(path).expect("the shipped SMDP toy model")
    })
}

fn manifest() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/manifest.json");
        std::fs::read_to_string(path).expect("the shipped manifest")
    })
}

/// `bytes` with a few bytes overwritten and maybe cut short.
fn mutate(bytes: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for &(at, value) in edits {
        let k = at % bytes.len();
        bytes[k] = value;
    }
    bytes.truncate(cut % (bytes.len() + 1));
    bytes
}

proptest! {
    #[test]
    fn fuzz_model_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Weights::from_bytes(&bytes);
        let _ = Model::from_bytes(&bytes);
    }

    /// Mostly in the header (its first few hundred bytes: lengths, offsets, the config).
    #[test]
    fn fuzz_model_mutated(edits in proptest::collection::vec((0usize..1200, any::<u8>()), 1..6),
                          cut in any::<usize>()) {
        let cut = if cut % 4 == 0 { cut } else { usize::MAX };
        let _ = Model::from_bytes(&mutate(shipped(), &edits, cut));
    }

    #[test]
    fn fuzz_manifest_mutated(edits in proptest::collection::vec((any::<usize>(), 32u8..127), 1..6),
                             cut in any::<usize>()) {
        let text = mutate(manifest().as_bytes(), &edits, cut);
        let _ = Manifest::parse(&String::from_utf8_lossy(&text));
    }
}

#[test]
fn the_unmutated_files_load() {
    Model::from_bytes(shipped()).unwrap();
    assert!(!Manifest::parse(manifest()).unwrap().models.is_empty());
}
