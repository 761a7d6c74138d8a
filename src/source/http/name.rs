//! The name a download is saved under.
//!
//! In order of preference: the configured `file_name`, the server's
//! `Content-Disposition` file name, the last segment of the URL path. The
//! result is reduced to a plain file name (a server cannot write outside the
//! destination folder or create hidden files, which the inbox would skip),
//! and given the configured extension when it has no known one.

use reqwest::Url;
use reqwest::header::HeaderValue;

use super::config::KNOWN_EXTENSIONS;

/// Used when neither the config, the server nor the URL offers a name.
const FALLBACK: &str = "download";

/// Picks the name for a download. A name without a known extension gets
/// one: the configured hint first, else the one the server's own name
/// carries, else one implied by `Content-Type`; so `file_name = "orders"`
/// saves `orders.csv` or `orders.xlsx` as served.
pub fn choose(
    configured: Option<&str>,
    disposition: Option<&HeaderValue>,
    content_type: Option<&HeaderValue>,
    url: &Url,
    extension: Option<&str>,
) -> String {
    let from_server = disposition
        .and_then(from_disposition)
        .map(|n| sanitize(&n))
        .filter(|n| !n.is_empty());
    let from_url = url
        .path_segments()
        .and_then(|mut s| s.rfind(|seg| !seg.is_empty()))
        .map(|seg| sanitize(&percent_decode(seg)))
        .filter(|n| !n.is_empty());
    let picked = configured
        .map(sanitize)
        .filter(|n| !n.is_empty())
        .or_else(|| from_server.clone())
        .or_else(|| from_url.clone())
        .unwrap_or_else(|| FALLBACK.to_string());
    if known_extension(&picked).is_some() {
        return picked;
    }
    let ext = extension
        .map(str::to_string)
        .or_else(|| from_server.as_deref().and_then(known_extension))
        .or_else(|| from_url.as_deref().and_then(known_extension))
        .or_else(|| content_type.and_then(extension_of_type));
    match ext {
        Some(ext) => format!("{picked}.{ext}"),
        None => picked,
    }
}

/// The extension of `name` if the parser knows it, lower-cased.
fn known_extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    (!stem.is_empty() && KNOWN_EXTENSIONS.contains(&ext.as_str())).then_some(ext)
}

fn extension_of_type(v: &HeaderValue) -> Option<String> {
    let t = v
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    let ext = match t.as_str() {
        "text/csv" | "application/csv" => "csv",
        "text/tab-separated-values" => "tsv",
        "text/plain" => "txt",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-excel" => "xls",
        _ => return None,
    };
    Some(ext.to_string())
}

/// The last path component of `name`, without control characters and
/// leading dots or spaces.
pub fn sanitize(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    clean
        .trim()
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
        .to_string()
}

/// The file name of a `Content-Disposition` header: `filename*=UTF-8''…`
/// (RFC 6266) preferred over `filename="…"`. Chinese platforms often send raw
/// UTF-8 bytes in `filename`, which are accepted as well.
pub fn from_disposition(value: &HeaderValue) -> Option<String> {
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let mut plain = None;
    let mut extended = None;
    for part in split_params(&text) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        if k == "filename*" {
            // charset'language'percent-encoded
            let mut it = v.splitn(3, '\'');
            let (charset, _lang, enc) = (it.next(), it.next(), it.next());
            if let (Some(cs), Some(enc)) = (charset, enc)
                && cs.eq_ignore_ascii_case("utf-8")
            {
                extended = Some(percent_decode(enc));
            }
        } else if k == "filename" {
            let unq = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .map(|s| s.replace("\\\"", "\""))
                .unwrap_or_else(|| v.to_string());
            plain = Some(percent_decode(&unq));
        }
    }
    extended.or(plain).filter(|n| !n.is_empty())
}

/// Splits on `;` outside double quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Decodes `%XX` escapes; the result is taken as UTF-8 (lossy), which is
/// what browsers do with download names.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn names_come_from_config_then_server_then_url() {
        let u = url("https://h/export/%E8%AE%A2%E5%8D%95.csv?x=1");
        let cd = HeaderValue::from_static("attachment; filename=\"a;b.xlsx\"");
        assert_eq!(
            choose(Some("orders.csv"), Some(&cd), None, &u, None),
            "orders.csv"
        );
        assert_eq!(choose(None, Some(&cd), None, &u, None), "a;b.xlsx");
        assert_eq!(choose(None, None, None, &u, None), "订单.csv");
        assert_eq!(
            choose(None, None, None, &url("https://h/"), None),
            "download"
        );
        assert_eq!(
            choose(
                None,
                None,
                None,
                &url("https://h/api/export/"),
                Some("xlsx")
            ),
            "export.xlsx"
        );
        // A known extension is kept whatever the hint says.
        assert_eq!(choose(None, None, None, &u, Some("xlsx")), "订单.csv");
    }

    #[test]
    fn a_configured_stem_takes_the_extension_served() {
        let u = url("https://h/api/export?day=1");
        let cd = HeaderValue::from_static("attachment; filename=\"x.XLSX\"");
        let xls = HeaderValue::from_static("application/vnd.ms-excel");
        let csv = HeaderValue::from_static("text/csv; charset=gbk");
        assert_eq!(
            choose(Some("orders"), Some(&cd), Some(&csv), &u, None),
            "orders.xlsx"
        );
        assert_eq!(
            choose(Some("orders"), None, Some(&xls), &u, None),
            "orders.xls"
        );
        assert_eq!(
            choose(Some("orders"), None, Some(&csv), &u, Some("tsv")),
            "orders.tsv"
        );
        let v = url("https://h/f/orders.csv");
        assert_eq!(choose(Some("orders"), None, None, &v, None), "orders.csv");
        assert_eq!(choose(Some("orders"), None, None, &u, None), "orders");
    }

    #[test]
    fn extended_disposition_names_win() {
        let cd = HeaderValue::from_static(
            "attachment; filename=\"fallback.csv\"; filename*=UTF-8''%E5%95%86%E5%93%81.xls",
        );
        assert_eq!(from_disposition(&cd).as_deref(), Some("商品.xls"));
        let raw = HeaderValue::from_bytes("attachment; filename=订单.csv".as_bytes()).unwrap();
        assert_eq!(from_disposition(&raw).as_deref(), Some("订单.csv"));
        assert_eq!(from_disposition(&HeaderValue::from_static("inline")), None);
    }

    #[test]
    fn servers_cannot_escape_the_folder_or_hide_files() {
        let u = url("https://h/x");
        for evil in [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "/abs/p",
            ".hidden.csv",
        ] {
            let cd = HeaderValue::from_str(&format!("attachment; filename=\"{evil}\"")).unwrap();
            let n = choose(None, Some(&cd), None, &u, None);
            assert!(
                !n.contains('/') && !n.contains('\\') && !n.starts_with('.'),
                "{n}"
            );
        }
        let cd = HeaderValue::from_static("attachment; filename=\"..\"");
        assert_eq!(choose(None, Some(&cd), None, &u, None), "x");
    }
}
