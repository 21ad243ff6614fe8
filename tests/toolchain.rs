//! `rust-version` in Cargo.toml says what the locked dependencies really need: the highest
//! `rust-version` among the packages built for Linux (normal, build and dev), read with
//! `cargo tree` and `cargo metadata` offline from Cargo.lock. A dependency update that raises
//! it fails here until Cargo.toml says so; cargo itself refuses an older toolchain.

use std::collections::BTreeSet;
use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn rust_version_is_what_the_lockfile_needs() {
    let target = "x86_64-unknown-linux-gnu";
    let tree = cargo(&[
        "tree",
        "--locked",
        "--offline",
        "-e",
        "normal,build,dev",
        "--target",
        target,
        "--prefix",
        "none",
        "-f",
        "{p}",
    ]);
    let built: BTreeSet<String> = tree
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?.trim_start_matches('v')))
        })
        .collect();
    let metadata: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--locked", "--offline"])).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let (needed, by) = packages
        .iter()
        .filter(|p| {
            let id = format!("{} {}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap());
            built.contains(&id) && p["name"] != "pgmon"
        })
        .filter_map(|p| {
            Some((
                version(p["rust_version"].as_str()?),
                p["name"].as_str().unwrap().to_string(),
            ))
        })
        .max()
        .expect("no dependency declares a rust-version");
    let ours = packages
        .iter()
        .find(|p| p["name"] == "pgmon")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml has a rust-version");
    assert_eq!(
        version(ours),
        needed,
        "Cargo.toml says rust-version {ours}; the locked dependencies need {}.{} ({by})",
        needed.0,
        needed.1
    );
}
