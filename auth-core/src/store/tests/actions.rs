//! Actions: drafts, secrets, modules, versions, rollback and trigger bindings.

use serde_json::json;

use super::*;

const CODE_V1: &str = "exports.onExecutePostLogin = async (event, api) => {};";
const CODE_V2: &str =
    "exports.onExecutePostLogin = async (event, api) => { api.access.deny('no'); };";

#[tokio::test]
async fn action_crud_and_secrets() {
    let (_dir, store) = store_with_tenant().await;
    let mut body = action_body("add-claims", CODE_V1);
    body["secrets"] = json!([{"name": "API_KEY", "value": "k1"}, {"name": "OTHER", "value": "o1"}]);
    body["module"] = json!("ignored: the HTTP layer decodes modules itself");
    let a = store
        .create_action("acme", body, None)
        .await
        .expect("create");
    assert!(uuid::Uuid::parse_str(&a.id).is_ok(), "{}", a.id);
    assert_eq!(a.runtime, "node18");
    assert_eq!(a.status, "built");
    assert!(a.deployed_version.is_none());
    assert!(!a.all_changes_deployed);
    assert_eq!(a.supported_triggers[0].id, "post-login");
    let names: Vec<&str> = a.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["API_KEY", "OTHER"]);
    let json = serde_json::to_value(&a).expect("serialize");
    assert!(
        json["secrets"][0].get("value").is_none(),
        "secret values never serialize"
    );
    assert!(json.get("deployed_version").is_none());

    assert_eq!(
        store.action_secrets("acme", &a.id).await.expect("secrets"),
        [
            ("API_KEY".to_string(), "k1".to_string()),
            ("OTHER".to_string(), "o1".to_string())
        ]
    );

    let msg = assert_conflict(
        store
            .create_action("acme", action_body("add-claims", CODE_V1), None)
            .await,
    );
    assert!(msg.contains("add-claims"), "{msg}");
    assert_invalid(
        store
            .create_action("acme", json!({"name": "x", "code": CODE_V1}), None)
            .await,
    );
    assert_invalid(
        store
            .create_action("acme", action_body("", CODE_V1), None)
            .await,
    );
    assert_invalid(
        store
            .create_action(
                "acme",
                action_body("big", &"x".repeat(100 * 1024 + 1)),
                None,
            )
            .await,
    );
    let mut dup = action_body("dup-secrets", CODE_V1);
    dup["secrets"] = json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]);
    assert_invalid(store.create_action("acme", dup, None).await);
    let mut valueless = action_body("valueless", CODE_V1);
    valueless["secrets"] = json!([{"name": "A"}]);
    assert_invalid(store.create_action("acme", valueless, None).await);
    assert_not_found(
        store
            .create_action("nope", action_body("x", CODE_V1), None)
            .await,
    );

    // Secrets: replace the set; a secret without value keeps its stored value.
    let updated = store
        .update_action(
            "acme",
            &a.id,
            json!({"code": CODE_V2, "secrets": [{"name": "API_KEY"}, {"name": "NEW", "value": "n"}]}),
            None,
        )
        .await
        .expect("update");
    assert_eq!(updated.code, CODE_V2);
    assert_eq!(updated.name, "add-claims");
    assert_eq!(
        store.action_secrets("acme", &a.id).await.expect("secrets"),
        [
            ("API_KEY".to_string(), "k1".to_string()),
            ("NEW".to_string(), "n".to_string())
        ]
    );
    assert_invalid(
        store
            .update_action("acme", &a.id, json!({"secrets": [{"name": "GONE"}]}), None)
            .await,
    );
    assert_invalid(
        store
            .update_action("acme", &a.id, json!({"supported_triggers": []}), None)
            .await,
    );
    assert_invalid(
        store
            .update_action("acme", &a.id, json!({"code": 5}), None)
            .await,
    );
    assert_not_found(
        store
            .update_action("acme", "missing", json!({}), None)
            .await,
    );
    store
        .create_action("acme", action_body("second", CODE_V1), None)
        .await
        .expect("second");
    assert_conflict(
        store
            .update_action("acme", &a.id, json!({"name": "second"}), None)
            .await,
    );

    // A refused update left the draft as it was.
    assert_eq!(
        store.get_action("acme", &a.id).await.expect("get").code,
        CODE_V2
    );

    let mut creds = action_body("m2m", CODE_V1);
    creds["supported_triggers"] = json!([{"id": "credentials-exchange", "version": "v2"}]);
    store.create_action("acme", creds, None).await.expect("m2m");
    assert_eq!(
        store
            .list_actions("acme", None, None)
            .await
            .expect("all")
            .len(),
        3
    );
    assert_eq!(
        store
            .list_actions("acme", Some("post-login"), None)
            .await
            .expect("by trigger")
            .len(),
        2
    );
    let by_name = store
        .list_actions("acme", None, Some("m2m"))
        .await
        .expect("by name");
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].supported_triggers[0].id, "credentials-exchange");
    assert!(
        store
            .list_actions("acme", Some("post-login"), Some("m2m"))
            .await
            .expect("both")
            .is_empty()
    );

    store
        .delete_action("acme", &a.id, false)
        .await
        .expect("delete");
    assert_not_found(store.get_action("acme", &a.id).await);
    assert!(
        store
            .action_secrets("acme", &a.id)
            .await
            .expect("secrets gone")
            .is_empty()
    );
    assert_not_found(store.delete_action("acme", &a.id, false).await);
}

#[tokio::test]
async fn wasm_modules_are_stored_and_versioned() {
    let (_dir, store) = store_with_tenant().await;
    let mut body = action_body("wasm-action", "");
    body["runtime"] = json!("wasm");
    let a = store
        .create_action("acme", body, Some(vec![0, 97, 115, 109, 1]))
        .await
        .expect("create");
    assert_eq!(a.runtime, "wasm");
    assert_eq!(
        store.action_module("acme", &a.id).await.expect("module"),
        Some(vec![0, 97, 115, 109, 1])
    );

    let v1 = store
        .deploy_action("acme", &a.id, None)
        .await
        .expect("deploy");
    let sha = v1
        .module_hash
        .clone()
        .expect("module hash defaults to the sha256");
    assert_eq!(sha.len(), 64);
    assert_eq!(
        store
            .action_version_module("acme", &a.id, &v1.id)
            .await
            .expect("v1 module"),
        Some(vec![0, 97, 115, 109, 1])
    );

    store
        .update_action("acme", &a.id, json!({}), Some(vec![0, 97, 115, 109, 2]))
        .await
        .expect("new module");
    assert!(
        !store
            .get_action("acme", &a.id)
            .await
            .expect("get")
            .all_changes_deployed
    );
    let v2 = store
        .deploy_action("acme", &a.id, Some("module-ref-2".into()))
        .await
        .expect("deploy 2");
    assert_eq!(v2.module_hash.as_deref(), Some("module-ref-2"));
    assert!(
        store
            .get_action("acme", &a.id)
            .await
            .expect("get")
            .all_changes_deployed
    );

    // Rollback brings back the old bytes under a new version.
    let v3 = store
        .rollback_action("acme", &a.id, &v1.id)
        .await
        .expect("rollback");
    assert_eq!(v3.module_hash.as_deref(), Some(sha.as_str()));
    assert_eq!(
        store
            .action_version_module("acme", &a.id, &v3.id)
            .await
            .expect("v3 module"),
        Some(vec![0, 97, 115, 109, 1])
    );
    assert!(
        !store
            .get_action("acme", &a.id)
            .await
            .expect("get")
            .all_changes_deployed
    );

    // Switching to JavaScript drops the draft module.
    store
        .update_action(
            "acme",
            &a.id,
            json!({"runtime": "node18", "code": CODE_V1}),
            None,
        )
        .await
        .expect("to js");
    assert_eq!(
        store.action_module("acme", &a.id).await.expect("module"),
        None
    );
    assert_not_found(store.action_module("acme", "missing").await);
    assert_not_found(store.action_version_module("acme", &a.id, "missing").await);
}

#[tokio::test]
async fn deploy_numbers_versions_and_rollback_redeploys() {
    let (_dir, store) = store_with_tenant().await;
    let a = store
        .create_action("acme", action_body("versioned", CODE_V1), None)
        .await
        .expect("create");
    assert_eq!(
        store
            .deployed_version("acme", &a.id)
            .await
            .expect("none yet"),
        None
    );

    let v1 = store
        .deploy_action("acme", &a.id, None)
        .await
        .expect("deploy 1");
    assert_eq!(
        (v1.number, v1.deployed, v1.status.as_str()),
        (1, true, "built")
    );
    assert_eq!(v1.module_hash, None);
    let a1 = store.get_action("acme", &a.id).await.expect("get");
    assert!(a1.all_changes_deployed);
    assert_eq!(
        a1.deployed_version.as_ref().map(|v| v.id.as_str()),
        Some(v1.id.as_str())
    );

    store
        .update_action("acme", &a.id, json!({"code": CODE_V2}), None)
        .await
        .expect("edit");
    let edited = store.get_action("acme", &a.id).await.expect("get");
    assert!(!edited.all_changes_deployed);
    assert_eq!(
        edited.deployed_version.as_ref().map(|v| v.code.as_str()),
        Some(CODE_V1),
        "deploy is explicit"
    );

    let v2 = store
        .deploy_action("acme", &a.id, None)
        .await
        .expect("deploy 2");
    assert_eq!((v2.number, v2.code.as_str()), (2, CODE_V2));
    let versions = store
        .list_action_versions("acme", &a.id)
        .await
        .expect("versions");
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.number, v.deployed))
            .collect::<Vec<_>>(),
        [(2, true), (1, false)]
    );

    let v3 = store
        .rollback_action("acme", &a.id, &v1.id)
        .await
        .expect("rollback");
    assert_eq!(
        (v3.number, v3.code.as_str(), v3.deployed),
        (3, CODE_V1, true)
    );
    assert_eq!(
        store
            .deployed_version("acme", &a.id)
            .await
            .expect("deployed")
            .map(|v| v.id),
        Some(v3.id.clone())
    );
    let old = store
        .get_action_version("acme", &a.id, &v1.id)
        .await
        .expect("v1");
    assert!(!old.deployed);
    assert_eq!(
        store.get_action("acme", &a.id).await.expect("get").code,
        CODE_V2,
        "rollback keeps the draft"
    );

    assert_not_found(store.rollback_action("acme", &a.id, "missing").await);
    assert_not_found(store.deploy_action("acme", "missing", None).await);
    assert_not_found(store.list_action_versions("acme", "missing").await);
    assert_not_found(store.deployed_version("acme", "missing").await);
    assert_not_found(store.get_action_version("acme", &a.id, "missing").await);
}

#[tokio::test]
async fn at_most_fifty_versions_are_kept() {
    let (_dir, store) = store_with_tenant().await;
    let a = store
        .create_action("acme", action_body("busy", CODE_V1), None)
        .await
        .expect("create");
    let first = store
        .deploy_action("acme", &a.id, None)
        .await
        .expect("first");
    for _ in 0..54 {
        store
            .deploy_action("acme", &a.id, None)
            .await
            .expect("deploy");
    }
    let versions = store
        .list_action_versions("acme", &a.id)
        .await
        .expect("versions");
    assert_eq!(versions.len(), 50);
    assert_eq!(versions.first().map(|v| v.number), Some(55));
    assert_eq!(versions.last().map(|v| v.number), Some(6));
    assert_not_found(store.get_action_version("acme", &a.id, &first.id).await);

    // Rolling back to the oldest kept version appends a 56th and prunes the oldest again.
    let oldest = versions.last().map(|v| v.id.clone()).expect("oldest");
    store
        .rollback_action("acme", &a.id, &oldest)
        .await
        .expect("rollback");
    let versions = store
        .list_action_versions("acme", &a.id)
        .await
        .expect("versions");
    assert_eq!(versions.len(), 50);
    assert_eq!(versions.iter().filter(|v| v.deployed).count(), 1);
    assert_eq!(
        versions.first().map(|v| (v.number, v.deployed)),
        Some((56, true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deploys_get_distinct_numbers() {
    let (_dir, store) = store_with_tenant().await;
    let a = store
        .create_action("acme", action_body("racy", CODE_V1), None)
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        let id = a.id.clone();
        tasks.push(tokio::spawn(async move {
            store.deploy_action("acme", &id, None).await
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("join").expect("deploy").number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<u32>>());
    let deployed = store
        .list_action_versions("acme", &a.id)
        .await
        .expect("versions");
    assert_eq!(deployed.iter().filter(|v| v.deployed).count(), 1);
}

#[tokio::test]
async fn bindings_keep_order_and_refuse_invalid_actions() {
    let (_dir, store) = store_with_tenant().await;
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        let a = store
            .create_action("acme", action_body(name, CODE_V1), None)
            .await
            .expect("create");
        store
            .deploy_action("acme", &a.id, None)
            .await
            .expect("deploy");
        ids.push(a.id);
    }
    let bound = store
        .set_bindings("acme", "post-login", vec![ids[2].clone(), ids[0].clone()])
        .await
        .expect("bind");
    assert_eq!(
        bound
            .iter()
            .map(|b| b.action.name.as_str())
            .collect::<Vec<_>>(),
        ["third", "first"]
    );
    assert_eq!(bound[0].display_name, "third");
    assert_eq!(bound[0].trigger_id, "post-login");

    // Replace: new order, kept binding ids for actions that stay bound.
    let rebound = store
        .set_bindings(
            "acme",
            "post-login",
            vec![ids[0].clone(), ids[1].clone(), ids[2].clone()],
        )
        .await
        .expect("rebind");
    assert_eq!(
        rebound
            .iter()
            .map(|b| b.action.name.as_str())
            .collect::<Vec<_>>(),
        ["first", "second", "third"]
    );
    assert_eq!(rebound[0].id, bound[1].id);
    assert_eq!(rebound[2].id, bound[0].id);
    assert_eq!(
        store
            .bindings("acme", "post-login")
            .await
            .expect("bindings"),
        rebound
    );

    let pipeline = store
        .bound_deployed_versions("acme", "post-login")
        .await
        .expect("pipeline");
    assert_eq!(
        pipeline
            .iter()
            .map(|(a, v)| (a.name.as_str(), v.number, v.deployed))
            .collect::<Vec<_>>(),
        [("first", 1, true), ("second", 1, true), ("third", 1, true)]
    );

    // Refused bindings leave the current list untouched.
    let undeployed = store
        .create_action("acme", action_body("draft-only", CODE_V1), None)
        .await
        .expect("create");
    let msg = assert_invalid(
        store
            .set_bindings("acme", "post-login", vec![undeployed.id.clone()])
            .await,
    );
    assert!(msg.contains("deployed"), "{msg}");
    let mut creds = action_body("m2m", CODE_V1);
    creds["supported_triggers"] = json!([{"id": "credentials-exchange", "version": "v2"}]);
    let m2m = store.create_action("acme", creds, None).await.expect("m2m");
    store
        .deploy_action("acme", &m2m.id, None)
        .await
        .expect("deploy m2m");
    let msg = assert_invalid(
        store
            .set_bindings("acme", "post-login", vec![m2m.id.clone()])
            .await,
    );
    assert!(msg.contains("does not support"), "{msg}");
    assert_invalid(
        store
            .set_bindings("acme", "post-login", vec!["missing".into()])
            .await,
    );
    assert_invalid(
        store
            .set_bindings("acme", "post-login", vec![ids[0].clone(), ids[0].clone()])
            .await,
    );
    assert_invalid(
        store
            .set_bindings("acme", "post-login", vec![ids[0].clone(); 21])
            .await,
    );
    assert_eq!(
        store
            .bindings("acme", "post-login")
            .await
            .expect("unchanged"),
        rebound
    );

    // Other triggers are independent.
    store
        .set_bindings("acme", "credentials-exchange", vec![m2m.id.clone()])
        .await
        .expect("m2m binding");
    assert_eq!(
        store
            .bindings("acme", "post-login")
            .await
            .expect("unchanged")
            .len(),
        3
    );

    // A bound action cannot be deleted without force; force removes its bindings.
    let msg = assert_conflict(store.delete_action("acme", &ids[1], false).await);
    assert!(msg.contains("post-login"), "{msg}");
    store
        .delete_action("acme", &ids[1], true)
        .await
        .expect("force delete");
    let names: Vec<String> = store
        .bindings("acme", "post-login")
        .await
        .expect("bindings")
        .into_iter()
        .map(|b| b.action.name)
        .collect();
    assert_eq!(names, ["first", "third"]);

    // Binding a redeployed action runs its newest deployed version.
    store
        .update_action("acme", &ids[0], json!({"code": CODE_V2}), None)
        .await
        .expect("edit");
    store
        .deploy_action("acme", &ids[0], None)
        .await
        .expect("redeploy");
    let pipeline = store
        .bound_deployed_versions("acme", "post-login")
        .await
        .expect("pipeline");
    assert_eq!(
        (pipeline[0].1.number, pipeline[0].1.code.as_str()),
        (2, CODE_V2)
    );

    // Unbinding everything.
    assert!(
        store
            .set_bindings("acme", "post-login", vec![])
            .await
            .expect("clear")
            .is_empty()
    );
    assert!(
        store
            .bound_deployed_versions("acme", "post-login")
            .await
            .expect("pipeline")
            .is_empty()
    );
}

#[tokio::test]
async fn secrets_and_rules_configuration_are_sealed_at_rest() {
    let (dir, store) = store_with_tenant().await;
    let mut body = action_body("sealed", CODE_V1);
    body["secrets"] = json!([{"name": "API_KEY", "value": "plain-text-secret-1"}]);
    let a = store
        .create_action("acme", body, None)
        .await
        .expect("create");
    store
        .set_rules_config("acme", "LEGACY_TOKEN", "plain-text-secret-2")
        .await
        .expect("config");
    let raw: Vec<(String,)> = sqlx::query_as(
        "SELECT value FROM action_secrets UNION ALL SELECT value FROM rules_configs",
    )
    .fetch_all(&store.pool)
    .await
    .expect("raw rows");
    assert_eq!(raw.len(), 2);
    for (value,) in &raw {
        assert!(value.starts_with("sealed:v1:"), "{value}");
        assert!(!value.contains("plain-text-secret"), "{value}");
    }
    // A database file never holds the text either, and the key file opens them again.
    if store.backend() == super::super::Backend::Sqlite {
        // The database file itself never holds the text either.
        store.close().await;
        for entry in std::fs::read_dir(dir.path()).expect("dir") {
            // The WAL and shared-memory files may disappear as the store closes.
            let Ok(bytes) = std::fs::read(entry.expect("entry").path()) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("plain-text-secret"), "found in a file");
        }
        let reopened = Store::open(&dir.path().join("auth.db"))
            .await
            .expect("reopen");
        assert_eq!(
            reopened
                .action_secrets("acme", &a.id)
                .await
                .expect("secrets"),
            [("API_KEY".to_string(), "plain-text-secret-1".to_string())],
            "the key file next to the database opens them again"
        );
        assert_eq!(
            reopened.rules_config_values("acme").await.expect("values")["LEGACY_TOKEN"],
            "plain-text-secret-2"
        );
    }
}

#[tokio::test]
async fn a_deploy_of_a_draft_that_changed_since_it_was_checked_is_a_conflict() {
    let (_dir, store) = store_with_tenant().await;
    let a = store
        .create_action("acme", action_body("checked", CODE_V1), None)
        .await
        .expect("create");
    // What the caller validated; then another request changes the draft.
    let checked_code = a.code.clone();
    let checked_triggers = a.supported_triggers.clone();
    let checked = || crate::store::CheckedDraft {
        code: &checked_code,
        runtime: &a.runtime,
        supported_triggers: &checked_triggers,
        module: None,
    };
    store
        .update_action("acme", &a.id, json!({"code": CODE_V2}), None)
        .await
        .expect("changed meanwhile");
    let err = store
        .deploy_checked_action("acme", &a.id, Some("ref-v1".into()), Some(checked()))
        .await
        .expect_err("the draft is no longer what was checked");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(
        store
            .list_action_versions("acme", &a.id)
            .await
            .expect("versions")
            .is_empty(),
        "nothing was deployed"
    );
    // Other triggers or a module count as a change too.
    store
        .update_action("acme", &a.id, json!({"code": CODE_V1}), None)
        .await
        .expect("back to v1");
    let with_module = crate::store::CheckedDraft {
        module: Some(&[0, 97, 115, 109, 1]),
        ..checked()
    };
    let err = store
        .deploy_checked_action("acme", &a.id, None, Some(with_module))
        .await
        .expect_err("the draft has no module");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The draft as checked deploys.
    let v1 = store
        .deploy_checked_action("acme", &a.id, Some("ref-v1".into()), Some(checked()))
        .await
        .expect("deploys");
    assert_eq!((v1.number, v1.code.as_str()), (1, CODE_V1));
}
