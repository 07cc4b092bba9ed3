//! The deployment tree (`deploy/`), the `Dockerfile` and the runbook: every manifest parses, and
//! names, references, ports, images and command lines agree with each other and with the binary.
//!
//! The overlays are rendered here by a small subset of kustomize (resources, JSON 6902 patches,
//! images, namespace), enough for this tree; anything else in a kustomization fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

const CLUSTER_KIND: (&str, &str) = ("postgresql.cnpg.io/v1", "Cluster");
const JOB_KIND: (&str, &str) = ("batch/v1", "Job");
const SERVICE_KIND: (&str, &str) = ("serving.knative.dev/v1", "Service");
const CRONJOB_KIND: (&str, &str) = ("batch/v1", "CronJob");
/// The secret (and key) holding the checkpoints' Ed25519 signing key: made by the operator with
/// `torghut audit keygen` (docs/runbook.md), never by the cluster.
const SIGNING_KEY_SECRET: (&str, &str) = ("torghut-audit-signing-key", "signing.key");
const BINARY_PATH: &str = "/usr/local/bin/torghut";
const OVERLAYS: [&str; 2] = ["stage", "prod"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// Every YAML document of a file, as JSON values (empty documents skipped).
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        if !v.is_null() {
            docs.push(v);
        }
    }
    docs
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {}", name_of(v)))
}

fn name_of(v: &Value) -> String {
    format!(
        "{} {}",
        v["kind"].as_str().unwrap_or("?"),
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
    )
}

fn is_kind(v: &Value, (api, kind): (&str, &str)) -> bool {
    v["apiVersion"] == api && v["kind"] == kind
}

/// Renders a kustomization directory: its resources (files or kustomization directories), then
/// its patches, images and namespace.
fn render(dir: &Path) -> Vec<Value> {
    let kfile = dir.join("kustomization.yaml");
    let docs = yaml_docs(&kfile);
    assert_eq!(docs.len(), 1, "{}: one document", kfile.display());
    let k = &docs[0];
    assert_eq!(k["apiVersion"], "kustomize.config.k8s.io/v1beta1");
    assert_eq!(k["kind"], "Kustomization");
    let known: BTreeSet<&str> = [
        "apiVersion",
        "kind",
        "namespace",
        "labels",
        "resources",
        "images",
        "patches",
    ]
    .into();
    for key in k.as_object().expect("a mapping").keys() {
        assert!(
            known.contains(key.as_str()),
            "{}: `{key}` is not understood by this test's renderer",
            kfile.display()
        );
    }
    let mut out = Vec::new();
    let resources = k["resources"].as_array().expect("resources: a list");
    assert!(!resources.is_empty());
    for r in resources {
        let path = dir.join(r.as_str().expect("a resource path"));
        assert!(
            path.exists(),
            "{} lists {}: missing",
            kfile.display(),
            path.display()
        );
        if path.is_dir() {
            out.extend(render(&path));
            continue;
        }
        let docs = yaml_docs(&path);
        assert!(!docs.is_empty(), "{}: no document", path.display());
        for d in docs {
            for p in ["/apiVersion", "/kind", "/metadata/name"] {
                assert!(
                    d.pointer(p)
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty()),
                    "{}: {p} missing",
                    path.display()
                );
            }
            out.push(d);
        }
    }
    for p in k["patches"].as_array().into_iter().flatten() {
        let path = dir.join(str_at(p, "/path"));
        assert!(
            path.exists(),
            "{}: patch {} missing",
            kfile.display(),
            path.display()
        );
        let target = &p["target"];
        let matching: Vec<usize> = (0..out.len())
            .filter(|&i| {
                let r = &out[i];
                let api = format!(
                    "{}/{}",
                    str_at(target, "/group"),
                    str_at(target, "/version")
                );
                r["apiVersion"] == api.as_str()
                    && r["kind"] == target["kind"]
                    && r["metadata"]["name"] == target["name"]
            })
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "patch {} matches one resource",
            path.display()
        );
        let docs = yaml_docs(&path);
        let ops = docs[0].as_array().expect("a JSON 6902 patch is a list");
        for op in ops {
            apply_op(&mut out[matching[0]], op, &path);
        }
    }
    for img in k["images"].as_array().into_iter().flatten() {
        let name = str_at(img, "/name");
        let new = format!("{}:{}", str_at(img, "/newName"), str_at(img, "/newTag"));
        let mut hits = 0;
        for r in &mut out {
            for c in containers_mut(r) {
                if c["image"].as_str().map(image_name) == Some(name) {
                    c["image"] = Value::String(new.clone());
                    hits += 1;
                }
            }
        }
        assert!(
            hits > 0,
            "{}: image {name} names no container",
            kfile.display()
        );
    }
    if let Some(ns) = k["namespace"].as_str() {
        for r in &mut out {
            r["metadata"]["namespace"] = Value::String(ns.to_string());
        }
    }
    out
}

fn apply_op(doc: &mut Value, op: &Value, file: &Path) {
    let path = str_at(op, "/path");
    let value = op["value"].clone();
    let slot = doc
        .pointer_mut(path)
        .unwrap_or_else(|| panic!("{}: {path} does not exist in the base", file.display()));
    match str_at(op, "/op") {
        "test" => assert_eq!(*slot, value, "{}: test of {path} fails", file.display()),
        "replace" => *slot = value,
        other => panic!("{}: op {other} not supported here", file.display()),
    }
}

/// The image without its tag or digest.
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// Where a workload keeps its pod spec (a CronJob: in its job template).
fn pod_spec_pointer(r: &Value) -> &'static str {
    if is_kind(r, CRONJOB_KIND) {
        "/spec/jobTemplate/spec/template/spec"
    } else {
        "/spec/template/spec"
    }
}

fn pod_spec(r: &Value) -> &Value {
    r.pointer(pod_spec_pointer(r))
        .unwrap_or_else(|| panic!("{} has no pod template", name_of(r)))
}

fn containers(r: &Value) -> Vec<&Value> {
    let spec = pod_spec(r);
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
        .collect()
}

fn containers_mut(r: &mut Value) -> Vec<&mut Value> {
    let Some(spec) = r.pointer_mut(pod_spec_pointer(r)) else {
        return Vec::new();
    };
    let Some(obj) = spec.as_object_mut() else {
        return Vec::new();
    };
    obj.iter_mut()
        .filter(|(k, _)| *k == "initContainers" || *k == "containers")
        .flat_map(|(_, v)| v.as_array_mut().into_iter().flatten())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn env_value<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
}

/// Containers running the torghut binary.
fn torghut_containers(r: &Value) -> Vec<&Value> {
    containers(r)
        .into_iter()
        .filter(|c| strings(&c["command"]).first().map(String::as_str) == Some(BINARY_PATH))
        .collect()
}

fn one<'a>(rs: &'a [Value], kind: (&str, &str)) -> &'a Value {
    let found: Vec<&Value> = rs.iter().filter(|r| is_kind(r, kind)).collect();
    assert_eq!(found.len(), 1, "one {kind:?}");
    found[0]
}

/// The secrets a CloudNativePG cluster declares, with the keys each must hold: the ones the
/// operator generates, and the ones it reads (owner secret, managed role password secrets), which
/// the platform provides with `username` and `password` (required by the operator) and `uri` (read
/// by the Job and the service; docs/runbook.md says how it is made).
fn cluster_secrets(
    cluster: &Value,
) -> (
    BTreeMap<String, BTreeSet<&'static str>>,
    BTreeMap<String, String>,
) {
    let name = str_at(cluster, "/metadata/name");
    let mut secrets: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    // secret name -> the role whose credentials it holds
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    secrets.insert(format!("{name}-ca"), ["ca.crt"].into());
    let provided: BTreeSet<&'static str> = ["username", "password", "uri"].into();
    let initdb = &cluster["spec"]["bootstrap"]["initdb"];
    let owner = str_at(initdb, "/owner").to_string();
    match initdb.pointer("/secret/name").and_then(Value::as_str) {
        Some(s) => {
            secrets.insert(s.to_string(), provided.clone());
            roles.insert(s.to_string(), owner);
        }
        None => {
            secrets.insert(
                format!("{name}-app"),
                [
                    "username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass",
                ]
                .into(),
            );
            roles.insert(format!("{name}-app"), owner);
        }
    }
    if cluster["spec"]["enableSuperuserAccess"] == true {
        secrets.insert(
            format!("{name}-superuser"),
            ["username", "password", "uri"].into(),
        );
        roles.insert(format!("{name}-superuser"), "postgres".into());
    }
    for role in cluster["spec"]["managed"]["roles"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(s) = role.pointer("/passwordSecret/name").and_then(Value::as_str) {
            assert!(
                !secrets.contains_key(s),
                "secret {s} would hold two roles' credentials"
            );
            secrets.insert(s.to_string(), provided.clone());
            roles.insert(s.to_string(), str_at(role, "/name").to_string());
        }
    }
    (secrets, roles)
}

/// (secret, key) of every secret a workload reads: env secretKeyRefs and secret volumes.
fn secret_refs(r: &Value) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for c in containers(r) {
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(s) = e.pointer("/valueFrom/secretKeyRef") {
                refs.push((str_at(s, "/name").into(), str_at(s, "/key").into()));
            }
        }
        assert!(
            c.get("envFrom").is_none(),
            "envFrom hides which keys are read"
        );
    }
    for v in pod_spec(r)["volumes"].as_array().into_iter().flatten() {
        if let Some(s) = v.get("secret") {
            let name = str_at(s, "/secretName");
            let items = s["items"]
                .as_array()
                .expect("secret volumes list their items");
            for i in items {
                refs.push((name.into(), str_at(i, "/key").into()));
            }
        }
    }
    refs
}

fn dsn_secret(c: &Value) -> (String, String) {
    let e = env_value(c, "DB_DSN").unwrap_or_else(|| panic!("{} has no DB_DSN", c["name"]));
    assert!(e.get("value").is_none(), "DB_DSN is never a literal");
    (
        str_at(e, "/valueFrom/secretKeyRef/name").into(),
        str_at(e, "/valueFrom/secretKeyRef/key").into(),
    )
}

/// The uid a container runs as: its own `runAsUser`, else the pod's.
fn effective_uid(r: &Value, c: &Value) -> Option<i64> {
    c.pointer("/securityContext/runAsUser")
        .or_else(|| pod_spec(r).pointer("/securityContext/runAsUser"))
        .and_then(Value::as_i64)
}

fn check_security(r: &Value) {
    let pod = &pod_spec(r)["securityContext"];
    if is_kind(r, SERVICE_KIND) {
        // Knative's admission webhook, with its default feature flags
        // (kubernetes.podspec-securitycontext disabled), refuses a pod-level securityContext
        // holding seccompProfile, and automountServiceAccountToken: none at the pod level; the
        // container carries seccompProfile (allowed there).
        assert!(
            pod_spec(r).get("securityContext").is_none(),
            "{}: pod securityContext {pod}",
            name_of(r)
        );
        assert!(pod_spec(r).get("automountServiceAccountToken").is_none());
        for c in containers(r) {
            assert_eq!(
                c["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault",
                "{}: container seccompProfile",
                name_of(r)
            );
        }
    } else {
        assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(
            pod["runAsNonRoot"],
            true,
            "{}: pod runAsNonRoot",
            name_of(r)
        );
        assert_eq!(pod_spec(r)["automountServiceAccountToken"], false);
    }
    for c in containers(r) {
        let sc = &c["securityContext"];
        let what = format!("{} container {}", name_of(r), c["name"]);
        assert_eq!(sc["runAsNonRoot"], true, "{what}");
        assert!(
            effective_uid(r, c).is_some_and(|u| u > 0),
            "{what}: a non-root runAsUser"
        );
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{what}");
        assert!(sc["capabilities"].get("add").is_none(), "{what}");
        assert!(sc.get("privileged").is_none_or(|p| p == false), "{what}");
        let res = &c["resources"];
        assert!(
            res.pointer("/requests/cpu").is_some(),
            "{what}: cpu request"
        );
        assert!(
            res.pointer("/requests/memory").is_some(),
            "{what}: memory request"
        );
        assert!(
            res.pointer("/limits/memory").is_some(),
            "{what}: memory limit"
        );
    }
}

/// Checks one rendered tree. `env` is the APP_ENV it must run with.
fn check_tree(rs: &[Value], env: &str) {
    let mut seen = BTreeSet::new();
    for r in rs {
        assert!(
            seen.insert((
                r["apiVersion"].to_string(),
                r["kind"].to_string(),
                name_of(r)
            )),
            "{} appears twice",
            name_of(r)
        );
    }
    let cluster = one(rs, CLUSTER_KIND);
    let job = one(rs, JOB_KIND);
    let service = one(rs, SERVICE_KIND);
    let cronjob = one(rs, CRONJOB_KIND);
    let cluster_name = str_at(cluster, "/metadata/name");
    let namespaces: BTreeSet<&str> = rs
        .iter()
        .map(|r| str_at(r, "/metadata/namespace"))
        .collect();
    assert_eq!(namespaces.len(), 1, "one namespace: {namespaces:?}");

    // The cluster.
    let spec = &cluster["spec"];
    let pg_image = str_at(spec, "/imageName");
    assert!(pg_image.contains(":15"), "PostgreSQL 15: {pg_image}");
    let initdb = &spec["bootstrap"]["initdb"];
    assert_eq!(initdb["dataChecksums"], true);
    assert_eq!(initdb["database"], "torghut");
    assert_eq!(initdb["owner"], "torghut_owner");
    let params = spec["postgresql"]["parameters"]
        .as_object()
        .expect("parameters");
    assert!(!params.is_empty());
    for (k, v) in params {
        assert!(v.is_string(), "postgresql.parameters.{k} must be a string");
    }
    let runtime: Vec<&Value> = spec["managed"]["roles"]
        .as_array()
        .expect("managed roles")
        .iter()
        .filter(|r| r["name"] == "torghut_runtime")
        .collect();
    assert_eq!(runtime.len(), 1);
    let runtime = runtime[0];
    assert_eq!(runtime["ensure"], "present");
    assert_eq!(runtime["login"], true);
    for flag in [
        "superuser",
        "createdb",
        "createrole",
        "replication",
        "bypassrls",
    ] {
        assert_eq!(runtime[flag], false, "torghut_runtime {flag}");
    }
    // The post-init SQL prepares the runtime role that the operator later gives a login; its
    // table privileges are the migrations' (no table-wide default privileges).
    let post_init = strings(&initdb["postInitApplicationSQL"]);
    assert!(post_init
        .iter()
        .any(|s| s.starts_with("CREATE ROLE torghut_runtime NOLOGIN")));
    assert!(
        !post_init.iter().any(|s| s.contains("DEFAULT PRIVILEGES")
            || s.contains("INSERT")
            || s.contains("UPDATE")),
        "{post_init:?}"
    );

    // Secrets: every reference resolves to a secret the cluster declares, with that key, or to
    // one the platform provides (docs/runbook.md says how each is made).
    let (mut secrets, roles) = cluster_secrets(cluster);
    secrets.insert(
        SIGNING_KEY_SECRET.0.to_string(),
        [SIGNING_KEY_SECRET.1].into(),
    );
    for w in [job, service, cronjob] {
        for (name, key) in secret_refs(w) {
            let keys = secrets.get(&name).unwrap_or_else(|| {
                panic!(
                    "{} reads secret {name}, which cluster {cluster_name} does not declare ({:?})",
                    name_of(w),
                    secrets.keys()
                )
            });
            assert!(
                keys.contains(key.as_str()),
                "{} reads {name}/{key}: not a key of it",
                name_of(w)
            );
        }
    }
    // The service runs as the runtime role, from torghut-db-app/uri; the Job as the owner.
    let svc = torghut_containers(service);
    assert_eq!(svc.len(), 1);
    let svc = svc[0];
    assert_eq!(dsn_secret(svc), ("torghut-db-app".into(), "uri".into()));
    assert_eq!(roles["torghut-db-app"], "torghut_runtime");
    let job_steps = torghut_containers(job);
    assert!(job_steps.len() >= 2);
    for c in &job_steps {
        let (secret, key) = dsn_secret(c);
        assert_eq!(key, "uri");
        assert_eq!(roles[&secret], "torghut_owner", "the Job runs as the owner");
    }

    // The service.
    let tspec = pod_spec(service);
    let args = strings(&svc["args"]);
    assert_eq!(args[0], "serve");
    let bind = args
        .iter()
        .position(|a| a == "--bind")
        .map(|i| args[i + 1].clone())
        .expect("serve --bind");
    let (host, port) = bind.rsplit_once(':').expect("--bind HOST:PORT");
    assert_eq!(host, "0.0.0.0", "listens on every interface of the pod");
    let port: u64 = port.parse().expect("a port");
    let ports = svc["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1, "Knative takes one port");
    assert_eq!(ports[0]["containerPort"], port);
    assert_eq!(str_at(svc, "/readinessProbe/httpGet/path"), "/readyz");
    assert_eq!(str_at(svc, "/livenessProbe/httpGet/path"), "/healthz");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(svc[probe]["httpGet"]["port"], port, "{probe} port");
    }
    assert!(tspec["containerConcurrency"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert!(tspec["timeoutSeconds"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(
        env_value(svc, "TORGHUT_LOG_FORMAT").unwrap()["value"],
        "json"
    );
    let traffic = service["spec"]["traffic"].as_array().expect("traffic");
    let total: u64 = traffic
        .iter()
        .map(|t| t["percent"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 100, "traffic adds up to 100%");

    // The Job.
    let jspec = &job["spec"];
    assert!(jspec["backoffLimit"].as_u64().is_some());
    assert!(jspec["activeDeadlineSeconds"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert_eq!(pod_spec(job)["restartPolicy"], "Never");
    let steps = containers(job);
    let wait = steps[0];
    assert_eq!(
        str_at(wait, "/image"),
        pg_image,
        "pg_isready from the cluster's image"
    );
    let script = strings(&wait["command"]).join(" ");
    assert!(
        script.contains("pg_isready"),
        "the first step waits for the database"
    );
    assert!(
        script.contains(&format!("--host={cluster_name}-rw")),
        "{script}"
    );
    assert!(
        wait.get("env").is_none(),
        "the wait step gets no credentials"
    );
    let ups: Vec<Vec<String>> = job_steps
        .iter()
        .map(|c| strings(&c["args"]))
        .filter(|a| a.starts_with(&["migrate".to_string(), "up".to_string()]))
        .collect();
    assert_eq!(ups.len(), 1, "one step runs migrate up");
    let up = &ups[0];
    let lw = up
        .iter()
        .position(|a| a == "--lock-wait")
        .expect("a bounded lock wait");
    torghut_cli_duration(&up[lw + 1]);
    let up_index = job_steps
        .iter()
        .position(|c| strings(&c["args"]) == *up)
        .unwrap();
    assert!(
        job_steps[up_index + 1..].iter().any(
            |c| strings(&c["args"]).starts_with(&["migrate".to_string(), "verify".to_string()])
        ),
        "verify runs after up"
    );

    // The audit checkpoint CronJob: one step, as the runtime role, runs never overlapping and
    // each bounded in time.
    let cj = torghut_containers(cronjob);
    assert_eq!(cj.len(), 1);
    let cj = cj[0];
    assert_eq!(strings(&cj["args"])[..2], ["audit", "checkpoint"]);
    // Every checkpoint is signed as an anchor, with the key from its secret, mounted read-only
    // and readable by the Job's group only.
    let args = strings(&cj["args"]);
    let key_path = args
        .iter()
        .position(|a| a == "--signing-key")
        .and_then(|i| args.get(i + 1))
        .expect("the CronJob signs its checkpoints (--signing-key)");
    let volume = pod_spec(cronjob)["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v.pointer("/secret/secretName") == Some(&Value::from(SIGNING_KEY_SECRET.0)))
        .expect("the signing key secret is a volume");
    let mount = cj["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == volume["name"])
        .expect("the signing key volume is mounted");
    assert_eq!(mount["readOnly"], true);
    let item = &volume["secret"]["items"][0];
    assert_eq!(item["key"], SIGNING_KEY_SECRET.1);
    assert_eq!(
        key_path,
        &format!("{}/{}", str_at(mount, "/mountPath"), str_at(item, "/path"))
    );
    assert_eq!(
        volume["secret"]["defaultMode"], 0o440,
        "0440, written in decimal"
    );
    assert_eq!(
        pod_spec(cronjob)["securityContext"]["fsGroup"],
        pod_spec(cronjob)["securityContext"]["runAsGroup"],
        "the key file is readable by the Job's group"
    );
    assert_eq!(dsn_secret(cj), ("torghut-db-app".into(), "uri".into()));
    let cspec = &cronjob["spec"];
    assert_eq!(cspec["concurrencyPolicy"], "Forbid");
    assert_eq!(
        str_at(cspec, "/schedule").split_whitespace().count(),
        5,
        "a five-field cron schedule"
    );
    assert!(cspec
        .pointer("/jobTemplate/spec/activeDeadlineSeconds")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0));
    assert_eq!(pod_spec(cronjob)["restartPolicy"], "Never");

    // One image for every torghut container, and APP_ENV everywhere.
    let images: BTreeSet<&str> = job_steps
        .iter()
        .chain([&svc, &cj])
        .map(|c| str_at(c, "/image"))
        .collect();
    assert_eq!(
        images.len(),
        1,
        "Job, Service and CronJob run one image: {images:?}"
    );
    for c in job_steps.iter().chain([&svc, &cj]) {
        assert_eq!(
            env_value(c, "APP_ENV").expect("APP_ENV")["value"],
            env,
            "container {}",
            c["name"]
        );
    }
    for w in [job, service, cronjob] {
        check_security(w);
    }
}

/// A `--lock-wait` value the binary accepts (same units as its parser).
fn torghut_cli_duration(s: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_torghut"))
        .args(["migrate", "--lock-wait", s, "--help"])
        .output()
        .unwrap();
    assert!(o.status.success(), "--lock-wait {s} is refused");
}

#[test]
fn the_base_parses_and_its_references_agree() {
    let rs = render(&deploy().join("base"));
    check_tree(&rs, "prod");
    for r in &rs {
        assert_eq!(r["metadata"]["namespace"], "torghut");
    }
}

#[test]
fn every_overlay_renders_with_its_app_env_and_a_pinned_image() {
    let dirs: BTreeSet<String> = std::fs::read_dir(deploy().join("overlays"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs, OVERLAYS.iter().map(|s| s.to_string()).collect());
    let mut namespaces = BTreeSet::new();
    for env in OVERLAYS {
        let rs = render(&deploy().join("overlays").join(env));
        check_tree(&rs, env);
        let svc = torghut_containers(one(&rs, SERVICE_KIND))[0];
        let image = str_at(svc, "/image");
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            image.contains('/') && !tag.is_empty() && tag != "latest" && !tag.contains('/'),
            "{env}: a registry image with a pinned tag: {image}"
        );
        namespaces.insert(str_at(&rs[0], "/metadata/namespace").to_string());
    }
    assert_eq!(
        namespaces.len(),
        OVERLAYS.len(),
        "one namespace per environment"
    );
}

/// The stages of a Dockerfile: (FROM line, instructions).
fn dockerfile_stages() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let mut joined = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => {
                cur.push_str(part);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                if !cur.trim().is_empty() {
                    joined.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for ins in joined {
        if ins.starts_with("FROM ") {
            stages.push((ins, Vec::new()));
        } else {
            stages.last_mut().expect("FROM first").1.push(ins);
        }
    }
    stages
}

#[test]
fn the_dockerfile_builds_the_binary_the_manifests_run_as_a_non_root_user() {
    let stages = dockerfile_stages();
    assert!(stages.len() >= 2, "multi-stage");
    let (from, builder) = &stages[0];
    assert!(from.starts_with("FROM rust:1.95"), "{from}");
    let builder_alias = from.rsplit(' ').next().unwrap();
    assert!(builder
        .iter()
        .any(|i| i.starts_with("RUN ") && i.contains("cargo build --release --locked -p torghut")));
    let (from, last) = stages.last().unwrap();
    assert!(
        from.contains("distroless") || from.contains("slim"),
        "{from}"
    );
    let user = last
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("the final stage sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "non-root user: {user}");
    let copies: Vec<&String> = last.iter().filter(|i| i.starts_with("COPY")).collect();
    assert_eq!(copies.len(), 1, "only the binary is copied: {copies:?}");
    let words: Vec<&str> = copies[0].split_whitespace().collect();
    assert_eq!(words[1], format!("--from={builder_alias}"));
    assert_eq!(*words.last().unwrap(), BINARY_PATH);
    let entry = last
        .iter()
        .find_map(|i| i.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    let entry: Vec<String> = serde_json::from_str(entry).expect("exec-form ENTRYPOINT");
    assert_eq!(entry, [BINARY_PATH]);
    // The manifests run that path, as the same uid.
    let rs = render(&deploy().join("base"));
    for w in [one(&rs, JOB_KIND), one(&rs, SERVICE_KIND)] {
        let steps = torghut_containers(w);
        assert!(!steps.is_empty());
        for c in steps {
            assert_eq!(
                effective_uid(w, c).map(|u| u.to_string()).as_deref(),
                Some(uid),
                "{} container {} runs as the image's user",
                name_of(w),
                c["name"]
            );
        }
    }
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    let ignored: BTreeSet<&str> = ignore
        .lines()
        .map(|l| l.trim().trim_end_matches('/'))
        .collect();
    for p in ["target", ".torghut", ".git"] {
        assert!(ignored.contains(p), ".dockerignore leaves out {p}");
    }
}

fn help(path: &[String]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_torghut"))
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "torghut {} --help fails",
        path.join(" ")
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Splits `migrate up --lock-wait 120s --json` into its subcommands and flags, checks the binary
/// knows them all, then runs the command line with no database: it must get past argument
/// parsing and stop at the missing DSN (exit 2, no usage error).
fn check_command_line(args: &[String], envs: &[(String, String)]) {
    let subs: Vec<String> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let h = help(&subs);
    let top = help(&[]);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        let flag = flag.split('=').next().unwrap();
        assert!(
            h.contains(&format!("{flag} ")) || h.contains(&format!("{flag}\n")),
            "torghut {} does not accept {flag}",
            subs.join(" ")
        );
    }
    for (name, _) in envs {
        assert!(
            h.contains(name.as_str()) || top.contains(name.as_str()),
            "the binary does not document the variable {name}"
        );
    }
    // A signing key named on the command line is read before anything else: give it one.
    let keys = tempfile::tempdir().unwrap();
    let mut args = args.to_vec();
    if let Some(i) = args.iter().position(|a| a == "--signing-key") {
        let key = keys.path().join("signing.key");
        let o = Command::new(env!("CARGO_BIN_EXE_torghut"))
            .args(["audit", "keygen", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        args[i + 1] = key.display().to_string();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_torghut"))
        .args(&args)
        .env_clear()
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("torghut {} without a database did not exit", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "torghut {}: {out}",
        args.join(" ")
    );
    assert!(
        !out.contains("Usage:") && out.contains("DB_DSN"),
        "torghut {}: parsed, then refused for the missing database: {out}",
        args.join(" ")
    );
}

#[test]
fn every_command_line_in_the_manifests_is_accepted_by_the_binary() {
    let mut checked = BTreeSet::new();
    for env in OVERLAYS {
        let rs = render(&deploy().join("overlays").join(env));
        for w in [
            one(&rs, JOB_KIND),
            one(&rs, SERVICE_KIND),
            one(&rs, CRONJOB_KIND),
        ] {
            for c in torghut_containers(w) {
                let args = strings(&c["args"]);
                // Plain values only: the DSN (a secret) is left out on purpose.
                let envs: Vec<(String, String)> = c["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let v = e["value"].as_str()?;
                        Some((str_at(e, "/name").to_string(), v.to_string()))
                    })
                    .collect();
                check_command_line(&args, &envs);
                checked.insert(args);
            }
        }
    }
    assert!(checked.len() >= 4, "{checked:?}");
}

#[test]
fn the_runbook_names_the_secrets_and_only_real_migrate_flags() {
    let runbook = std::fs::read_to_string(repo().join("docs/runbook.md")).expect("docs/runbook.md");
    let rs = render(&deploy().join("base"));
    let (secrets, roles) = cluster_secrets(one(&rs, CLUSTER_KIND));
    for (name, role) in &roles {
        assert!(
            runbook.contains(name.as_str()),
            "the runbook explains secret {name}"
        );
        assert!(
            runbook.contains(role.as_str()),
            "the runbook names role {role}"
        );
        for key in &secrets[name] {
            assert!(
                runbook.contains(&format!("`{key}`")),
                "the runbook names key {key}"
            );
        }
    }
    // Every `torghut migrate ...` command shown uses subcommands and flags the binary has.
    let mut n = 0;
    for line in runbook.lines() {
        let Some(rest) = line.trim().strip_prefix("torghut migrate ") else {
            continue;
        };
        let words: Vec<String> = std::iter::once("migrate".to_string())
            .chain(rest.split_whitespace().map(str::to_string))
            .take_while(|w| !w.starts_with('#') && w != "|" && w != ">" && w != "&&")
            .collect();
        let subs: Vec<String> = words
            .iter()
            .take_while(|a| !a.starts_with('-'))
            .cloned()
            .collect();
        let h = help(&subs);
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(
                h.contains(flag),
                "runbook line `{line}`: {flag} unknown to torghut {}",
                subs.join(" ")
            );
        }
        n += 1;
    }
    assert!(n >= 5, "the runbook shows the migrate commands ({n})");
}
