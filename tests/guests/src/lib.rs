//! Where the test guests are: the example rules, compiled from
//! `rules-examples/rust` by this crate's build script, and the hand-written
//! hostile modules of `rules-examples/hostile`.
//!
//! ```ignore
//! let wasm = std::fs::read(rulebox_test_guests::TRIVIAL)?;
//! let wat = std::fs::read_to_string(rulebox_test_guests::hostile("infinite-loop"))?;
//! ```
//!
//! Paths are absolute, so tests find the modules from any working directory.

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The hostile WAT module `name` (`"infinite-loop"` or `"infinite-loop.wat"`).
pub fn hostile(name: &str) -> PathBuf {
    let file = if name.ends_with(".wat") {
        name.to_owned()
    } else {
        format!("{name}.wat")
    };
    PathBuf::from(HOSTILE_DIR).join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_module_exists() {
        assert!(!ALL_RULES.is_empty());
        for (name, path) in ALL_RULES {
            assert!(std::path::Path::new(path).is_file(), "{name}: {path}");
        }
        assert!(
            ALL_RULES
                .iter()
                .any(|&(n, p)| n == "trivial" && p == TRIVIAL)
        );
        for name in HOSTILE {
            assert!(hostile(name).is_file(), "{name}");
        }
        assert_eq!(hostile("trap"), hostile("trap.wat"));
    }
}
