//! Build requests: from a JSON request (docs/architecture.md) to a compiled
//! library or a C file. Placeholder until the build phase lands.

/// Runs one build request and returns the JSON response. Never panics on bad
/// input: every failure is an `{"ok": false, ...}` response.
pub fn run_json(request: &str) -> String {
    let _ = request;
    r#"{"ok": false, "kind": "usage", "message": "cembed-build is not implemented yet", "log": []}"#
        .to_string()
}
