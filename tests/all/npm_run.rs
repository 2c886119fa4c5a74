//! `rulebox run FILE --dependency NAME@RANGE --npm-registry URL`: the local
//! loop for an Action with npm dependencies. The packages come from a
//! registry this test serves on loopback; the Action `require`s them at its
//! top level (so they load into the snapshot) and inside its handler.

use rulebox_npm::testing::{FixturePackage, FixtureRegistry};
use serde_json::{Value, json};
use std::process::Command;

const EVENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules-examples/events/post-login.json"
);

fn run(action: &str, extra: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("action.js");
    std::fs::write(&file, action).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .arg("run")
        .arg(&file)
        .args(["--event", EVENT, "--no-cache"])
        .args(extra)
        .env("XDG_CACHE_HOME", dir.path())
        .output()
        .expect("rulebox runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn registry() -> FixtureRegistry {
    FixtureRegistry::start(
        &[
            // greet 1.x needs shout 2.x; the root holds shout 1.x for the Action.
            FixturePackage::new("greet", "1.2.0", &[("shout", "^2.0.0"), ("@acme/names", "~3.1.0")]).with_files(&[
                ("lib/greet.js", "const shout = require('shout');\nconst { first } = require('@acme/names');\nmodule.exports = (email) => shout('hello ' + first(email));\n"),
            ]).with_manifest(json!({"main": "lib/greet.js"})),
            FixturePackage::new("shout", "1.0.0", &[]).with_files(&[("index.js", "module.exports = (s) => s + '!';")]),
            FixturePackage::new("shout", "2.0.0", &[]).with_files(&[
                ("node.js", "module.exports = () => { throw new Error('the node build was chosen'); };"),
                ("web.js", "module.exports = (s) => s.toUpperCase();"),
            ]).with_manifest(json!({"exports": {".": {"node": "./node.js", "browser": "./web.js", "default": "./node.js"}}})),
            FixturePackage::new("@acme/names", "3.1.4", &[]).with_files(&[
                ("index.js", "exports.first = (email) => email.split('@')[0]; exports.data = require('./data.json');"),
                ("data.json", "{\"loaded\": true}"),
            ]),
        ],
        &[("shout", "1.0.0")],
    )
}

const ACTION: &str = r#"
const greet = require('greet');
const shout = require('shout');
exports.onExecutePostLogin = async (event, api) => {
  const names = require('@acme/names');
  api.idToken.setCustomClaim('greeting', greet(event.user.email));
  api.idToken.setCustomClaim('root_shout', shout('x'));
  api.idToken.setCustomClaim('json', names.data.loaded);
};
"#;

#[test]
fn an_action_runs_with_the_packages_it_depends_on() {
    let reg = registry();
    let (code, out, err) = run(
        ACTION,
        &[
            "--dependency",
            "greet@^1",
            "--dependency",
            "shout",
            "--dependency",
            "@acme/names@3",
            "--npm-registry",
            &reg.url,
        ],
    );
    assert_eq!(code, 0, "{out} {err}");
    let claims: Vec<(Value, Value)> = out["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| (c["name"].clone(), c["value"].clone()))
        .collect();
    assert_eq!(
        claims,
        [
            // greet's nested shout 2.x, by its `browser` export condition.
            (json!("greeting"), json!("HELLO JANE.DOE")),
            (json!("root_shout"), json!("x!")),
            (json!("json"), json!(true)),
        ]
        .to_vec(),
        "{out}"
    );
}

/// A run that ends before the Action's handler: exit 1, `invalid_module`, and
/// an error naming `what`.
fn assert_refused((code, out, _): (i32, Value, String), what: &str) {
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["outcome"], "invalid_module", "{out}");
    let error = out["error"].as_str().unwrap_or("");
    assert!(error.contains(what), "{what:?} not in {out}");
}

#[test]
fn missing_packages_and_modules_are_named() {
    let reg = registry();
    assert_refused(
        run(
            ACTION,
            &["--dependency", "nope", "--npm-registry", &reg.url],
        ),
        "package nope does not exist",
    );
    // A package the Action requires but does not list: its load fails, naming it.
    assert_refused(
        run(
            "const _ = require('lodash'); const greet = require('greet'); exports.onExecutePostLogin = async () => {};",
            &["--dependency", "greet", "--npm-registry", &reg.url],
        ),
        "Cannot find module 'lodash'",
    );
    // Node's network modules answer why, at require time.
    assert_refused(
        run(
            "const http = require('node:http'); exports.onExecutePostLogin = async () => {};",
            &[],
        ),
        "not available in the rulebox sandbox: use fetch",
    );
}
