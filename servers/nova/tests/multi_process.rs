//! Issue 6's multi-process run: api, scheduler, two compute hosts,
//! network and volume as separate `nova-service` processes sharing one
//! PostgreSQL database and one RabbitMQ broker, driven over HTTP. Boots
//! spread over both hosts; a SIGKILLed host turns `down` and new boots go
//! to the survivor; every other process exits 0 on SIGTERM.
//!
//! Needs FERROSTACK_PG_URL and FERROSTACK_AMQP_URL (skipped without them
//! unless FERROSTACK_REQUIRE_SERVICES=1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sql_support::testkit::TestDatabase;

const TOKEN: &str = "mp-admin-token";
const PROJECT: &str = "mp-admin";
const VERSION: (&str, &str) = ("X-OpenStack-Nova-API-Version", "2.3");

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{name} is required (FERROSTACK_REQUIRE_SERVICES=1)"
            );
            None
        }
    }
}

/// The child processes by name; all are SIGKILLed when dropped (a failed
/// assertion included).
#[derive(Default)]
struct Procs(Vec<(String, Child)>);

impl Procs {
    /// Panics when a process has exited on its own.
    fn assert_alive(&mut self) {
        for (name, c) in &mut self.0 {
            if let Some(status) = c.try_wait().unwrap() {
                panic!("{name} exited early: {status}");
            }
        }
    }

    /// SIGKILLs `name` and reaps it.
    fn kill(&mut self, name: &str) {
        let i = self.0.iter().position(|(n, _)| n == name).unwrap();
        let (_, mut c) = self.0.swap_remove(i);
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// SIGTERMs every process; their exit statuses by name.
    fn terminate_all(&mut self) -> BTreeMap<String, Option<ExitStatus>> {
        for (_, c) in &self.0 {
            let ok = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut out = BTreeMap::new();
        for (name, mut c) in std::mem::take(&mut self.0) {
            let status = loop {
                match c.try_wait().unwrap() {
                    Some(s) => break Some(s),
                    None if Instant::now() > deadline => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break None;
                    }
                    None => std::thread::sleep(Duration::from_millis(50)),
                }
            };
            out.insert(name, status);
        }
        out
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The command line shared by every role.
fn service(role: &str, db: &str, bus: &str, prefix: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nova-service"));
    cmd.args([
        "--role",
        role,
        "--db",
        db,
        "--bus",
        bus,
        "--bus-prefix",
        prefix,
    ])
    .args(["--heartbeat-ms", "300", "--down-time-ms", "2000"])
    .args(["--call-timeout-ms", "20000"])
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null());
    cmd
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("X-Auth-Token", TOKEN)
            .header(VERSION.0, VERSION.1);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// Boots `count` m1.tiny servers named `name-N` in one request.
    async fn boot(&self, name: &str, count: u32) {
        let body = json!({"server": {
            "name": name,
            "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b",
            "flavorRef": "1",
            "min_count": count,
            "max_count": count,
        }});
        self.send(reqwest::Method::POST, "/v2.1/servers", Some(body))
            .await;
    }

    /// `host -> up` from os-services.
    async fn services(&self) -> BTreeMap<String, bool> {
        let v = self.get("/v2.1/os-services").await;
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let host = s["host"].as_str().unwrap().to_owned();
                (host, s["state"] == "up")
            })
            .collect()
    }

    /// Waits until the `want` servers named `prefix-*` are all ACTIVE
    /// (failing on ERROR); their hosts by server id.
    async fn wait_active(
        &self,
        procs: &mut Procs,
        prefix: &str,
        want: usize,
    ) -> BTreeMap<String, String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            procs.assert_alive();
            let v = self.get("/v2.1/servers/detail").await;
            let mine: Vec<&Value> = v["servers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| {
                    s["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(&format!("{prefix}-")))
                })
                .collect();
            for s in &mine {
                assert_ne!(s["status"], "ERROR", "server went to ERROR: {s}");
            }
            let active = mine.iter().filter(|s| s["status"] == "ACTIVE").count();
            if mine.len() == want && active == want {
                return mine
                    .iter()
                    .map(|s| {
                        let host = s["OS-EXT-SRV-ATTR:host"].as_str().unwrap().to_owned();
                        (s["id"].as_str().unwrap().to_owned(), host)
                    })
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "{prefix}: {active}/{want} ACTIVE of {} listed",
                mine.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Polls os-services until `ok(services)` holds.
async fn wait_services(
    c: &Client,
    procs: &mut Procs,
    what: &str,
    ok: impl Fn(&BTreeMap<String, bool>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        procs.assert_alive();
        let s = c.services().await;
        if ok(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: services are {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count_on(hosts: &BTreeMap<String, String>, host: &str) -> usize {
    hosts.values().filter(|h| *h == host).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_in_separate_processes_share_postgres_and_amqp() {
    let Some(amqp) = env("FERROSTACK_AMQP_URL") else {
        eprintln!("skipped multi_process: FERROSTACK_AMQP_URL is unset");
        return;
    };
    let Some(pg) = TestDatabase::create("nova multi_process").await else {
        return;
    };
    let db = pg.url().expose().to_owned();
    // The broker may be shared with other runs: private queue names.
    let prefix = format!("mp-{}", uuid::Uuid::new_v4().simple());
    let mut procs = Procs::default();

    // The api first: it bootstraps the defaults the others rely on.
    let token = format!("{TOKEN}:{PROJECT}:admin,member");
    let mut api = service("api", &db, &amqp, &prefix)
        .args(["--bind", "127.0.0.1:0", "--token", &token])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = api.stdout.take().unwrap();
    procs.0.push(("api".into(), api));
    let line = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .unwrap();
            line
        }),
    )
    .await
    .expect("the api never said where it listens")
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("api said {line:?}"))
        .to_owned();
    for (name, role, host) in [
        ("scheduler", "scheduler", None),
        ("network", "network", None),
        ("volume", "volume", None),
        ("host-a", "compute", Some("host-a")),
        ("host-b", "compute", Some("host-b")),
    ] {
        let mut cmd = service(role, &db, &amqp, &prefix);
        if let Some(h) = host {
            cmd.args(["--host", h]);
        }
        procs.0.push((name.into(), cmd.spawn().unwrap()));
    }
    let c = Client {
        http: reqwest::Client::new(),
        base,
    };
    wait_services(&c, &mut procs, "both hosts up", |s| {
        s.get("host-a") == Some(&true) && s.get("host-b") == Some(&true)
    })
    .await;

    // Room for 25 servers in the project.
    let quota = json!({"quota_set": {"instances": 50, "cores": 50, "ram": 51200}});
    let path = format!("/v2.1/os-quota-sets/{PROJECT}");
    c.send(reqwest::Method::PUT, &path, Some(quota)).await;

    for _ in 0..4 {
        c.boot("first", 5).await;
    }
    let first = c.wait_active(&mut procs, "first", 20).await;
    let (a, b) = (count_on(&first, "host-a"), count_on(&first, "host-b"));
    eprintln!("first 20 servers: {a} on host-a, {b} on host-b");
    assert_eq!(a + b, 20, "{first:?}");
    assert!(a > 0 && b > 0, "one host got everything: {first:?}");

    procs.kill("host-b");
    wait_services(&c, &mut procs, "host-b down", |s| {
        s.get("host-b") == Some(&false) && s.get("host-a") == Some(&true)
    })
    .await;

    c.boot("after", 5).await;
    let after = c.wait_active(&mut procs, "after", 5).await;
    assert_eq!(count_on(&after, "host-a"), 5, "{after:?}");

    // Every surviving service stops cleanly on SIGTERM.
    for (name, status) in procs.terminate_all() {
        let status = status.unwrap_or_else(|| panic!("{name} ignored SIGTERM"));
        assert!(status.success(), "{name} exited with {status}");
    }
}
