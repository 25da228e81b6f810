//! The multi-process workflow end to end: three agencies, a computation node and a combiner,
//! each a separate OS process of the `migrationfhe` binary, exchanging only files in a shared
//! folder (init, keygen + combine keys, encrypt, analyze, decrypt-share, combine outputs,
//! verify, report). The decrypted region table is compared with plain sums of the data.
//! A second study is 3-out-of-4: every agency re-shares its key share (sealed Shamir shares
//! exchanged as files), any three decrypt, two are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrationfhe");
const REGIONS: [&str; 3] = ["North America", "East Asia", "Oceania"];
const AGENCIES: [&str; 3] = ["north-america", "east-asia", "oceania"];
const PERIOD: &str = "2005-2010";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data").arg(data_dir()).args(args);
    c
}

fn ok(out: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "command failed:\n{text}");
    text
}

fn fails(out: Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "command unexpectedly succeeded");
    text
}

/// Runs one process per agency at the same time and waits for all.
fn per_agency(f: impl Fn(&str) -> Vec<String>) {
    per_agency_of(&AGENCIES, f);
}

/// Runs one process per agency of `agencies` at the same time and waits for all.
fn per_agency_of(agencies: &[&str], f: impl Fn(&str) -> Vec<String>) {
    let children: Vec<Child> = agencies
        .iter()
        .map(|a| {
            let args = f(a);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cmd(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap());
    }
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// Plain region-to-region sums of the three regions from the bundled data, per period.
fn expected_region_tables() -> Vec<Vec<i64>> {
    expected_region_tables_of(&REGIONS)
}

/// Plain region-to-region sums of `regions` from the bundled data, per period.
fn expected_region_tables_of(regions: &[&str]) -> Vec<Vec<i64>> {
    let k = regions.len();
    let mut region = HashMap::new();
    let mut rd = csv::Reader::from_path(data_dir().join("abel_sander_2014_countries.csv")).unwrap();
    for r in rd.records() {
        let r = r.unwrap();
        if let Some(i) = regions.iter().position(|x| *x == &r[2]) {
            region.insert(r[0].to_owned(), i);
        }
    }
    let mut out = vec![vec![0i64; k * k]; 4];
    let mut rd =
        csv::Reader::from_path(data_dir().join("abel_sander_2014_country_flows.csv")).unwrap();
    for r in rd.records() {
        let r = r.unwrap();
        if let (Some(&a), Some(&b)) = (region.get(&r[0]), region.get(&r[1])) {
            for (p, table) in out.iter_mut().enumerate() {
                table[a * k + b] += r[2 + p].parse::<i64>().unwrap();
            }
        }
    }
    out
}

#[test]
fn three_agencies_as_separate_processes() {
    let root = std::env::temp_dir().join(format!("mfhe-workflow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let shared = root.join("shared");
    let inputs = root.join("inputs");
    let private = |a: &str| root.join("private").join(a);
    let sh = s(&shared);

    ok(cmd(&[
        "init",
        "--shared",
        &sh,
        "--regions",
        &REGIONS.join(","),
        "--periods",
        PERIOD,
        "--preset",
        "n16384_count_t31bit",
    ])
    .output()
    .unwrap());
    ok(cmd(&["split-data", "--shared", &sh, "--out", &s(&inputs)])
        .output()
        .unwrap());

    per_agency(|a| {
        vec![
            "keygen".into(),
            "--shared".into(),
            sh.clone(),
            "--private".into(),
            s(&private(a)),
            "--agency".into(),
            a.into(),
        ]
    });
    ok(cmd(&["combine", "keys", "--shared", &sh]).output().unwrap());

    // A bad input is refused and leaves nothing behind in the shared folder.
    let bad = root.join("bad.csv");
    let good = std::fs::read_to_string(inputs.join("oceania.csv")).unwrap();
    std::fs::write(&bad, good.replacen(",AUS,", ",XYZ,", 1)).unwrap();
    let err = fails(
        cmd(&[
            "encrypt",
            "--shared",
            &sh,
            "--private",
            &s(&private("oceania")),
            "--agency",
            "oceania",
            "--input",
            &s(&bad),
        ])
        .output()
        .unwrap(),
    );
    assert!(err.contains("unknown country code `XYZ`"), "{err}");
    assert!(
        !shared.join("submissions").exists()
            || std::fs::read_dir(shared.join("submissions"))
                .unwrap()
                .count()
                == 0
    );
    // An agency cannot submit another agency's file.
    let err = fails(
        cmd(&[
            "encrypt",
            "--shared",
            &sh,
            "--private",
            &s(&private("oceania")),
            "--agency",
            "oceania",
            "--input",
            &s(&inputs.join("east-asia.csv")),
        ])
        .output()
        .unwrap(),
    );
    assert!(err.contains("wrong agency"), "{err}");

    per_agency(|a| {
        vec![
            "encrypt".into(),
            "--shared".into(),
            sh.clone(),
            "--private".into(),
            s(&private(a)),
            "--agency".into(),
            a.into(),
            "--input".into(),
            s(&inputs.join(format!("{a}.csv"))),
        ]
    });
    ok(cmd(&["analyze", "--shared", &sh]).output().unwrap());

    // The node's published outputs must match what each agency re-executes: a tampered output
    // file gets no decryption share.
    let outputs = shared.join("node").join("outputs.bin");
    let original = std::fs::read(&outputs).unwrap();
    let mut tampered = original.clone();
    let pos = tampered.len() - 1;
    tampered[pos] ^= 1;
    std::fs::write(&outputs, &tampered).unwrap();
    let err = fails(
        cmd(&[
            "decrypt-share",
            "--shared",
            &sh,
            "--private",
            &s(&private("oceania")),
            "--agency",
            "oceania",
        ])
        .output()
        .unwrap(),
    );
    assert!(err.contains("refusing") || err.contains("differ"), "{err}");
    assert!(!shared.join("decrypt").join("oceania.bin").exists());
    std::fs::write(&outputs, &original).unwrap();

    per_agency(|a| {
        vec![
            "decrypt-share".into(),
            "--shared".into(),
            sh.clone(),
            "--private".into(),
            s(&private(a)),
            "--agency".into(),
            a.into(),
        ]
    });
    // A second share for the same ciphertexts is refused by the agency's share log.
    let share_file = shared.join("decrypt").join("oceania.bin");
    let saved = std::fs::read(&share_file).unwrap();
    std::fs::remove_file(&share_file).unwrap();
    let err = fails(
        cmd(&[
            "decrypt-share",
            "--shared",
            &sh,
            "--private",
            &s(&private("oceania")),
            "--agency",
            "oceania",
        ])
        .output()
        .unwrap(),
    );
    assert!(
        err.to_lowercase().contains("repeat") || err.contains("already"),
        "{err}"
    );
    assert!(!share_file.exists());
    let err = fails(
        cmd(&["combine", "outputs", "--shared", &sh])
            .output()
            .unwrap(),
    );
    assert!(err.contains("oceania"), "{err}");
    std::fs::write(&share_file, saved).unwrap();

    ok(cmd(&["combine", "outputs", "--shared", &sh])
        .output()
        .unwrap());
    let verified = ok(cmd(&["verify", "--shared", &sh]).output().unwrap());
    assert!(verified.contains("verified"), "{verified}");
    let report = root.join("report");
    ok(cmd(&["report", "--shared", &sh, "--out", &s(&report)])
        .output()
        .unwrap());

    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.join("results").join("results.json")).unwrap(),
    )
    .unwrap();
    let outputs: HashMap<String, Vec<i64>> = results["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o[0].as_str().unwrap().to_owned(),
                o[1].as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect(),
            )
        })
        .collect();
    let periods = ["1990-1995", "1995-2000", "2000-2005", "2005-2010"];
    for (p, want) in periods
        .iter()
        .zip(expected_region_tables())
        .filter(|(p, _)| **p == PERIOD)
    {
        assert_eq!(
            outputs[&format!("groups/region/{p}")],
            want,
            "region table {p}"
        );
        let net = &outputs[&format!("net/{p}")];
        assert_eq!(
            net.iter().sum::<i64>(),
            0,
            "net migration sums to zero within the study ({p})"
        );
    }
    for f in [
        "report.md",
        "tables/region_flows.csv",
        "tables/region_flows.json",
        "tables/country_flows.csv",
        "plots/region_heatmap.svg",
        "plots/top_net_migration.svg",
    ] {
        assert!(report.join(f).exists(), "{f} missing");
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("threshold decryption, 3 of 3 agencies"), "{md}");
    std::fs::remove_dir_all(&root).unwrap();
}

fn results_outputs(shared: &Path) -> HashMap<String, Vec<i64>> {
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.join("results").join("results.json")).unwrap(),
    )
    .unwrap();
    results["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o[0].as_str().unwrap().to_owned(),
                o[1].as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn three_of_four_agencies_decrypt_two_are_refused() {
    // In the data's region order (the study keeps it).
    const REGIONS4: [&str; 4] = ["North America", "South Asia", "East Asia", "Oceania"];
    const AGENCIES4: [&str; 4] = ["north-america", "east-asia", "oceania", "south-asia"];
    let root = std::env::temp_dir().join(format!("mfhe-workflow-tofn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let shared = root.join("shared");
    let inputs = root.join("inputs");
    let private = |a: &str| root.join("private").join(a);
    let sh = s(&shared);
    let agency_args = |verb: &str, a: &str| -> Vec<String> {
        vec![
            verb.into(),
            "--shared".into(),
            sh.clone(),
            "--private".into(),
            s(&private(a)),
            "--agency".into(),
            a.into(),
        ]
    };

    let init = ok(cmd(&[
        "init",
        "--shared",
        &sh,
        "--regions",
        &REGIONS4.join(","),
        "--periods",
        PERIOD,
        "--threshold",
        "3",
        "--preset",
        "n16384_count_t31bit",
    ])
    .output()
    .unwrap());
    assert!(init.contains("threshold 3 of 4"), "{init}");
    ok(cmd(&["split-data", "--shared", &sh, "--out", &s(&inputs)])
        .output()
        .unwrap());
    per_agency_of(&AGENCIES4, |a| agency_args("keygen", a));
    ok(cmd(&["combine", "keys", "--shared", &sh]).output().unwrap());
    per_agency_of(&AGENCIES4, |a| agency_args("deal", a));
    // Four sealed shares per agency; a second re-sharing is refused.
    let err = fails(
        cmd(&agency_args("deal", "oceania")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>())
        .output()
        .unwrap(),
    );
    assert!(err.contains("already dealt"), "{err}");
    per_agency_of(&AGENCIES4, |a| {
        let mut v = agency_args("encrypt", a);
        v.extend(["--input".into(), s(&inputs.join(format!("{a}.csv")))]);
        v
    });
    ok(cmd(&["analyze", "--shared", &sh]).output().unwrap());

    // Two agencies are below the threshold: refused before any share is made.
    let two = "north-america,oceania";
    let mut args = agency_args("decrypt-share", "oceania");
    args.extend(["--with".into(), two.into()]);
    let err = fails(
        cmd(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("threshold 3 of 4") && err.contains("too small"),
        "{err}"
    );
    assert!(!shared.join("decrypt").join("oceania.bin").exists());

    // Three agencies (South Asia offline) release their shares.
    let three = ["north-america", "east-asia", "oceania"];
    per_agency_of(&three, |a| {
        let mut v = agency_args("decrypt-share", a);
        v.extend(["--with".into(), three.join(",")]);
        v
    });
    // With only two of the three shares present, combining is refused.
    let held = shared.join("decrypt").join("east-asia.bin");
    let saved = std::fs::read(&held).unwrap();
    std::fs::remove_file(&held).unwrap();
    let err = fails(
        cmd(&["combine", "outputs", "--shared", &sh])
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("threshold 3 of 4") && err.contains("only 2 agencies"),
        "{err}"
    );
    assert!(!shared.join("results").join("results.json").exists());
    std::fs::write(&held, saved).unwrap();
    let combined = ok(cmd(&["combine", "outputs", "--shared", &sh])
        .output()
        .unwrap());
    assert!(combined.contains("3 agencies"), "{combined}");

    let outputs = results_outputs(&shared);
    let want = &expected_region_tables_of(&REGIONS4)[3];
    assert_eq!(&outputs[&format!("groups/region/{PERIOD}")], want);
    ok(cmd(&["verify", "--shared", &sh]).output().unwrap());
    let report = root.join("report");
    ok(cmd(&["report", "--shared", &sh, "--out", &s(&report)])
        .output()
        .unwrap());
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("threshold decryption, 3 of 4 agencies"), "{md}");
    std::fs::remove_dir_all(&root).unwrap();
}
