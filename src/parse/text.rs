//! Text files: recognising the container (workbook or text) from the first
//! bytes, choosing the encoding (BOM, then UTF-8, then GB18030), decoding a
//! stream to UTF-8 without holding it in memory, and sniffing the delimiter.

use std::collections::VecDeque;
use std::io::{self, Read};

use encoding_rs::{DecoderResult, Encoding, GB18030, UTF_16BE, UTF_16LE};

/// How many bytes are read up front to decide on format and encoding. Large
/// enough that a GBK file whose first lines happen to be ASCII still shows
/// its Chinese text inside the window.
pub(crate) const SNIFF_BYTES: usize = 256 * 1024;

/// What the first bytes say the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// A zip archive: an .xlsx workbook.
    Zip,
    /// An OLE compound file: an .xls workbook.
    Cfb,
    Text,
}

pub(crate) fn container(prefix: &[u8]) -> Container {
    if prefix.starts_with(b"PK\x03\x04") {
        Container::Zip
    } else if prefix.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Container::Cfb
    } else {
        Container::Text
    }
}

/// The text encodings SPEC §4.2 accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Gb18030,
}

impl TextEncoding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8-BOM",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Gb18030 => "GB18030",
        }
    }

    fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
            TextEncoding::Utf8 | TextEncoding::Gb18030 => 0,
        }
    }

    fn encoding(self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
            TextEncoding::Utf16Le => Some(UTF_16LE),
            TextEncoding::Utf16Be => Some(UTF_16BE),
            TextEncoding::Gb18030 => Some(GB18030),
        }
    }
}

/// Why a text prefix cannot be read as a table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SniffError {
    Binary,
    Undecodable { offset: usize },
}

/// Chooses the encoding from the first bytes of a text file: a BOM wins;
/// else valid UTF-8; else GB18030, which must decode without a single
/// malformed sequence. `at_eof` says whether `prefix` is the whole file.
pub(crate) fn detect_encoding(prefix: &[u8], at_eof: bool) -> Result<TextEncoding, SniffError> {
    if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(TextEncoding::Utf8Bom);
    }
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return Ok(TextEncoding::Utf16Le);
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return Ok(TextEncoding::Utf16Be);
    }
    if looks_binary(prefix) {
        return Err(SniffError::Binary);
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return Ok(TextEncoding::Utf8),
        // The window may cut a multi-byte character in half.
        Err(e) if e.error_len().is_none() && !at_eof => return Ok(TextEncoding::Utf8),
        Err(_) => {}
    }
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut out = vec![0u8; prefix.len() * 3 + 16];
    let (result, read, _) = decoder.decode_to_utf8_without_replacement(prefix, &mut out, at_eof);
    match result {
        DecoderResult::Malformed(bad, after) => Err(SniffError::Undecodable {
            offset: read - after as usize - bad as usize,
        }),
        DecoderResult::InputEmpty | DecoderResult::OutputFull => Ok(TextEncoding::Gb18030),
    }
}

/// NUL bytes never occur in single-byte-unit text, and a text export has
/// next to no other C0 control characters; random bytes have plenty of both.
fn looks_binary(prefix: &[u8]) -> bool {
    let mut controls = 0usize;
    for &b in prefix {
        if b == 0 {
            return true;
        }
        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A) {
            controls += 1;
        }
    }
    controls > 0 && controls * 100 >= prefix.len().max(1)
}

/// Decodes the sniffed window for delimiter and HTML sniffing only; the
/// real decoding (strict) happens in [`TextSource`].
pub(crate) fn decode_lossy(prefix: &[u8], enc: TextEncoding) -> String {
    let body = &prefix[enc.bom_len().min(prefix.len())..];
    match enc.encoding() {
        None => String::from_utf8_lossy(body).into_owned(),
        Some(e) => e.decode_without_bom_handling(body).0.into_owned(),
    }
}

/// A `Read` that yields the file's text as UTF-8: the sniffed prefix first,
/// then the rest of the stream, decoded strictly (a malformed sequence is an
/// `InvalidData` error naming the byte offset). It also remembers the last
/// byte and counts quote characters, so the caller can tell whether the file
/// ended in the middle of a row.
pub(crate) struct TextSource<R> {
    prefix: Vec<u8>,
    prefix_pos: usize,
    inner: R,
    inner_eof: bool,
    decoder: Option<encoding_rs::Decoder>,
    enc_name: &'static str,
    /// Undecoded input not yet consumed by the decoder.
    raw: Vec<u8>,
    raw_start: usize,
    /// Decoded output not yet handed to the caller.
    out: Vec<u8>,
    out_start: usize,
    out_end: usize,
    /// Input bytes consumed by the decoder, for error offsets.
    consumed: u64,
    decoder_done: bool,
    quotes: u64,
    last_byte: Option<u8>,
    /// Decoded bytes handed out so far.
    emitted: u64,
    /// Offsets of `\n` bytes handed out but not yet passed by a record end.
    newlines: VecDeque<u64>,
    /// How many newlines lie before the last record end asked about.
    newlines_passed: u64,
    last_passed: Option<u64>,
    /// A read returned end of stream.
    finished: bool,
}

impl<R: Read> TextSource<R> {
    pub(crate) fn new(prefix: Vec<u8>, inner: R, enc: TextEncoding) -> Self {
        let skip = enc.bom_len().min(prefix.len());
        TextSource {
            prefix,
            prefix_pos: skip,
            inner,
            inner_eof: false,
            decoder: enc.encoding().map(|e| e.new_decoder_without_bom_handling()),
            enc_name: enc.name(),
            raw: Vec::new(),
            raw_start: 0,
            out: Vec::new(),
            out_start: 0,
            out_end: 0,
            consumed: skip as u64,
            decoder_done: false,
            quotes: 0,
            last_byte: None,
            emitted: 0,
            newlines: VecDeque::new(),
            newlines_passed: 0,
            last_passed: None,
            finished: false,
        }
    }

    /// True if the stream so far holds an odd number of `"`: some quoted
    /// field was never closed.
    pub(crate) fn open_quote(&self) -> bool {
        self.quotes % 2 == 1
    }

    /// True if the text ended with a line break (or was empty).
    pub(crate) fn ends_with_newline(&self) -> bool {
        matches!(self.last_byte, None | Some(b'\n') | Some(b'\r'))
    }

    /// Reads raw bytes: the prefix first, then the inner reader.
    fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix_pos < self.prefix.len() {
            let n = (self.prefix.len() - self.prefix_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.prefix_pos..self.prefix_pos + n]);
            self.prefix_pos += n;
            if self.prefix_pos == self.prefix.len() {
                // The window is no longer needed; free it.
                self.prefix = Vec::new();
                self.prefix_pos = 0;
            }
            return Ok(n);
        }
        if self.inner_eof {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(0) => {
                    self.inner_eof = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn track(&mut self, data: &[u8]) {
        self.finished |= data.is_empty();
        if let Some(&b) = data.last() {
            self.last_byte = Some(b);
        }
        for (i, &b) in data.iter().enumerate() {
            if b == b'"' {
                self.quotes += 1;
            } else if b == b'\n' {
                self.newlines.push_back(self.emitted + i as u64);
            }
        }
        self.emitted += data.len() as u64;
    }

    /// The 1-based line on which a record starts, given the decoded byte
    /// offset just past it (where the csv reader stopped) and the number of
    /// line breaks inside its quoted fields. Calls must come in record
    /// order. The csv reader's own line count is off for CRLF files, so
    /// lines are counted here from the bytes that went through.
    pub(crate) fn record_start_line(&mut self, end: u64, embedded: u64) -> u64 {
        while let Some(&off) = self.newlines.front() {
            if off >= end {
                break;
            }
            self.newlines.pop_front();
            self.newlines_passed += 1;
            self.last_passed = Some(off);
        }
        // A `\n` right before `end` terminates the record itself, unless the
        // file ended inside a quoted field that swallowed it.
        let swallowed = self.finished && end == self.emitted && self.open_quote();
        let terminator = u64::from(end > 0 && self.last_passed == Some(end - 1) && !swallowed);
        (self.newlines_passed - terminator).saturating_sub(embedded) + 1
    }

    fn fill_decoded(&mut self) -> io::Result<()> {
        const CHUNK: usize = 64 * 1024;
        self.out.resize(CHUNK * 3 + 16, 0);
        self.out_start = 0;
        self.out_end = 0;
        loop {
            if self.decoder_done {
                return Ok(());
            }
            if self.raw_start == self.raw.len() {
                self.raw.resize(CHUNK, 0);
                let mut tmp = std::mem::take(&mut self.raw);
                let n = self.read_raw(&mut tmp)?;
                tmp.truncate(n);
                self.raw = tmp;
                self.raw_start = 0;
            }
            let last =
                self.raw.is_empty() && self.prefix_pos >= self.prefix.len() && self.inner_eof;
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(());
            };
            let (result, read, written) = decoder.decode_to_utf8_without_replacement(
                &self.raw[self.raw_start..],
                &mut self.out[self.out_end..],
                last,
            );
            self.raw_start += read;
            self.consumed += read as u64;
            self.out_end += written;
            match result {
                DecoderResult::Malformed(bad, after) => {
                    let offset = self.consumed - u64::from(after) - u64::from(bad);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "bytes at offset {offset} are not valid {} (the file starts as {})",
                            self.enc_name, self.enc_name
                        ),
                    ));
                }
                DecoderResult::OutputFull => return Ok(()),
                DecoderResult::InputEmpty => {
                    if last {
                        self.decoder_done = true;
                        return Ok(());
                    }
                    if self.out_end > 0 {
                        return Ok(());
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for TextSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.decoder.is_none() {
            let n = self.read_raw(buf)?;
            self.track(&buf[..n]);
            return Ok(n);
        }
        if self.out_start == self.out_end {
            self.fill_decoded()?;
        }
        let n = (self.out_end - self.out_start).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_start..self.out_start + n]);
        self.out_start += n;
        self.track(&buf[..n]);
        Ok(n)
    }
}

/// Picks the field delimiter from the first lines of text: the candidate
/// whose per-line count is most consistent (and, on a tie, largest) wins.
/// Preamble lines without any delimiter simply do not vote.
pub(crate) fn sniff_delimiter(text: &str) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .collect();
    let mut best = (0usize, 0usize, b',');
    for &d in &CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let mut modal = (0usize, 0usize); // (lines, count)
        for &c in counts.iter().filter(|&&c| c > 0) {
            let n = counts.iter().filter(|&&x| x == c).count();
            if (n, c) > modal {
                modal = (n, c);
            }
        }
        if (modal.0, modal.1) > (best.0, best.1) {
            best = (modal.0, modal.1, d);
        }
    }
    best.2
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for &b in line.as_bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == d && !in_quotes {
            n += 1;
        }
    }
    n
}

/// A file someone already decoded with the wrong encoding and saved again
/// holds U+FFFD where its Chinese text was: as many of those as other
/// non-ASCII characters means nothing readable is left.
pub(crate) fn mostly_replacement_chars(text: &str) -> bool {
    let (mut bad, mut other) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_ascii()) {
        if c == '\u{fffd}' {
            bad += 1;
        } else {
            other += 1;
        }
    }
    bad > 0 && bad >= other
}

/// An `.xls` from some platforms is really an HTML table; say so rather
/// than failing to find a header.
pub(crate) fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype") || head.starts_with("<html") || head.starts_with("<table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_decides_the_encoding() {
        assert_eq!(
            detect_encoding(b"\xEF\xBB\xBFa,b\n", true),
            Ok(TextEncoding::Utf8Bom)
        );
        assert_eq!(
            detect_encoding(b"\xFF\xFEa\0", true),
            Ok(TextEncoding::Utf16Le)
        );
        assert_eq!(
            detect_encoding(b"\xFE\xFF\0a", true),
            Ok(TextEncoding::Utf16Be)
        );
    }

    #[test]
    fn valid_utf8_then_gb18030() {
        assert_eq!(
            detect_encoding("订单编号,金额\n".as_bytes(), true),
            Ok(TextEncoding::Utf8)
        );
        let (gbk, _, _) = GB18030.encode("订单编号,金额\n");
        assert_eq!(detect_encoding(&gbk, true), Ok(TextEncoding::Gb18030));
        // A window ending inside a UTF-8 character is still UTF-8.
        let s = "订单编号".as_bytes();
        assert_eq!(detect_encoding(&s[..5], false), Ok(TextEncoding::Utf8));
    }

    #[test]
    fn undecodable_and_binary_prefixes_are_refused() {
        assert_eq!(
            detect_encoding(b"order_id,amount\n1,\xFF\xFE\xFD\n", true),
            Err(SniffError::Undecodable { offset: 18 })
        );
        assert_eq!(detect_encoding(b"ab\0cd", true), Err(SniffError::Binary));
        assert_eq!(
            detect_encoding(b"\x01\x02\x03abc", true),
            Err(SniffError::Binary)
        );
    }

    #[test]
    fn replacement_characters() {
        assert!(mostly_replacement_chars(
            "\u{fffd}\u{fffd}\u{fffd},\u{fffd}\u{fffd}\n1,2"
        ));
        assert!(!mostly_replacement_chars("订单编号,金额\u{fffd}\n"));
        assert!(!mostly_replacement_chars("a,b\n"));
    }

    #[test]
    fn containers_by_magic() {
        assert_eq!(container(b"PK\x03\x04rest"), Container::Zip);
        assert_eq!(
            container(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            Container::Cfb
        );
        assert_eq!(container(b"a,b"), Container::Text);
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2,5\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3,1\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        assert_eq!(sniff_delimiter("preamble line\n\"x,y\";b;c\n1;2;3\n"), b';');
    }

    #[test]
    fn decoding_stream_is_strict_and_tracks_the_end() {
        let (gbk, _, _) = GB18030.encode("编号,名\n1,\"张三\"\n");
        let mut src = TextSource::new(gbk[..4].to_vec(), &gbk[4..], TextEncoding::Gb18030);
        let mut s = String::new();
        src.read_to_string(&mut s).unwrap();
        assert_eq!(s, "编号,名\n1,\"张三\"\n");
        assert!(!src.open_quote());
        assert!(src.ends_with_newline());

        let bad: &[u8] = b"\xB1\xE0,\xFF";
        let mut src = TextSource::new(Vec::new(), bad, TextEncoding::Gb18030);
        let err = src.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("offset 3"), "{err}");
    }

    #[test]
    fn record_lines_from_end_offsets() {
        // "a\r\n\r\nb\r\n\"c\nd\"\n": records end after `a\r`, `b\r`, `"c\nd"\n`.
        let text = b"a\r\n\r\nb\r\n\"c\nd\"\n";
        let mut src = TextSource::new(text.to_vec(), io::empty(), TextEncoding::Utf8);
        src.read_to_end(&mut Vec::new()).unwrap();
        assert_eq!(src.record_start_line(2, 0), 1);
        assert_eq!(src.record_start_line(7, 0), 3);
        assert_eq!(src.record_start_line(14, 1), 4);
        let mut src = TextSource::new(b"a\n\n\nb\nc".to_vec(), io::empty(), TextEncoding::Utf8);
        src.read_to_end(&mut Vec::new()).unwrap();
        assert_eq!(src.record_start_line(2, 0), 1);
        assert_eq!(src.record_start_line(6, 0), 4);
        assert_eq!(src.record_start_line(7, 0), 5);
    }

    #[test]
    fn utf16_stream_drops_its_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "a\tb\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let mut src = TextSource::new(bytes, io::empty(), TextEncoding::Utf16Le);
        let mut s = String::new();
        src.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a\tb\n");
    }
}
