//! Apps written for Node, run by the tests: the packages in `crates/portico/tests/sdk`
//! (installed by `npm ci`, which `.ci/run` does).

/// Runs `tests/sdk/{script}` (an app built on openid-client) with `args` and reads the JSON
/// it prints; `None` (with a message) when Node or the package is missing and
/// `PORTICO_REQUIRE_NODE` is not set. Blocking: call it from a blocking task.
pub(crate) fn openid_client(script: &str, args: &[String]) -> Option<serde_json::Value> {
    let sdk = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let installed = sdk.join("node_modules/openid-client/package.json").exists();
    let node = std::process::Command::new("node")
        .arg(sdk.join(script))
        .args(args)
        .output();
    match node {
        Ok(output) if installed => {
            assert!(
                output.status.success(),
                "openid-client failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(serde_json::from_slice(&output.stdout).unwrap())
        }
        _ if std::env::var_os("PORTICO_REQUIRE_NODE").is_some() => {
            panic!("node and openid-client are required (npm ci --prefix crates/portico/tests/sdk)")
        }
        _ => {
            eprintln!(
                "SKIPPED: node or openid-client missing; run npm ci --prefix crates/portico/tests/sdk"
            );
            None
        }
    }
}
