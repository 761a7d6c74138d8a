//! `validate`'s delivery part: every problem in `[smtp]` and in the email
//! templates, each with its file and key, in one pass.

use std::path::Path;

use storepulse::config::{self, ConfigErrors};
use storepulse::run::validate_delivery;

fn install(dir: &Path, global: &str) -> config::Config {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("jobs")).unwrap();
    let email = dir.join("templates/email");
    std::fs::create_dir_all(&email).unwrap();
    for entry in std::fs::read_dir(root.join("templates/email")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), email.join(entry.file_name())).unwrap();
    }
    let path = dir.join("storepulse.toml");
    std::fs::write(&path, global).unwrap();
    config::load_unchecked(&path, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(config: &config::Config) -> Vec<(String, String, String)> {
    let mut errors = ConfigErrors::default();
    validate_delivery(config, &mut errors);
    errors
        .iter()
        .map(|e| {
            (
                e.file.file_name().unwrap().to_string_lossy().into_owned(),
                e.key.clone(),
                e.message.clone(),
            )
        })
        .collect()
}

const SMTP_OK: &str = "shop = \"s\"\ndelivery = \"smtp\"\n[smtp]\nhost = \"mail.example.com\"\n\
                       from = \"reports@example.com\"\n";

#[test]
fn shipped_templates_and_a_complete_smtp_section_pass() {
    let dir = tempfile::tempdir().unwrap();
    let config = install(dir.path(), SMTP_OK);
    assert_eq!(problems(&config), vec![]);
}

#[test]
fn every_smtp_and_template_problem_is_reported_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = install(
        dir.path(),
        "shop = \"s\"\ndelivery = \"smtp\"\n[smtp]\nhost = \"mail.example.com\"\nport = 70000\n\
         username = \"reports\"\nfrom = \"not an address\"\ntimeout = 5\n",
    );
    let email = dir.path().join("templates/email");
    std::fs::write(email.join("report.txt.j2"), "{% if kpis %}unclosed").unwrap();
    std::fs::write(email.join("failure.subject.j2"), "{{ job }").unwrap();
    std::fs::remove_file(email.join("recovery.html.j2")).unwrap();

    let mut got = problems(&config);
    got.sort();
    let keys: Vec<(&str, &str)> = got
        .iter()
        .map(|(f, k, _)| (f.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("failure.subject.j2", ""),
            ("recovery.html.j2", ""),
            ("report.txt.j2", ""),
            ("storepulse.toml", "smtp.from"),
            ("storepulse.toml", "smtp.port"),
            ("storepulse.toml", "smtp.timeout"),
            ("storepulse.toml", "smtp.username"),
        ],
        "{got:#?}"
    );
    let message = |file: &str| &got.iter().find(|p| p.0 == file).unwrap().2;
    assert!(message("recovery.html.j2").contains("missing"), "{got:?}");
    assert!(message("report.txt.j2").contains("syntax error"), "{got:?}");
    let port = &got.iter().find(|p| p.1 == "smtp.port").unwrap().2;
    assert!(port.contains("70000"), "{port}");
}

#[test]
fn outbox_only_checks_smtp_keys_but_not_completeness() {
    let dir = tempfile::tempdir().unwrap();
    let config = install(
        dir.path(),
        "shop = \"s\"\ndelivery = \"outbox-only\"\n[smtp]\nfrom = \"reports@example.com\"\nhots = \"x\"\n",
    );
    let got = problems(&config);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str()),
        ("storepulse.toml", "smtp.hots")
    );
}
