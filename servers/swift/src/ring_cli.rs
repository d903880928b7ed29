//! `swift-ring`: build and inspect rings, in the style of
//! swift-ring-builder.
//!
//! ```text
//! swift-ring create object.builder 10 3 1
//! swift-ring add object.builder r1z1-127.0.0.1:6200/sdb1 100
//! swift-ring rebalance object.builder --seed 7       # writes object.ring
//! swift-ring show object.builder
//! ```

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::{Parser, Subcommand};
use swift_core::ring::{DeviceSpec, RebalanceOptions, Ring, RingBuilder, RING_MAGIC};

/// Command line of `swift-ring`.
#[derive(Debug, Parser)]
#[command(
    name = "swift-ring",
    about = "Build and inspect ferrostack Swift rings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new, empty builder file.
    Create {
        builder: PathBuf,
        part_power: u8,
        replicas: usize,
        min_part_hours: u32,
    },
    /// Add a device: `r1z1-127.0.0.1:6200/sdb1[_meta] <weight>`, or flags.
    Add {
        builder: PathBuf,
        /// Device in swift-ring-builder syntax.
        spec: Option<String>,
        /// Weight (with a device spec).
        weight: Option<f64>,
        #[arg(long, default_value_t = 1)]
        region: u8,
        #[arg(long)]
        zone: Option<u8>,
        #[arg(long)]
        ip: Option<String>,
        #[arg(long)]
        port: Option<u16>,
        #[arg(long)]
        device: Option<String>,
        #[arg(long = "weight", id = "weight_flag")]
        weight_flag: Option<f64>,
        #[arg(long, default_value = "")]
        meta: String,
    },
    /// Remove a device by id; the next rebalance moves its partitions.
    Remove { builder: PathBuf, id: u16 },
    /// Change a device's weight.
    SetWeight {
        builder: PathBuf,
        id: u16,
        weight: f64,
    },
    /// Change min_part_hours.
    SetMinPartHours { builder: PathBuf, hours: u32 },
    /// Reassign partitions and write the ring file.
    Rebalance {
        builder: PathBuf,
        /// Seed of the placement RNG (default 0).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Ring file to write (default: the builder path with `.ring`).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Let the next rebalance move any partition.
    PretendMinPartHoursPassed { builder: PathBuf },
    /// Show a builder or ring file: devices, partitions, balance.
    Show { file: PathBuf },
    /// Where a path lives (like swift-get-nodes): its partition, primary
    /// and first handoff devices, as JSON.
    Nodes {
        ring: PathBuf,
        account: String,
        container: Option<String>,
        object: Option<String>,
        /// The cluster's `swift_hash_path_prefix`.
        #[arg(long, default_value = "")]
        hash_prefix: String,
        /// The cluster's `swift_hash_path_suffix`.
        #[arg(long, default_value = "")]
        hash_suffix: String,
    },
}

/// Runs `swift-ring` with `args` (the first is the program name, as in
/// `std::env::args`). Output goes to stdout; errors are returned.
pub fn run(mut args: Vec<String>) -> anyhow::Result<()> {
    // Also accept swift-ring-builder's order, `<builder> <command> ...`.
    const COMMANDS: &[&str] = &[
        "create",
        "add",
        "remove",
        "set-weight",
        "set-min-part-hours",
        "rebalance",
        "pretend-min-part-hours-passed",
        "show",
        "nodes",
    ];
    if args.len() >= 3
        && !COMMANDS.contains(&args[1].as_str())
        && COMMANDS.contains(&args[2].as_str())
    {
        args.swap(1, 2);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            print!("{e}");
            return Ok(());
        }
        Err(e) => return Err(anyhow!("{}", e.render().to_string().trim_end())),
    };
    match cli.command {
        Command::Create {
            builder,
            part_power,
            replicas,
            min_part_hours,
        } => {
            if builder.exists() {
                bail!("{} already exists", builder.display());
            }
            let b = RingBuilder::create(part_power, replicas, min_part_hours)?;
            save(&b, &builder)
        }
        Command::Add {
            builder,
            spec,
            weight,
            region,
            zone,
            ip,
            port,
            device,
            weight_flag,
            meta,
        } => {
            let weight = weight
                .or(weight_flag)
                .ok_or_else(|| anyhow!("a weight is required"))?;
            let mut spec = match spec {
                Some(s) => parse_device(&s, weight)?,
                None => DeviceSpec::new(
                    region,
                    zone.ok_or_else(|| anyhow!("--zone is required"))?,
                    ip.ok_or_else(|| anyhow!("--ip is required"))?,
                    port.ok_or_else(|| anyhow!("--port is required"))?,
                    device.ok_or_else(|| anyhow!("--device is required"))?,
                    weight,
                ),
            };
            if !meta.is_empty() {
                spec.meta = meta;
            }
            let mut b = load(&builder)?;
            let id = b.add(spec.clone())?;
            save(&b, &builder)?;
            println!(
                "Device d{id}r{}z{}-{}:{}/{}_\"{}\" with {} weight got id {id}",
                spec.region, spec.zone, spec.ip, spec.port, spec.device, spec.meta, spec.weight
            );
            Ok(())
        }
        Command::Remove { builder, id } => {
            let mut b = load(&builder)?;
            let d = b.remove(id)?;
            save(&b, &builder)?;
            println!("d{id} {}:{}/{} marked for removal", d.ip, d.port, d.device);
            Ok(())
        }
        Command::SetWeight {
            builder,
            id,
            weight,
        } => {
            let mut b = load(&builder)?;
            b.set_weight(id, weight)?;
            save(&b, &builder)?;
            println!("d{id} weight set to {weight}");
            Ok(())
        }
        Command::SetMinPartHours { builder, hours } => {
            let mut b = load(&builder)?;
            b.set_min_part_hours(hours);
            save(&b, &builder)?;
            println!("The minimum number of hours before a partition can be reassigned is now set to {hours}");
            Ok(())
        }
        Command::Rebalance {
            builder,
            seed,
            output,
        } => rebalance(&builder, seed, output),
        Command::PretendMinPartHoursPassed { builder } => {
            let mut b = load(&builder)?;
            b.pretend_min_part_hours_passed();
            save(&b, &builder)
        }
        Command::Show { file } => show(&file),
        Command::Nodes {
            ring,
            account,
            container,
            object,
            hash_prefix,
            hash_suffix,
        } => {
            let ring = Ring::load(&ring)
                .with_context(|| format!("cannot load ring {}", ring.display()))?;
            let hash = swift_core::hash::HashConfig::new(&hash_prefix, &hash_suffix);
            let v = nodes_json(
                &ring,
                &hash,
                &account,
                container.as_deref(),
                object.as_deref(),
            );
            println!("{v}");
            Ok(())
        }
    }
}

/// The partition of a path and its primary and handoff devices.
fn nodes_json(
    ring: &Ring,
    hash: &swift_core::hash::HashConfig,
    account: &str,
    container: Option<&str>,
    object: Option<&str>,
) -> serde_json::Value {
    let part = ring.partition_for(hash, account, container, object);
    let dev = |n: swift_core::ring::NodeRef<'_>| {
        serde_json::json!({
            "id": n.device.id,
            "ip": n.device.ip,
            "port": n.device.port,
            "device": n.device.device,
            "zone": n.device.zone,
        })
    };
    serde_json::json!({
        "partition": part,
        "primaries": ring.primary_nodes(part).into_iter().map(dev).collect::<Vec<_>>(),
        "handoffs": ring.handoff_nodes(part).into_iter().map(dev).collect::<Vec<_>>(),
    })
}

fn load(path: &Path) -> anyhow::Result<RingBuilder> {
    RingBuilder::load(path).with_context(|| format!("cannot load builder {}", path.display()))
}

fn save(b: &RingBuilder, path: &Path) -> anyhow::Result<()> {
    b.save(path)
        .with_context(|| format!("cannot save builder {}", path.display()))
}

/// `object.builder` -> `object.ring`; other names get `.ring` appended.
fn ring_path(builder: &Path) -> PathBuf {
    match builder.extension() {
        Some(ext) if ext == "builder" => builder.with_extension("ring"),
        _ => {
            let mut s = builder.as_os_str().to_owned();
            s.push(".ring");
            PathBuf::from(s)
        }
    }
}

fn rebalance(builder: &Path, seed: u64, output: Option<PathBuf>) -> anyhow::Result<()> {
    let mut b = load(builder)?;
    let output = output.unwrap_or_else(|| ring_path(builder));
    let opts = RebalanceOptions {
        seed,
        ..RebalanceOptions::default()
    };
    let report = b.rebalance(&opts)?;
    let slots = b.partition_count() * b.replicas();
    if report.moved == 0 && output.exists() {
        println!(
            "No partitions could be reassigned. Either none need to be or none can be \
             due to min_part_hours [{}]. Balance is {:.2}.",
            b.min_part_hours(),
            report.balance
        );
        return Ok(());
    }
    save(&b, builder)?;
    b.build()
        .save(&output)
        .with_context(|| format!("cannot write ring {}", output.display()))?;
    println!(
        "Reassigned {} ({:.2}%) partition replicas. Balance is now {:.2}. Wrote {}",
        report.moved,
        100.0 * report.moved as f64 / slots as f64,
        report.balance,
        output.display()
    );
    Ok(())
}

fn show(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(RING_MAGIC) {
        let ring = Ring::from_bytes(&bytes)
            .with_context(|| format!("cannot load ring {}", path.display()))?;
        let mut counts = vec![0usize; ring.devices.len()];
        for row in &ring.replica2part2dev {
            for &d in row {
                if let Some(c) = counts.get_mut(usize::from(d)) {
                    *c += 1;
                }
            }
        }
        println!("{} (ring file)", path.display());
        print_table(
            &ring.devices,
            &counts,
            ring.partition_count() as usize,
            ring.replica_count(),
            None,
        );
    } else {
        let b = RingBuilder::from_bytes(&bytes)
            .with_context(|| format!("cannot load builder {}", path.display()))?;
        println!("{}", path.display());
        print_table(
            &b.build().devices,
            &b.parts_per_device(),
            b.partition_count(),
            b.replicas(),
            Some(b.min_part_hours()),
        );
    }
    Ok(())
}

fn print_table(
    devices: &[Option<swift_core::ring::Device>],
    counts: &[usize],
    parts: usize,
    replicas: usize,
    min_part_hours: Option<u32>,
) {
    let present: Vec<_> = devices.iter().flatten().collect();
    let total: f64 = present.iter().map(|d| d.weight.max(0.0)).sum();
    let slots = (parts * replicas) as f64;
    let mut regions: Vec<u8> = present.iter().map(|d| d.region).collect();
    regions.dedup();
    regions.sort_unstable();
    regions.dedup();
    let mut zones: Vec<(u8, u8)> = present.iter().map(|d| (d.region, d.zone)).collect();
    zones.sort_unstable();
    zones.dedup();
    let balances: Vec<f64> = present
        .iter()
        .map(|d| {
            let got = counts.get(usize::from(d.id)).copied().unwrap_or(0) as f64;
            let want = if total > 0.0 {
                slots * d.weight / total
            } else {
                0.0
            };
            if want > 0.0 {
                100.0 * got / want - 100.0
            } else if got > 0.0 {
                swift_core::ring::MAX_BALANCE
            } else {
                0.0
            }
        })
        .collect();
    let balance = balances.iter().fold(0.0f64, |m, b| m.max(b.abs()));
    println!(
        "{parts} partitions, {replicas} replicas, {} regions, {} zones, {} devices, {balance:.2} balance",
        regions.len(),
        zones.len(),
        present.len()
    );
    if let Some(h) = min_part_hours {
        println!("The minimum number of hours before a partition can be reassigned is {h}");
    }
    println!(
        "Devices: {:>5} {:>6} {:>4} {:>21} {:>10} {:>8} {:>10} {:>8} meta",
        "id", "region", "zone", "ip address:port", "name", "weight", "partitions", "balance"
    );
    for (d, b) in present.iter().zip(&balances) {
        println!(
            "         {:>5} {:>6} {:>4} {:>21} {:>10} {:>8.2} {:>10} {:>8.2} {}",
            d.id,
            d.region,
            d.zone,
            d.host(),
            d.device,
            d.weight,
            counts.get(usize::from(d.id)).copied().unwrap_or(0),
            b,
            d.meta
        );
    }
}

/// Parses `[r<region>]z<zone>-<ip>:<port>[R<ip>:<port>]/<device>[_<meta>]`.
fn parse_device(s: &str, weight: f64) -> anyhow::Result<DeviceSpec> {
    let bad = || anyhow!("invalid device {s:?}: expected r<region>z<zone>-<ip>:<port>/<device>");
    let (tiers, rest) = s.split_once('-').ok_or_else(bad)?;
    let (region, zone) = match tiers.strip_prefix('r') {
        Some(t) => {
            let (r, z) = t.split_once('z').ok_or_else(bad)?;
            (r.parse::<u8>().map_err(|_| bad())?, z)
        }
        None => (1, tiers.strip_prefix('z').ok_or_else(bad)?),
    };
    let zone: u8 = zone.parse().map_err(|_| bad())?;
    let (addr, dev) = rest.split_once('/').ok_or_else(bad)?;
    // A replication address (`R<ip>:<port>`) is accepted and ignored:
    // replication uses the same address.
    let addr = addr.split_once('R').map_or(addr, |(a, _)| a);
    let (ip, port) = if let Some(v6) = addr.strip_prefix('[') {
        let (ip, port) = v6.split_once("]:").ok_or_else(bad)?;
        (ip, port)
    } else {
        addr.rsplit_once(':').ok_or_else(bad)?
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let (device, meta) = dev.split_once('_').unwrap_or((dev, ""));
    if ip.is_empty() || device.is_empty() {
        return Err(bad());
    }
    let mut spec = DeviceSpec::new(region, zone, ip, port, device, weight);
    spec.meta = meta.to_string();
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> anyhow::Result<()> {
        let mut v = vec!["swift-ring".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        run(v)
    }

    #[test]
    fn nodes_gives_the_partition_and_distinct_primaries() {
        let dir = tempfile::tempdir().unwrap();
        let builder = dir.path().join("object.builder");
        let b = builder.to_str().unwrap();
        cli(&["create", b, "6", "3", "1"]).unwrap();
        for z in 1..=4 {
            cli(&["add", b, &format!("r1z{z}-127.0.0.{z}:6200/d1"), "100"]).unwrap();
        }
        cli(&["rebalance", b]).unwrap();
        let ring = Ring::load(&dir.path().join("object.ring")).unwrap();
        let hash = swift_core::hash::HashConfig::new("p", "s");
        let v = nodes_json(&ring, &hash, "AUTH_a", Some("c"), Some("o"));
        let part = ring.partition_for(&hash, "AUTH_a", Some("c"), Some("o"));
        assert_eq!(v["partition"], part);
        let ips = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|d| d["ip"].as_str().unwrap().to_owned())
                .collect()
        };
        let (p, h) = (ips("primaries"), ips("handoffs"));
        assert_eq!(p.len(), 3);
        assert_eq!(h.len(), 1);
        let mut all: Vec<_> = p.iter().chain(&h).cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            4,
            "primaries and handoff are 4 distinct devices: {v}"
        );
        // Another object usually lands elsewhere: the answer depends on the path.
        let parts: std::collections::HashSet<_> = (0..50)
            .map(|i| ring.partition_for(&hash, "AUTH_a", Some("c"), Some(&format!("o{i}"))))
            .collect();
        assert!(parts.len() > 10);
        cli(&[
            "nodes",
            dir.path().join("object.ring").to_str().unwrap(),
            "AUTH_a",
            "c",
            "o",
        ])
        .unwrap();
    }

    #[test]
    fn parses_device_specs() {
        let d = parse_device("r2z3-10.0.0.1:6201/sdb1_fast", 50.0).unwrap();
        assert_eq!(
            (
                d.region,
                d.zone,
                d.ip.as_str(),
                d.port,
                d.device.as_str(),
                d.meta.as_str()
            ),
            (2, 3, "10.0.0.1", 6201, "sdb1", "fast")
        );
        let d = parse_device("z1-[::1]:6200R[::1]:6300/d0", 1.0).unwrap();
        assert_eq!((d.region, d.ip.as_str(), d.port), (1, "::1", 6200));
        for bad in [
            "r1z1-10.0.0.1/sdb",
            "r1-10.0.0.1:6200/sdb",
            "r1z1-10.0.0.1:x/sdb",
            "junk",
        ] {
            assert!(parse_device(bad, 1.0).is_err(), "{bad}");
        }
    }

    #[test]
    fn ring_path_replaces_builder_extension() {
        assert_eq!(
            ring_path(Path::new("/e/object.builder")),
            Path::new("/e/object.ring")
        );
        assert_eq!(
            ring_path(Path::new("/e/object")),
            Path::new("/e/object.ring")
        );
    }

    #[test]
    fn create_add_rebalance_show_remove() {
        let dir = tempfile::tempdir().unwrap();
        let builder = dir.path().join("object.builder");
        let b = builder.to_str().unwrap();
        cli(&["create", b, "6", "3", "1"]).unwrap();
        assert!(
            cli(&["create", b, "6", "3", "1"]).is_err(),
            "create must not overwrite"
        );
        for z in 1..=2 {
            cli(&["add", b, &format!("r1z{z}-127.0.0.1:620{z}/sdb{z}"), "100"]).unwrap();
        }
        // swift-ring-builder's argument order works too.
        cli(&[b, "add", "r1z3-127.0.0.1:6203/sdb3", "100"]).unwrap();
        assert_eq!(RingBuilder::load(&builder).unwrap().devices().count(), 3);
        cli(&[
            "add",
            b,
            "--region",
            "1",
            "--zone",
            "4",
            "--ip",
            "127.0.0.1",
            "--port",
            "6204",
            "--device",
            "sdb4",
            "--weight",
            "100",
        ])
        .unwrap();
        let dup = cli(&["add", b, "r1z1-127.0.0.1:6201/sdb1", "100"]).unwrap_err();
        assert!(format!("{dup:#}").contains("already exists"), "{dup:#}");
        cli(&["rebalance", b, "--seed", "3"]).unwrap();

        let ring_file = dir.path().join("object.ring");
        let ring = Ring::load(&ring_file).unwrap();
        assert_eq!(ring.devices().count(), 4);
        assert_eq!(ring.replica_count(), 3);
        assert_eq!(ring.primary_nodes(5).len(), 3);
        cli(&["show", b]).unwrap();
        cli(&["show", ring_file.to_str().unwrap()]).unwrap();

        cli(&["remove", b, "0"]).unwrap();
        cli(&["set-weight", b, "1", "50"]).unwrap();
        let out = dir.path().join("custom.ring");
        cli(&[
            "rebalance",
            b,
            "--seed",
            "3",
            "--output",
            out.to_str().unwrap(),
        ])
        .unwrap();
        let ring = Ring::load(&out).unwrap();
        assert!(ring.replica2part2dev.iter().all(|row| !row.contains(&0)));
        cli(&["pretend-min-part-hours-passed", b]).unwrap();
        let loaded = RingBuilder::load(&builder).unwrap();
        assert_eq!(loaded.device(1).unwrap().weight, 50.0);
    }

    #[test]
    fn reports_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let builder = dir.path().join("a.builder");
        let b = builder.to_str().unwrap();
        let missing = cli(&["add", b, "r1z1-127.0.0.1:6200/sdb", "1"]).unwrap_err();
        assert!(format!("{missing:#}").contains("not found"), "{missing:#}");
        cli(&["create", b, "4", "3", "0"]).unwrap();
        let empty = cli(&["rebalance", b]).unwrap_err();
        assert!(format!("{empty:#}").contains("no devices"), "{empty:#}");
        assert!(cli(&["remove", b, "9"]).is_err());
        assert!(cli(&["set-weight", b, "0", "1"]).is_err());
        assert!(cli(&["add", b, "nonsense", "1"]).is_err());
        assert!(cli(&["add", b, "--zone", "1"]).is_err());
        assert!(cli(&["frobnicate"]).is_err());
        assert!(cli(&["create", "/nonexistent-dir/x.builder", "4", "3", "0"]).is_err());

        let bad_ring = dir.path().join("bad.ring");
        std::fs::write(
            &bad_ring,
            b"FSTKRING\x01\x00\x00\x00garbage-garbage-garbage-garbage-garbage",
        )
        .unwrap();
        let err = cli(&["show", bad_ring.to_str().unwrap()]).unwrap_err();
        assert!(format!("{err:#}").contains("checksum"), "{err:#}");
    }
}
