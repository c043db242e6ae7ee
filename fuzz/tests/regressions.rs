//! Every seed (the real fixtures) and every saved finding (`fuzz/regressions/<target>/`) through its
//! target: what the fuzzer once found stays fixed.

use std::path::Path;

use voltaic_fuzz::{TARGETS, check, seeds, target};

#[test]
fn every_seed_passes_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inputs = seeds(&root);
    assert!(inputs.len() > 40, "the fixtures were not found");
    for t in TARGETS {
        for (path, bytes) in &inputs {
            if let Some(message) = check(*t, bytes) {
                panic!("{} on {}: {message}", t.name, path.display());
            }
        }
    }
}

#[test]
fn every_saved_finding_stays_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(t) = target(&name) else {
            panic!("fuzz/regressions/{name} is named after no target");
        };
        for file in std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let bytes = std::fs::read(file.path()).unwrap_or_default();
            if let Some(message) = check(t, &bytes) {
                panic!("{}: {message}", file.path().display());
            }
            count += 1;
        }
    }
    assert!(count > 0, "no saved finding under {}", dir.display());
}
