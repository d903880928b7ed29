//! Ring rebalance, ours (`ferrostack ring`) against `swift-ring-builder`:
//! both build the same ring (part power, replicas, devices spread over
//! zones, equal weights) with their command-line tools; only the
//! `rebalance` command is timed. Both tools print "Balance is now X".

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

/// The ring to build.
#[derive(Debug, Clone, Copy)]
pub struct RingShape {
    /// log2 of the partition count.
    pub part_power: u8,
    /// Replicas per partition.
    pub replicas: usize,
    /// Devices, weight 100 each.
    pub devices: usize,
    /// Zones the devices are spread over round-robin.
    pub zones: usize,
}

/// One tool's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RebalanceResult {
    /// Wall-clock seconds of the `rebalance` command.
    pub secs: f64,
    /// Balance the tool reported (percent; lower is better).
    pub balance: f64,
}

/// The balance figure in a line like "... Balance is now 0.02. ...".
pub fn parse_balance(out: &str) -> Option<f64> {
    let rest = &out[out.find("Balance is now ")? + "Balance is now ".len()..];
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.trim_end_matches('.').parse().ok()
}

fn run((mut cmd, syntax): (Command, Syntax), what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    // swift-ring-builder exits 1 on warnings (e.g. balance not ideal).
    let warned = syntax == Syntax::SwiftRingBuilder && out.status.code() == Some(1);
    if !(out.status.success() || warned) {
        bail!(
            "{what} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Which command-line syntax a ring tool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `swift-ring SUBCOMMAND BUILDER ...`, one device per `add`.
    Ours,
    /// `swift-ring-builder BUILDER SUBCOMMAND ...`, many devices per `add`.
    SwiftRingBuilder,
}

/// Builds the ring with `tool` (program plus leading arguments, e.g.
/// `["ferrostack", "ring"]` or `["swift-ring-builder"]`) in `dir` and times
/// its rebalance.
pub fn rebalance(
    tool: &[String],
    syntax: Syntax,
    dir: &Path,
    shape: RingShape,
    limit: Duration,
) -> anyhow::Result<RebalanceResult> {
    let (prog, lead) = tool.split_first().context("empty ring tool command")?;
    let builder = dir.join("object.builder");
    let cmd = |args: &[String]| {
        let mut c = Command::new(prog);
        c.args(lead);
        match (syntax, args.split_first()) {
            (Syntax::Ours, Some((sub, rest))) => c.arg(sub).arg(&builder).args(rest),
            _ => c.arg(&builder).args(args),
        };
        (c, syntax)
    };
    let s = |v: &str| v.to_string();
    run(
        cmd(&[
            s("create"),
            shape.part_power.to_string(),
            shape.replicas.to_string(),
            s("1"),
        ]),
        "ring create",
    )?;
    let devs: Vec<[String; 2]> = (0..shape.devices)
        .map(|d| {
            let zone = d % shape.zones.max(1) + 1;
            let port = 6200 + d / 50;
            [format!("r1z{zone}-127.0.0.1:{port}/d{d}"), s("100")]
        })
        .collect();
    if syntax == Syntax::SwiftRingBuilder {
        let mut args = vec![s("add")];
        args.extend(devs.iter().flatten().cloned());
        run(cmd(&args), "ring add")?;
    } else {
        for [dev, w] in &devs {
            run(cmd(&[s("add"), dev.clone(), w.clone()]), "ring add")?;
        }
    }
    let t0 = Instant::now();
    let out = run(cmd(&[s("rebalance")]), "ring rebalance")?;
    let secs = t0.elapsed().as_secs_f64();
    if t0.elapsed() > limit {
        bail!("rebalance took {secs:.1} s, over the {limit:?} limit");
    }
    let balance = parse_balance(&out).with_context(|| format!("no balance in {out:?}"))?;
    Ok(RebalanceResult { secs, balance })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_is_parsed_from_both_tools() {
        let ref_out =
            "Reassigned 786432 (100.00%) partitions. Balance is now 0.03.  Dispersion is now 0.00";
        assert_eq!(parse_balance(ref_out), Some(0.03));
        let ours = "Reassigned 12 (1.00%) partition replicas. Balance is now 1.50. Wrote x";
        assert_eq!(parse_balance(ours), Some(1.5));
        assert_eq!(parse_balance("no figure"), None);
    }
}
