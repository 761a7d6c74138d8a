//! Text helpers shared by the workbook writer and CSV exports: PII masks,
//! display widths that count wide (CJK) characters as two, CSV injection
//! guards and file-name sanitising.

/// `13812341234` → `138****1234`. Shorter values keep their first
/// character only, so a short number never shows most of its digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 8 => {
            let head: String = chars[..3].iter().collect();
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}****{tail}")
        }
        _ => format!("{}****", chars[0]),
    }
}

/// `张三丰` → `张*`: the first character and one star, whatever the length,
/// so the mask does not tell how long the name is.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(c) => format!("{c}*"),
        None => String::new(),
    }
}

/// A cell for a CSV export: text starting with `=`, `+`, `-` or `@` gets a
/// leading `'` so a spreadsheet does not read it as a formula.
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

/// Whether a character takes two columns in a spreadsheet cell: CJK
/// ideographs, kana, Hangul, full-width forms and CJK punctuation.
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x20000..=0x3FFFD)
}

/// Display width of a text: wide characters count two, others one; for
/// multi-line text, the longest line.
pub fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| l.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum())
        .max()
        .unwrap_or(0)
}

/// A name safe as one path component on every platform: path separators,
/// characters Windows forbids and control characters become `_`, and
/// leading dots and trailing dots or spaces go, so the name can neither
/// climb out of its folder nor hide.
pub fn sanitize_file_component(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = mapped
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        "_".to_string()
    } else {
        trimmed.to_string()
    }
}

/// A worksheet name Excel accepts: at most 31 characters, none of
/// `[]:*?/\`, not starting or ending with `'`.
pub fn sanitize_sheet_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim();
    let cut: String = cleaned.chars().take(31).collect();
    if cut.is_empty() {
        "Sheet".to_string()
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_three_and_four() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone(" 13812341234 "), "138****1234");
        assert_eq!(mask_phone("+8613812341234"), "+86****1234");
        assert_eq!(mask_phone("12345"), "1****");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn names_keep_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*");
        assert_eq!(mask_name("tb_8812"), "t*");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_quoted() {
        assert_eq!(
            csv_safe("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("a=b"), "a=b");
        assert_eq!(csv_safe(""), "");
    }

    #[test]
    fn wide_characters_count_two() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("支付金额"), 8);
        assert_eq!(display_width("UV价值"), 6);
        assert_eq!(display_width("（全角）"), 8);
        assert_eq!(display_width("ab\n支付金额x"), 9);
    }

    #[test]
    fn file_components_cannot_escape() {
        assert_eq!(sanitize_file_component("运营"), "运营");
        assert_eq!(sanitize_file_component("../etc/passwd"), "_etc_passwd");
        assert_eq!(sanitize_file_component("a:b*c?"), "a_b_c_");
        assert_eq!(sanitize_file_component(".."), "_");
        assert_eq!(sanitize_file_component("日报. "), "日报");
    }

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(sanitize_sheet_name("检查 / Checks"), "检查 _ Checks");
        assert_eq!(sanitize_sheet_name(&"x".repeat(40)).chars().count(), 31);
        assert_eq!(sanitize_sheet_name("'[]'"), "__");
        assert_eq!(sanitize_sheet_name(""), "Sheet");
    }
}
