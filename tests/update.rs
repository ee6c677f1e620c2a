//! `update-code` and `update-site` on the emulator, after a launch.

mod support;

use assert_cmd::Command;
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;
use support::faults::FaultProxy;
use support::project::{
    aws, calls_of, chatctl, chatctl_process, code_hashes, count, json_of, Project,
};
use support::Emulator;

/// connect, changed so an invocation shows it: it answers version 2.
const CONNECT_V2: &str = r##"include!("../../runtime.rs");

fn main() {
    serve(|_event| r#"{"handler":"connect","version":2}"#.to_string());
}
"##;

#[tokio::test(flavor = "multi_thread")]
async fn update_code_and_update_site_change_exactly_what_changed() {
    let emulator = Emulator::start();
    // Fixture handlers: the change below rebuilds one in seconds.
    let project = Project::with_fixture_handlers("");
    let aws = aws(&emulator).await;
    let logs = project.dir.path();

    // Before a launch there is nothing to update.
    let (refused, _) = json_of(chatctl(&emulator, &project).arg("update-code"), 1);
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("run `chatctl launch` first")),
        "{refused}"
    );
    json_of(chatctl(&emulator, &project).arg("update-site"), 1);

    let (launched, _) = json_of(chatctl(&emulator, &project).arg("launch"), 0);
    let outputs = launched["outputs"].clone();
    let before = code_hashes(&aws, &outputs).await;

    // One handler changed: one UpdateFunctionCode, and the new behaviour runs.
    std::fs::write(project.fixture_main("connect"), CONNECT_V2).expect("change connect");
    let mut update = chatctl(&emulator, &project);
    update.arg("update-code");
    let calls = calls_of(&mut update, logs, "update-code");
    let (updated, _) = json_of(&mut update, 0);
    let calls = calls();
    assert_eq!(count(&calls, "Lambda UpdateFunctionCode"), 1, "{calls:?}");
    assert_eq!(count(&calls, "CloudFormation CreateChangeSet"), 0);
    let changed: Vec<&Value> = updated["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .filter(|f| f["updated"] == true)
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["handler"], "connect");
    assert!(updated["build_ms"].is_u64() && updated["deploy_ms"].is_u64());
    let connect = outputs["ConnectFunctionName"].as_str().expect("connect");
    let invoked = aws
        .lambda()
        .invoke()
        .function_name(connect)
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect("invoke");
    let payload: Value =
        serde_json::from_slice(invoked.payload().map(|p| p.as_ref()).unwrap_or_default())
            .expect("JSON payload");
    assert_eq!(
        payload,
        serde_json::json!({ "handler": "connect", "version": 2 }),
        "{}",
        emulator.log()
    );
    let after = code_hashes(&aws, &outputs).await;
    for (key, hash) in &before {
        assert_eq!(key == "ConnectFunctionName", after[key] != *hash, "{key}");
    }

    // Nothing changed since: no update at all.
    let mut again = chatctl(&emulator, &project);
    again.arg("update-code");
    let calls = calls_of(&mut again, logs, "update-code-again");
    let (unchanged, _) = json_of(&mut again, 0);
    assert_eq!(count(&calls(), "Lambda UpdateFunctionCode"), 0);
    assert!(unchanged["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .all(|f| f["updated"] == false));

    // A later launch deploys the same zip: connect is not rolled back.
    json_of(chatctl(&emulator, &project).arg("launch"), 0);
    assert_eq!(
        code_hashes(&aws, &outputs).await,
        after,
        "launch rolled back update-code's change"
    );

    // One site file changed: one PUT, one invalidation path; then nothing.
    std::fs::write(project.site().join("style.css"), "body { color: #222; }\n")
        .expect("change css");
    let mut site = chatctl(&emulator, &project);
    site.arg("update-site");
    let calls = calls_of(&mut site, logs, "update-site");
    let (synced, _) = json_of(&mut site, 0);
    let calls = calls();
    // The file, and the pending-invalidation record written before CloudFront
    // is called (then deleted once it accepted the paths).
    assert_eq!(count(&calls, "S3 PutObject"), 2, "{calls:?}");
    assert_eq!(count(&calls, "S3 DeleteObject"), 1, "{calls:?}");
    assert_eq!(count(&calls, "CloudFront CreateInvalidation"), 1);
    assert_eq!(synced["invalidated"], serde_json::json!(["/style.css"]));
    let mut site = chatctl(&emulator, &project);
    site.arg("update-site");
    let calls = calls_of(&mut site, logs, "update-site-again");
    let (synced, _) = json_of(&mut site, 0);
    let calls = calls();
    assert_eq!(
        count(&calls, "S3 PutObject") + count(&calls, "CloudFront CreateInvalidation"),
        0,
        "{calls:?}"
    );
    assert_eq!(synced["invalidated"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn update_code_refuses_a_build_for_another_architecture() {
    let emulator = Emulator::start();
    let x86_64 = Project::with_fixture_handlers("");
    json_of(chatctl(&emulator, &x86_64).arg("launch"), 0);
    // The same stack, configured for the other architecture.
    let arm64 = Project::with_fixture_handlers("architecture: arm64\n");
    let (refused, _) = json_of(
        chatctl(&emulator, &arm64).args(["update-code", "message"]),
        1,
    );
    let message = refused["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("runs on x86_64, but the build is for arm64"),
        "{message}"
    );
    // Refused before any compile: nothing was built for arm64.
    assert!(
        !arm64.target_dir.exists(),
        "update-code built before it refused: {}",
        arm64.target_dir.display()
    );
}

/// Names that need URL-encoding are invalidated encoded (the rules layer
/// refuses raw ones, as CloudFront does), and an invalidation that failed
/// after the upload is made by the next `update-site`, whose sync finds
/// nothing new to upload.
#[tokio::test(flavor = "multi_thread")]
async fn odd_file_names_are_invalidated_and_a_failed_invalidation_is_made_by_the_next_run() {
    let emulator = Emulator::start();
    let project = Project::with_fixture_handlers("");
    json_of(chatctl(&emulator, &project).arg("launch"), 0);

    std::fs::write(project.site().join("my file.html"), "<p>a space</p>\n").expect("write");
    std::fs::write(project.site().join("café.html"), "<p>an accent</p>\n").expect("write");
    let (synced, stderr) = json_of(chatctl(&emulator, &project).arg("update-site"), 0);
    assert_eq!(
        synced["invalidated"],
        serde_json::json!(["/caf%C3%A9.html", "/my%20file.html"]),
        "{stderr}"
    );
    assert_eq!(emulator.refusals().invalid_invalidation_path, 0);

    // CloudFront refuses every try after the upload.
    std::fs::write(project.site().join("style.css"), "body { color: #333; }\n").expect("write");
    let proxy = FaultProxy::start(emulator.port(), 0.0, 1);
    proxy.fail("/invalidation");
    let mut failing = Command::from_std(chatctl_process(&proxy.endpoint(), &project));
    let (failed, _) = json_of(failing.arg("update-site"), 1);
    assert!(
        failed["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalidating")),
        "{failed}"
    );
    drop(proxy);

    // Nothing left to upload, but the remembered path is invalidated, once.
    let mut again = chatctl(&emulator, &project);
    again.arg("update-site");
    let calls = calls_of(&mut again, project.dir.path(), "after-failure");
    let (synced, stderr) = json_of(&mut again, 0);
    assert_eq!(
        synced["site"]["uploaded"],
        serde_json::json!([]),
        "{stderr}"
    );
    assert_eq!(synced["invalidated"], serde_json::json!(["/style.css"]));
    assert_eq!(count(&calls(), "CloudFront CreateInvalidation"), 1);
    let (synced, _) = json_of(chatctl(&emulator, &project).arg("update-site"), 0);
    assert_eq!(synced["invalidated"], serde_json::json!([]));
}
