//! The deployment files in `deploy/` against the tools and the code: the alerting rules pass
//! `promtool`'s check and their unit tests, and every role, queue, metric and runbook anchor
//! the files name exists.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `eventhose serve --roles` accepts: the names `Role::name` gives, read from its source.
fn role_names() -> Vec<String> {
    let source = read(&root().join("crates/eventhose/src/roles.rs"));
    let names: Vec<String> = source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Role::"))
        .filter_map(|rest| rest.split_once(" => \"")?.1.strip_suffix("\","))
        .map(str::to_owned)
        .collect();
    assert_eq!(names.len(), 6, "the six role names in roles.rs: {names:?}");
    names
}

/// The role that runs each subscriber that has a role of its own.
const SUBSCRIBER_ROLES: [(&str, &str); 4] = [
    ("webhooks", "webhooks"),
    ("suppressions", "suppressions"),
    ("metrics", "metrics"),
    ("message_events", "events"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every file under `dir` whose name ends with one of `suffixes`, sorted.
fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Runs promtool with `args`; fails with its output unless it succeeds.
fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's prometheus package (.ci/run does)")
        });
    assert!(
        output.status.success(),
        "promtool {} failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn prometheus_file(name: &str) -> String {
    let path = root().join("deploy/prometheus").join(name);
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[test]
fn alerting_rules_pass_promtool_check() {
    promtool(&["check", "rules", &prometheus_file("alerts.yml")]);
}

#[test]
fn alerting_rules_pass_their_unit_tests() {
    promtool(&["test", "rules", &prometheus_file("alerts_test.yml")]);
}

/// The values given to `--roles` in `text`: `--roles=a,b`, or `--roles` then the value as the
/// next word or list item, quoted or not.
fn roles_values(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    for (at, _) in text.match_indices("--roles") {
        let rest = &text[at + "--roles".len()..];
        let rest = rest.strip_prefix('=').unwrap_or(rest);
        let rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '"', '\'', ',', '-']);
        let value: String = rest
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | ' ' | '\t' | '\n' | '\r' | ']' | '`'))
            .collect();
        values.push(value);
    }
    values
}

/// Checks one `--roles` value and returns its roles.
fn parse_roles(value: &str, file: &Path) -> BTreeSet<String> {
    let roles: Vec<&str> = value.split(',').collect();
    let known = role_names();
    for role in &roles {
        assert!(
            known.iter().any(|name| name == role),
            "{}: `--roles {value}` names `{role}`, not one of {known:?}",
            file.display()
        );
    }
    let set: BTreeSet<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(
        set.len(),
        roles.len(),
        "{}: `--roles {value}` repeats a role",
        file.display()
    );
    // The Metrics and Events APIs read the one DuckDB file that the metrics and events
    // subscribers write: the three run in one process.
    if set.contains("metrics") || set.contains("events") {
        for needed in ["api", "metrics", "events"] {
            assert!(
                set.contains(needed),
                "{}: `--roles {value}` lacks `{needed}` (metrics, events and api share a process)",
                file.display()
            );
        }
    }
    set
}

#[test]
fn every_role_named_in_deploy_exists_and_each_is_deployed() {
    let deploy = root().join("deploy");
    let mut found = 0;
    for file in files(&deploy, &[".yaml", ".yml"]) {
        for value in roles_values(&read(&file)) {
            parse_roles(&value, &file);
            found += 1;
        }
    }
    assert!(found >= 8, "only {found} `--roles` values found in deploy/");

    // Each way of deploying runs every role somewhere.
    for (what, paths) in [
        ("compose.yaml", vec![deploy.join("compose.yaml")]),
        ("kubernetes/", files(&deploy.join("kubernetes"), &[".yaml"])),
    ] {
        let mut deployed = BTreeSet::new();
        for path in &paths {
            for value in roles_values(&read(path)) {
                deployed.extend(parse_roles(&value, path));
            }
        }
        let missing: Vec<String> = role_names()
            .into_iter()
            .filter(|r| !deployed.contains(r))
            .collect();
        assert!(
            missing.is_empty(),
            "{what} runs no process with roles {missing:?}"
        );
    }
}

/// The subscriber names the code declares: `pub const …_SUBSCRIBER: &str = "…";` in
/// `crates/subscribers/src`.
fn subscriber_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in files(&root().join("crates/subscribers/src"), &[".rs"]) {
        for line in read(&file).lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let Some((constant, value)) = rest.split_once(": &str = ") else {
                continue;
            };
            if constant.ends_with("_SUBSCRIBER") {
                let value = value.trim_end_matches(';').trim_matches('"');
                names.insert(value.to_owned());
            }
        }
    }
    assert!(
        names.contains("webhooks") && names.contains("suppressions"),
        "subscriber constants not found, or renamed: {names:?}"
    );
    names
}

/// The RabbitMQ hose's default queue prefix, from `AmqpOptions::default()`.
fn default_prefix() -> String {
    let source = read(&root().join("crates/hose-amqp/src/config.rs"));
    let (_, defaults) = source
        .split_once("impl Default for AmqpOptions")
        .expect("AmqpOptions' Default impl in crates/hose-amqp/src/config.rs");
    let (_, rest) = defaults
        .split_once("prefix: \"")
        .expect("the default prefix in AmqpOptions' Default impl");
    rest.split('"').next().expect("a quoted prefix").to_owned()
}

/// The YAML documents of every manifest in `deploy/kubernetes`, with their file.
fn kubernetes_documents() -> Vec<(PathBuf, String)> {
    let mut documents = Vec::new();
    for file in files(&root().join("deploy/kubernetes"), &[".yaml"]) {
        let text = read(&file);
        let mut current = String::new();
        for line in text.lines() {
            if line.trim_end() == "---" {
                documents.push((file.clone(), std::mem::take(&mut current)));
            } else {
                current.push_str(line);
                current.push('\n');
            }
        }
        documents.push((file, current));
    }
    documents
}

fn has_line(document: &str, wanted: &str) -> bool {
    document.lines().any(|line| line.trim_end() == wanted)
}

/// The first value of `key:` in `document` at any indentation, unquoted.
fn value_of(document: &str, key: &str) -> Option<String> {
    document.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(key)?.strip_prefix(':')?;
        Some(rest.trim().trim_matches('"').to_owned())
    })
}

#[test]
fn scaled_objects_watch_the_queues_of_the_roles_they_scale() {
    let prefix = default_prefix();
    let subscribers = subscriber_names();
    let role_of: BTreeMap<&str, &str> = SUBSCRIBER_ROLES.into_iter().collect();
    let documents = kubernetes_documents();
    let mut scaled = 0;
    for (file, document) in &documents {
        if !has_line(document, "kind: ScaledObject") {
            continue;
        }
        scaled += 1;
        let queue = value_of(document, "queueName")
            .unwrap_or_else(|| panic!("{}: a ScaledObject without queueName", file.display()));
        let subscriber = queue
            .strip_prefix(&prefix)
            .filter(|name| subscribers.contains(*name))
            .unwrap_or_else(|| {
                panic!(
                    "{}: queue `{queue}` is not `{prefix}` + one of the subscribers {subscribers:?}",
                    file.display()
                )
            });
        let role = role_of.get(subscriber).unwrap_or_else(|| {
            panic!("{}: no role runs subscriber `{subscriber}`", file.display())
        });
        // scaleTargetRef names a Deployment (its default kind) by its name.
        let (_, target_part) = document
            .split_once("scaleTargetRef:")
            .unwrap_or_else(|| panic!("{}: a ScaledObject without scaleTargetRef", file.display()));
        let target = value_of(target_part, "name").expect("scaleTargetRef.name");
        let deployment = documents
            .iter()
            .find(|(_, d)| {
                has_line(d, "kind: Deployment") && has_line(d, &format!("  name: {target}"))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: ScaledObject for `{queue}` targets `{target}`, which is no Deployment",
                    file.display()
                )
            });
        let roles: BTreeSet<String> = roles_values(&deployment.1)
            .iter()
            .flat_map(|value| parse_roles(value, &deployment.0))
            .collect();
        assert!(
            roles.contains(*role),
            "{}: `{target}` scales on `{queue}` but runs roles {roles:?}, not `{role}`",
            file.display()
        );
    }
    assert!(
        scaled >= 2,
        "only {scaled} ScaledObjects in deploy/kubernetes"
    );
}

#[test]
fn pods_get_no_service_links() {
    // Service links add variables such as EVENTHOSE_INGEST_API_PORT, which the configuration
    // refuses as unknown `EVENTHOSE_*` settings.
    let mut workloads = 0;
    for (file, document) in kubernetes_documents() {
        if has_line(&document, "kind: Deployment") || has_line(&document, "kind: StatefulSet") {
            workloads += 1;
            assert!(
                document.contains("enableServiceLinks: false"),
                "{}: a workload without enableServiceLinks: false",
                file.display()
            );
        }
    }
    assert!(
        workloads >= 4,
        "only {workloads} workloads in deploy/kubernetes"
    );
}

#[test]
fn kustomization_lists_every_manifest() {
    let dir = root().join("deploy/kubernetes");
    let kustomization = read(&dir.join("kustomization.yaml"));
    let listed: BTreeSet<String> = kustomization
        .split_once("resources:")
        .expect("a resources list")
        .1
        .lines()
        .skip(1)
        .map_while(|line| line.trim().strip_prefix("- ").map(str::to_owned))
        .collect();
    let present: BTreeSet<String> = files(&dir, &[".yaml"])
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|name| name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present, "kustomization.yaml resources vs files");
}

/// Every `eventhose_…` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("eventhose_") {
        let preceded_by_word = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if preceded_by_word {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[test]
fn alerts_use_only_metrics_the_code_exports() {
    let alerts = read(&root().join("deploy/prometheus/alerts.yml"));
    let used = metric_names(&alerts);
    assert!(used.len() >= 6, "only {used:?} found in alerts.yml");
    let mut exported = BTreeSet::new();
    for krate in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let src = krate.expect("a crate").path().join("src");
        if src.is_dir() {
            for file in files(&src, &[".rs"]) {
                let source = read(&file);
                exported.extend(
                    metric_names(&source)
                        .into_iter()
                        .filter(|name| source.contains(&format!("\"{name}\""))),
                );
            }
        }
    }
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name.as_str());
            !exported.contains(*name) && !exported.contains(base)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "alerts.yml uses metrics no crate exports: {missing:?}"
    );
}

/// GitHub's anchor for a Markdown heading: lower case, spaces to dashes, other punctuation
/// dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_alert_has_a_runbook_section() {
    let alerts = read(&root().join("deploy/prometheus/alerts.yml"));
    let runbook = read(&root().join("docs/operations.md"));
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| anchor(heading.trim_start_matches('#')))
        .collect();
    let alert_count = alerts.matches("- alert: ").count();
    let urls: Vec<&str> = alerts
        .lines()
        .filter_map(|line| line.trim().strip_prefix("runbook_url: "))
        .map(|url| url.trim_matches('"'))
        .collect();
    assert_eq!(urls.len(), alert_count, "alerts without a runbook_url");
    for url in urls {
        let (page, fragment) = url.split_once('#').expect("a runbook_url with an anchor");
        assert!(
            page.ends_with("docs/operations.md"),
            "{url} is not in docs/operations.md"
        );
        assert!(
            anchors.contains(fragment),
            "{url}: docs/operations.md has no heading with anchor `{fragment}`"
        );
    }
}
