//! Input validation through the binary: each kind of bad agency CSV is refused with an error
//! that names the problem and the line, and a refused step leaves nothing behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrationfhe");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"))
        .args(args)
        .output()
        .unwrap()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mfhe-inputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn bad_agency_files_are_refused_with_clear_errors() {
    let root = temp("validate");
    let shared = root.join("shared");
    let inputs = root.join("inputs");
    let (sh, inp) = (shared.to_str().unwrap(), inputs.to_str().unwrap());
    let out = run(&[
        "init",
        "--shared",
        sh,
        "--regions",
        "North America,Oceania",
        "--preset",
        "n16384_count_t31bit",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["split-data", "--shared", sh, "--out", inp]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = std::fs::read_to_string(inputs.join("oceania.csv")).unwrap();
    let out = run(&[
        "validate",
        "--shared",
        sh,
        "--agency",
        "oceania",
        "--input",
        inputs.join("oceania.csv").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first_row = good.lines().nth(1).unwrap().to_owned();
    let fields: Vec<&str> = first_row.split(',').collect();
    let with_count = |c: &str| {
        format!(
            "{},{},{},{},{c}",
            fields[0], fields[1], fields[2], fields[3]
        )
    };
    let cases: Vec<(String, String, &str)> = vec![
        (
            "unknown-code".into(),
            good.replacen(&first_row, &first_row.replacen(fields[2], "XYZ", 1), 1),
            "line 2: unknown country code `XYZ`",
        ),
        (
            "negative".into(),
            good.replacen(&first_row, &with_count("-12"), 1),
            "line 2: negative count -12",
        ),
        (
            "missing-period".into(),
            good.lines()
                .filter(|l| !l.contains(",2005-2010,"))
                .map(|l| format!("{l}\n"))
                .collect(),
            "missing period 2005-2010",
        ),
        (
            "wrong-agency".into(),
            std::fs::read_to_string(inputs.join("north-america.csv")).unwrap(),
            "wrong agency",
        ),
        (
            "not-a-number".into(),
            good.replacen(&first_row, &with_count("12x"), 1),
            "is not a whole number",
        ),
        (
            "header".into(),
            good.replacen(
                "agency,period,orig,dest,count",
                "agency,year,orig,dest,count",
                1,
            ),
            "expected `agency,period,orig,dest,count`",
        ),
    ];
    for (name, text, want) in cases {
        let path = root.join(format!("{name}.csv"));
        std::fs::write(&path, text).unwrap();
        let out = run(&[
            "validate",
            "--shared",
            sh,
            "--agency",
            "oceania",
            "--input",
            path.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(err.contains(want), "{name}: {want:?} not in {err}");
    }
    let out = run(&[
        "validate",
        "--shared",
        sh,
        "--agency",
        "nobody",
        "--input",
        inputs.join("oceania.csv").to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("agency `nobody` is not part of this study")
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_refused_step_leaves_nothing_behind() {
    let root = temp("atomic");
    let shared = root.join("shared");
    let sh = shared.to_str().unwrap();
    let out = run(&["init", "--shared", sh, "--regions", "Atlantis"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown region `Atlantis`"));
    assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
    let out = run(&[
        "init",
        "--shared",
        sh,
        "--regions",
        "Oceania",
        "--preset",
        "n1024_insecure",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown preset"));
    assert!(files_under(&root).is_empty());
    let out = run(&[
        "init",
        "--shared",
        sh,
        "--regions",
        "Oceania,North America",
        "--preset",
        "n16384_count_t31bit",
    ]);
    assert!(out.status.success());
    let before = std::fs::read(shared.join("study.json")).unwrap();
    let out = run(&["init", "--shared", sh, "--regions", "Oceania"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a study is declared once"));
    assert_eq!(std::fs::read(shared.join("study.json")).unwrap(), before);
    assert_eq!(files_under(&root).len(), 1, "{:?}", files_under(&root));
    std::fs::remove_dir_all(&root).unwrap();
}
