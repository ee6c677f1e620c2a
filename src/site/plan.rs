//! What a sync changes, decided without I/O: the local files (with their
//! MD5s) against the bucket's ETags.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use md5::{Digest, Md5};

use super::{hex, LocalFile, CONFIG_KEY, ROOMS_PREFIX};

/// What an upload sends: a site file (read when its turn comes) or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// One object to write, with the MD5 S3 checks it against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub key: String,
    pub body: Body,
    pub md5: [u8; 16],
}

/// A sync's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub uploads: Vec<Upload>,
    /// Keys in the bucket no local file has (never snapshots or `config.json`).
    pub deletes: Vec<String>,
    pub unchanged: usize,
}

/// Uploads what is new or changed, deletes what was removed locally. A
/// local `config.json` is ignored: the one written from the stack's outputs
/// is uploaded instead. Files under `rooms/` are seeds (the empty room's
/// page): the fan-out function owns those objects once they exist, so a
/// seed is uploaded only where the bucket has none, and a snapshot is
/// never deleted.
pub fn plan(files: &[LocalFile], config_json: &[u8], remote: &BTreeMap<String, String>) -> Plan {
    let mut plan = Plan::default();
    let upload = |key: &str, body: Body, md5: [u8; 16], plan: &mut Plan| {
        if remote.get(key) == Some(&hex(&md5)) {
            plan.unchanged += 1;
        } else {
            plan.uploads.push(Upload {
                key: key.to_string(),
                body,
                md5,
            });
        }
    };
    for file in files {
        if file.key == CONFIG_KEY {
            continue;
        }
        if file.key.starts_with(ROOMS_PREFIX) && remote.contains_key(&file.key) {
            plan.unchanged += 1;
            continue;
        }
        upload(
            &file.key,
            Body::File(file.path.clone()),
            file.md5,
            &mut plan,
        );
    }
    let config_md5: [u8; 16] = Md5::digest(config_json).into();
    upload(
        CONFIG_KEY,
        Body::Bytes(config_json.to_vec()),
        config_md5,
        &mut plan,
    );
    let local: HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    plan.deletes = remote
        .keys()
        .filter(|key| !local.contains(key.as_str()))
        .filter(|key| !key.starts_with(ROOMS_PREFIX) && key.as_str() != CONFIG_KEY)
        .cloned()
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str, content: &str) -> LocalFile {
        LocalFile {
            key: key.to_string(),
            path: PathBuf::from("site").join(key),
            md5: Md5::digest(content.as_bytes()).into(),
        }
    }

    fn etag(content: &str) -> String {
        hex(&Md5::digest(content.as_bytes()))
    }

    fn keys(plan: &Plan) -> Vec<&str> {
        plan.uploads.iter().map(|u| u.key.as_str()).collect()
    }

    #[test]
    fn only_new_and_changed_files_are_uploaded_and_removed_ones_deleted() {
        let files = [
            file("index.html", "<h1>new</h1>"),
            file("app.js", "same"),
            file("new.css", "body{}"),
        ];
        let remote: BTreeMap<String, String> = [
            ("index.html", etag("<h1>old</h1>")),
            ("app.js", etag("same")),
            ("old.css", etag("gone")),
            ("config.json", etag("{}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let plan = plan(&files, b"{}", &remote);
        assert_eq!(keys(&plan), ["index.html", "new.css"]);
        assert_eq!(plan.unchanged, 2, "app.js and config.json");
        assert_eq!(plan.deletes, ["old.css"]);
        assert_eq!(
            plan.uploads[0].body,
            Body::File(PathBuf::from("site/index.html"))
        );
    }

    #[test]
    fn the_stacks_config_json_wins_over_a_local_one() {
        let files = [file("index.html", "x"), file("config.json", "local")];
        let plan = plan(&files, br#"{"websocketUrl":"wss://x"}"#, &BTreeMap::new());
        let config = plan
            .uploads
            .iter()
            .find(|u| u.key == CONFIG_KEY)
            .expect("config");
        assert_eq!(
            config.body,
            Body::Bytes(br#"{"websocketUrl":"wss://x"}"#.to_vec())
        );
        assert_eq!(keys(&plan), ["index.html", "config.json"]);
    }

    #[test]
    fn room_snapshots_are_never_overwritten_by_seeds_or_deleted() {
        let files = [file("index.html", "x"), file("rooms/general.html", "seed")];
        let remote: BTreeMap<String, String> = [
            ("index.html", etag("x")),
            ("rooms/general.html", etag("the chat so far")),
            ("rooms/other.json", etag("{}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let plan = plan(&files, b"{}", &remote);
        assert_eq!(keys(&plan), ["config.json"]);
        assert!(plan.deletes.is_empty(), "{:?}", plan.deletes);
        // Where the bucket has no page yet, the seed goes up.
        let fresh = super::plan(&files, b"{}", &BTreeMap::new());
        assert!(keys(&fresh).contains(&"rooms/general.html"));
    }
}
