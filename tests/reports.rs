//! The example reports in `reports/` are what the code produces now: each is regenerated from
//! its capture (listed in `reports/CAPTURES`) and compared byte for byte. After a change to
//! certflow's output, `reports/generate.sh` writes them again (and the diff shows the change).

use std::path::Path;
use std::process::Command;

#[test]
fn example_reports_match_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let list = std::fs::read_to_string(root.join("reports/CAPTURES")).expect("reports/CAPTURES");
    let captures: Vec<&str> = list.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!captures.is_empty(), "reports/CAPTURES lists no capture");
    for c in captures {
        let base = c.rsplit_once('.').map_or(c, |(b, _)| b);
        let capture = format!("captures/{c}");
        for (format, ext) in [("table", "txt"), ("json", "json")] {
            // Run from the repository root with the path as generate.sh writes it: the report
            // names its capture by that path.
            let out = Command::new(env!("CARGO_BIN_EXE_certflow"))
                .current_dir(root)
                .args(["flows", "--format", format, &capture])
                .output()
                .expect("run certflow");
            assert!(out.status.success(), "{capture}: exit {:?}", out.status);
            let file = root.join(format!("reports/{base}.flows.{ext}"));
            let want = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                out.stdout == want,
                "{} is not what certflow writes now for {capture}: run reports/generate.sh and \
                 review the diff",
                file.display()
            );
        }
    }
}
