//! Composition: templates, headers, size guard, as a mail client parses them.

mod deliver_common;

use deliver_common::*;
use storepulse::deliver::{
    AlertKind, Attachment, CheckLevel, ComposeOptions, DeliverError, EmailCheck, EmailTemplates,
    OwnerAlertContext, compose_owner_alert, compose_report, message_id,
};

fn eml_text(eml: &[u8]) -> String {
    String::from_utf8(eml.to_vec()).unwrap()
}

#[test]
fn report_email_reads_right_in_a_mail_client() {
    let att = Attachment {
        file_name: "运营_日报_2026-11-22.xlsx".into(),
        bytes: workbook_bytes(5_000),
    };
    let email = compose_report(
        &templates(),
        &sample_context("ops", "运营", Some(att)),
        &addressing(
            &["ops-lead@example.com", "王经理 <wang@example.com>"],
            &["boss@example.com"],
        ),
        &options(),
    )
    .unwrap();
    assert_eq!(
        email.subject,
        "云朵旗舰店 日报 2026-11-22｜运营｜销售额 ¥128,450.00（+5.2%）｜1 项警告"
    );
    assert_eq!(
        email.recipients,
        vec![
            "ops-lead@example.com",
            "wang@example.com",
            "boss@example.com"
        ]
    );
    assert_eq!(
        email.message_id,
        message_id("daily-ops", "2026-11-22", "ops", "shop.example.com")
    );
    assert_eq!(
        email.attachment_name.as_deref(),
        Some("运营_日报_2026-11-22.xlsx")
    );

    let raw = eml_text(&email.eml);
    assert!(raw.is_ascii(), "the wire form is 7-bit");
    assert!(raw.contains(&format!("Message-ID: {}\r\n", email.message_id)));
    assert!(raw.contains("Date: Mon, 23 Nov 2026 00:30:00 +0000\r\n"));
    assert!(raw.contains(
        "Content-Disposition: attachment;\r\n filename*=UTF-8''%E8%BF%90%E8%90%A5_%E6%97%A5%E6%8A%A5_2026-11-22.xlsx\r\n"
    ));
    assert!(raw.contains(
        "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\r\n \
         name=\"=?UTF-8?B?6L+Q6JClX+aXpeaKpV8yMDI2LTExLTIyLnhsc3g=?=\"\r\n"
    ));

    let msg = parse_eml(&email.eml);
    assert_eq!(msg["subject"], email.subject.as_str());
    assert_eq!(
        msg["to_addrs"],
        serde_json::json!(["ops-lead@example.com", "wang@example.com"])
    );
    assert_eq!(msg["cc_addrs"], serde_json::json!(["boss@example.com"]));
    assert_eq!(msg["to"][1], "王经理 <wang@example.com>");
    assert_eq!(msg["content_type"], "multipart/mixed");
    let text = msg["text"].as_str().unwrap();
    let first_lines: Vec<&str> = text.lines().take(7).collect();
    assert_eq!(
        first_lines,
        vec![
            "运营团队：",
            "",
            "以下是 云朵旗舰店 2026-11-22 的日报。",
            "",
            "核心指标",
            "- 销售额：¥128,450.00（+5.2% ↑）",
            "- 转化率：3.10%（-0.4pp ↓）",
        ]
    );
    assert!(
        text.contains("需要关注的检查（1 项）\n[警告] 退款率偏高：退款率 8.1%，高于上限 5.0%\n"),
        "{text}"
    );
    assert!(
        text.contains("附件：运营_日报_2026-11-22.xlsx（5 KB）"),
        "{text}"
    );
    assert!(!text.contains("订单文件存在"));
    assert!(
        !text.contains("检查未通过"),
        "no banner on an unflagged run"
    );
    let html = msg["html"].as_str().unwrap();
    assert!(html.contains("<p>运营团队：</p>"));
    assert!(!html.contains("class=\"flagged\""));
    let att = &msg["attachments"][0];
    assert_eq!(att["filename"], "运营_日报_2026-11-22.xlsx");
    assert_eq!(att["ct_name"], "运营_日报_2026-11-22.xlsx");
    assert_eq!(att["bytes_hex"], hex::encode(workbook_bytes(5_000)));
    assert_eq!(msg["defects"], serde_json::json!([]));
}

#[test]
fn outbox_only_sender_is_a_valid_local_address() {
    let from = storepulse::deliver::Addressing::default_sender();
    assert_eq!(from.to_string(), "storepulse <storepulse@localhost>");
    let mut addr = addressing(&["a@example.com"], &[]);
    addr.from = from;
    let email = compose_report(
        &templates(),
        &sample_context("ops", "运营", None),
        &addr,
        &options(),
    )
    .unwrap();
    assert!(email.message_id.ends_with("@storepulse.localhost>"));
    assert_eq!(
        parse_eml(&email.eml)["from"],
        "storepulse <storepulse@localhost>"
    );
}

#[test]
fn flagged_run_has_the_red_banner_and_fail_checks() {
    let mut ctx = sample_context("ops", "运营", None);
    ctx.flagged = true;
    ctx.checks.push(EmailCheck {
        level: CheckLevel::Fail,
        title: "订单行数骤降".into(),
        message: "行数为 7 日中位数的 12%".into(),
    });
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert!(
        email
            .subject
            .starts_with("【检查未通过】云朵旗舰店 日报 2026-11-22｜运营")
    );
    assert!(email.subject.ends_with("｜1 项未通过"), "{}", email.subject);
    assert!(email.text.starts_with("!!! 检查未通过"), "{}", email.text);
    assert!(
        email
            .text
            .contains("[未通过] 订单行数骤降：行数为 7 日中位数的 12%")
    );
    assert!(
        email
            .html
            .contains("class=\"flagged\" style=\"background: #cf222e;")
    );
    // No attachment: a plain alternative message.
    let msg = parse_eml(&email.eml);
    assert_eq!(msg["content_type"], "multipart/alternative");
    assert_eq!(msg["attachments"], serde_json::json!([]));
}

#[test]
fn english_locale() {
    let mut ctx = sample_context("mgmt", "Management", None);
    ctx.locale = "en".into();
    ctx.job_name = "Daily report".into();
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert_eq!(
        email.subject,
        "云朵旗舰店 Daily report 2026-11-22 · Management · 销售额 ¥128,450.00 (+5.2%) · 1 warnings"
    );
    assert!(
        email
            .text
            .starts_with("Management team,\n\nDaily report for 云朵旗舰店, 2026-11-22.\n")
    );
    assert!(email.text.contains("[WARN] 退款率偏高"));
}

#[test]
fn html_body_escapes_text_from_input_files() {
    let mut ctx = sample_context("ops", "运营", None);
    ctx.shop = "<script>alert(1)</script>".into();
    ctx.checks[1].title = "SKU \"A&B\" <low>".into();
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert!(!email.html.contains("<script>"));
    assert!(
        email
            .html
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{}",
        email.html
    );
    assert!(email.html.contains("SKU &quot;A&amp;B&quot; &lt;low&gt;"));
    // The plain-text body is not HTML and is left as is.
    assert!(email.text.contains("SKU \"A&B\" <low>"));
}

#[test]
fn size_guard_zips_a_compressible_workbook() {
    let bytes = vec![b'x'; 300_000];
    let ctx = sample_context(
        "ops",
        "运营",
        Some(Attachment {
            file_name: "运营_日报_2026-11-22.xlsx".into(),
            bytes: bytes.clone(),
        }),
    );
    let opts = ComposeOptions {
        max_attachment_bytes: 100_000,
        ..options()
    };
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &opts,
    )
    .unwrap();
    assert_eq!(
        email.attachment_name.as_deref(),
        Some("运营_日报_2026-11-22.zip")
    );
    let msg = parse_eml(&email.eml);
    let att = &msg["attachments"][0];
    assert_eq!(att["filename"], "运营_日报_2026-11-22.zip");
    assert_eq!(att["content_type"], "application/zip");
    let zipped = hex::decode(att["bytes_hex"].as_str().unwrap()).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).unwrap();
    let mut inner = archive.by_index(0).unwrap();
    assert_eq!(inner.name().unwrap(), "运营_日报_2026-11-22.xlsx");
    let mut out = Vec::new();
    std::io::copy(&mut inner, &mut out).unwrap();
    assert_eq!(out, bytes);
    assert!(
        email
            .text
            .contains("说明：附件已压缩为 运营_日报_2026-11-22.zip"),
        "{}",
        email.text
    );
}

#[test]
fn size_guard_leaves_an_incompressible_workbook_in_the_run_folder() {
    let ctx = sample_context(
        "ops",
        "运营",
        Some(Attachment {
            file_name: "运营_日报_2026-11-22.xlsx".into(),
            bytes: workbook_bytes(300_000),
        }),
    );
    let opts = ComposeOptions {
        max_attachment_bytes: 100_000,
        ..options()
    };
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &opts,
    )
    .unwrap();
    assert_eq!(email.attachment_name, None);
    assert!(
        email.text.contains(
            "说明：附件 运营_日报_2026-11-22.xlsx（300 KB）压缩后仍超过邮件大小上限 100 KB，未随邮件发送；\
             文件保存在运行目录 /srv/storepulse/out/daily-ops/2026-11-22 中。"
        ),
        "{}",
        email.text
    );
    assert!(!email.text.contains("附件："));
    let msg = parse_eml(&email.eml);
    assert_eq!(msg["attachments"], serde_json::json!([]));
}

#[test]
fn owner_alerts_use_their_own_templates_and_keys() {
    let ctx = OwnerAlertContext {
        kind: AlertKind::Failure,
        shop: "云朵旗舰店".into(),
        job: "daily-ops".into(),
        job_name: "日报".into(),
        period: "2026-11-22".into(),
        locale: "zh-CN".into(),
        status: "failed".into(),
        error: Some("orders.csv: record 41 (line 43, column \"买家实际支付金额\"): invalid amount \"1,2.3\"".into()),
        checks: vec![],
        run_folder: None,
    };
    let email = compose_owner_alert(
        &templates(),
        &ctx,
        &addressing(&["owner@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert_eq!(
        email.subject,
        "【storepulse】日报 2026-11-22 运行失败（failed）"
    );
    assert!(email.text.contains("错误：\norders.csv: record 41"));
    assert!(email.html.contains("&quot;1,2.3&quot;"));
    assert_eq!(
        email.message_id,
        message_id(
            "daily-ops",
            "2026-11-22",
            "owners-failure",
            "shop.example.com"
        )
    );

    let recovery = OwnerAlertContext {
        kind: AlertKind::Recovery,
        status: "success".into(),
        error: None,
        ..ctx
    };
    let email = compose_owner_alert(
        &templates(),
        &recovery,
        &addressing(&["owner@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert_eq!(email.subject, "【storepulse】日报 2026-11-22 已恢复正常");
}

fn copy_templates(to: &std::path::Path) {
    for entry in std::fs::read_dir(manifest_dir().join("templates/email")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn user_edits_and_locale_overrides_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    copy_templates(dir.path());
    std::fs::write(
        dir.path().join("report.subject.en.j2"),
        "Report {{ period }} for {{ team_name }}",
    )
    .unwrap();
    let templates = EmailTemplates::load(dir.path()).unwrap();
    let mut ctx = sample_context("ops", "Ops", None);
    ctx.locale = "en".into();
    let email = compose_report(
        &templates,
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert_eq!(email.subject, "Report 2026-11-22 for Ops");
    // Other locales still use the shared template.
    let email = compose_report(
        &templates,
        &sample_context("ops", "运营", None),
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    assert!(email.subject.starts_with("云朵旗舰店 日报"));
}

#[test]
fn template_problems_name_the_template() {
    let dir = tempfile::tempdir().unwrap();
    copy_templates(dir.path());
    std::fs::remove_file(dir.path().join("recovery.html.j2")).unwrap();
    match EmailTemplates::load(dir.path()) {
        Err(DeliverError::TemplateMissing { name, .. }) => assert_eq!(name, "recovery.html.j2"),
        other => panic!("{other:?}"),
    }

    copy_templates(dir.path());
    std::fs::write(dir.path().join("report.txt.j2"), "{% if %}").unwrap();
    match EmailTemplates::load(dir.path()) {
        Err(DeliverError::Template { name, .. }) => assert_eq!(name, "report.txt.j2"),
        other => panic!("{other:?}"),
    }

    copy_templates(dir.path());
    std::fs::write(dir.path().join("report.subject.j2"), "{{ shop_nmae }}").unwrap();
    let templates = EmailTemplates::load(dir.path()).unwrap();
    let err = compose_report(
        &templates,
        &sample_context("ops", "运营", None),
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap_err();
    match err {
        DeliverError::Template { name, .. } => assert_eq!(name, "report.subject.j2"),
        other => panic!("{other:?}"),
    }

    assert!(matches!(
        EmailTemplates::load(&dir.path().join("nope")),
        Err(DeliverError::TemplateRead { .. })
    ));
}

#[test]
fn bad_addresses_are_reported_with_the_field() {
    let ctx = sample_context("ops", "运营", None);
    let err = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &["not-an-address"]),
        &options(),
    )
    .unwrap_err();
    match err {
        DeliverError::Address { field, value, .. } => {
            assert_eq!(field, "ops.cc");
            assert_eq!(value, "not-an-address");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        compose_report(&templates(), &ctx, &addressing(&[], &[]), &options()),
        Err(DeliverError::Invalid { .. })
    ));
}

#[test]
fn long_chinese_file_names_survive_both_encodings() {
    let name = "会员运营_月度会员分层与复购分析报告_2026-11_附带全部明细与行动清单.xlsx";
    let ctx = sample_context(
        "crm",
        "会员",
        Some(Attachment {
            file_name: name.into(),
            bytes: workbook_bytes(2_000),
        }),
    );
    let email = compose_report(
        &templates(),
        &ctx,
        &addressing(&["a@example.com"], &[]),
        &options(),
    )
    .unwrap();
    let raw = eml_text(&email.eml);
    assert!(
        raw.contains("filename*0*=UTF-8''"),
        "continuations for a long name"
    );
    // Only the Content-Type line with the long xlsx media type itself passes
    // 78 (it cannot be folded); every line stays far below the 998 limit.
    let long: Vec<&str> = raw.lines().filter(|l| l.len() > 78).collect();
    assert_eq!(
        long,
        vec!["Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;"]
    );
    let msg = parse_eml(&email.eml);
    assert_eq!(msg["attachments"][0]["filename"], name);
    assert_eq!(msg["attachments"][0]["ct_name"], name);
    assert_eq!(msg["defects"], serde_json::json!([]));
}
