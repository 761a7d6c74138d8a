//! Text tables: encoding and delimiter chosen from the first bytes, then
//! records streamed through the csv reader into the row engine, two record
//! buffers reused in turn so the last record is known when it is handled.

use std::collections::VecDeque;
use std::io::Read;

use csv::StringRecord;

use super::error::{Location, ParseError};
use super::header::{AliasTable, HEADER_SCAN_ROWS};
use super::rows::{Engine, TextEnd, find_header, header_cells, missing_fields};
use super::text::{self, SniffError, TextSource};
use super::{Format, ParseOptions, ParseReport};
use crate::model::Record;

/// The 1-based line holding byte `offset` of the sniffed prefix.
fn line_at(prefix: &[u8], offset: usize) -> usize {
    1 + prefix[..offset.min(prefix.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

pub(crate) fn parse_text<R: Read>(
    prefix: Vec<u8>,
    at_eof: bool,
    rest: R,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record),
    warnings: Vec<String>,
) -> Result<ParseReport, ParseError> {
    let file = opts.file_name.as_str();
    let enc = text::detect_encoding(&prefix, at_eof).map_err(|e| match e {
        SniffError::Binary => ParseError::Binary {
            file: file.to_string(),
        },
        SniffError::Undecodable { offset } => ParseError::Encoding {
            file: file.to_string(),
            detail: format!(
                "not readable text: neither UTF-8 nor GB18030 (invalid byte sequence at line {}, byte {offset})",
                line_at(&prefix, offset)
            ),
        },
    })?;
    let sample = text::decode_lossy(&prefix[..prefix.len().min(64 * 1024)], enc);
    if sample
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty()
    {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    if text::mostly_replacement_chars(&sample) {
        return Err(ParseError::Encoding {
            file: file.to_string(),
            detail: "the text is full of replacement characters (\u{fffd}): it was decoded with the wrong encoding before it was saved; export it again from the platform".to_string(),
        });
    }
    if text::looks_like_html(&sample) {
        return Err(ParseError::Html {
            file: file.to_string(),
        });
    }
    let delimiter = text::sniff_delimiter(&sample);
    drop(sample);

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(64 * 1024)
        .from_reader(TextSource::new(prefix, rest, enc));

    let mut head: VecDeque<(StringRecord, u64)> = VecDeque::new();
    while head.len() < HEADER_SCAN_ROWS {
        let mut r = StringRecord::new();
        if !reader.read_record(&mut r).map_err(|e| csv_error(file, e))? {
            break;
        }
        let line = start_line(&mut reader, &r);
        head.push_back((r, line));
    }
    let candidates: Vec<(Vec<String>, Location)> = head
        .iter()
        .map(|(r, line)| (header_cells(r), Location::Line(*line)))
        .collect();
    let table = AliasTable::new(opts.dataset, &opts.extra_aliases);
    let (hi, m) = find_header(file, &table, &candidates)?;
    let header_line = head[hi].1;
    let missing = missing_fields(&table, &m);
    if !missing.is_empty() {
        return Err(ParseError::MissingColumns {
            file: file.to_string(),
            location: Location::Line(header_line),
            missing,
        });
    }

    let mut report = ParseReport::new(enc.name(), Format::Csv);
    report.delimiter = Some(char::from(delimiter));
    report.header_row = header_line;
    report.warnings = warnings;
    for f in &table.unknown_fields {
        report.warnings.push(format!(
            "{file}: configured aliases name {f:?}, which {} does not have",
            opts.dataset
        ));
    }
    let mut engine = Engine::new(file, None, opts.dataset, opts.tz, m, report);
    head.drain(..=hi);

    let mut recs = [StringRecord::new(), StringRecord::new()];
    let mut lines = [0u64; 2];
    let mut fill =
        |rec: &mut StringRecord, line: &mut u64, reader: &mut csv::Reader<TextSource<R>>| {
            if let Some((r, l)) = head.pop_front() {
                *rec = r;
                *line = l;
                return Ok(true);
            }
            let more = reader.read_record(rec).map_err(|e| csv_error(file, e))?;
            // Counted like the header window's rows: the csv reader's own
            // count is off for CRLF text and for a last row without a line
            // break, and asking the source also frees the line offsets it
            // keeps (they would otherwise pile up for the whole file).
            if more {
                *line = start_line(reader, rec);
            }
            Ok::<bool, ParseError>(more)
        };
    let mut cur = 0;
    let mut have = [fill(&mut recs[0], &mut lines[0], &mut reader)?, false];
    while have[cur] {
        let nxt = 1 - cur;
        have[nxt] = fill(&mut recs[nxt], &mut lines[nxt], &mut reader)?;
        let end = (!have[nxt]).then(|| {
            let src = reader.get_ref();
            TextEnd {
                newline: src.ends_with_newline(),
                open_quote: src.open_quote(),
            }
        });
        engine.row(&recs[cur], lines[cur], end, sink);
        cur = nxt;
    }
    Ok(engine.finish())
}

/// The line a just-read record starts on.
fn start_line<R: Read>(reader: &mut csv::Reader<TextSource<R>>, rec: &StringRecord) -> u64 {
    let end = reader.position().byte();
    let embedded = rec
        .as_byte_record()
        .as_slice()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    reader.get_mut().record_start_line(end, embedded)
}

fn csv_error(file: &str, e: csv::Error) -> ParseError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => {
            ParseError::Encoding {
                file: file.to_string(),
                detail: source.to_string(),
            }
        }
        csv::ErrorKind::Io(source) => ParseError::Io {
            file: file.to_string(),
            source,
        },
        csv::ErrorKind::Utf8 { pos, .. } => ParseError::Encoding {
            file: file.to_string(),
            detail: format!(
                "the record starting at byte {} is not valid UTF-8, though the file starts as UTF-8 (mixed encodings?)",
                pos.map_or(0, |p| p.byte())
            ),
        },
        other => ParseError::Malformed {
            file: file.to_string(),
            location: Location::Line(line.unwrap_or(0)),
            detail: format!("{other:?}"),
        },
    }
}
