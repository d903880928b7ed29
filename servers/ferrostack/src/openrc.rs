//! `DIR/openrc`: shell exports that the real clients read. Each service
//! adds its own block (Swift: `ST_*`; identity will add `OS_*`).

use std::path::Path;

use crate::secrets::write_private;

/// The file's contents, built service by service.
#[derive(Debug, Default)]
pub(crate) struct OpenRc {
    blocks: Vec<(String, Vec<(String, String)>)>,
}

impl OpenRc {
    /// Adds one service's variables under a comment naming it.
    pub(crate) fn add(&mut self, service: &str, vars: Vec<(String, String)>) {
        self.blocks.push((service.to_string(), vars));
    }

    /// The shell text; values are single-quoted.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("# written by `ferrostack up`; load it with: source openrc\n");
        for (service, vars) in &self.blocks {
            out.push_str(&format!("\n# {service}\n"));
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", shell_quote(v)));
            }
        }
        out
    }

    /// Writes the file with mode 0600 (it holds keys).
    pub(crate) fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_private(path, self.render().as_bytes())
    }
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_quoted_exports_per_service() {
        let mut rc = OpenRc::default();
        rc.add(
            "swift",
            vec![
                ("ST_AUTH".into(), "http://127.0.0.1:8080/auth/v1.0".into()),
                ("ST_KEY".into(), "it's".into()),
            ],
        );
        let text = rc.render();
        assert!(text.contains("# swift\nexport ST_AUTH='http://127.0.0.1:8080/auth/v1.0'\n"));
        assert!(text.contains(r"export ST_KEY='it'\''s'"));
    }

    #[test]
    fn bash_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("openrc");
        let mut rc = OpenRc::default();
        rc.add("swift", vec![("ST_KEY".into(), "a b'$c".into())]);
        rc.write(&p).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("source {} && printf %s \"$ST_KEY\"", p.display()))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a b'$c");
    }
}
