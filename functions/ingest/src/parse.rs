//! The synchronous parse-and-transform core: bytes in, DynamoDB items out.
//! No IO of its own (it reads any `std::io::Read`) so it can be benchmarked
//! into an in-process sink and run on a blocking thread in the handler.
//!
//! # Item keys (deterministic: re-ingesting a file overwrites its items)
//!
//! * `INGEST_PK_COLUMNS` unset: `pk` = the object key (`data/sales.csv`).
//!   Set: the named columns' values joined with `#`.
//! * `INGEST_SK_COLUMNS` unset: `sk` = `row#<line number, 10 digits>` (the
//!   line the row starts on, header = line 1), so items sort in file order.
//!   Set: the named columns' values joined with `#`.
//!
//! CSV values are strings (`S`; CSV has no types). JSON Lines values keep
//! their JSON type (`S`, `N`, `BOOL`, `NULL`, `L`, `M`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use aws_sdk_dynamodb::types::AttributeValue;
use upstack_contract::table::{PARTITION_KEY, SORT_KEY};

pub type Item = HashMap<String, AttributeValue>;

/// DynamoDB's item size limit (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Key attribute limits: partition key 2,048 bytes, sort key 1,024 bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// A JSON Lines line longer than this is a bad row, read past in bounded
/// memory (no item from it could be under the item limit anyway).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// By extension (case-insensitive): `.csv` or `.jsonl`.
    pub fn for_key(key: &str) -> Option<Format> {
        let lower = key.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySpec {
    pub pk_columns: Vec<String>,
    pub sk_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    pub rows_ok: u64,
    pub rows_bad: u64,
    pub first_bad: Option<BadRow>,
    pub bytes: u64,
}

impl ParseReport {
    fn bad(&mut self, line: u64, reason: impl Into<String>) {
        self.rows_bad += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some(BadRow {
                line,
                reason: reason.into(),
            });
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The file as a whole cannot be ingested (permanent).
    #[error("{0}")]
    Unusable(String),
    /// Reading the stream failed (transient: the retry reads it again).
    #[error("reading the object failed: {0}")]
    Read(#[from] std::io::Error),
    /// The sink stopped accepting rows (the writer failed; its error wins).
    #[error("the item writer stopped")]
    SinkClosed,
}

/// Where items go. Returns `false` when it will take no more.
pub trait RowSink {
    fn accept(&mut self, item: Item) -> bool;
}

impl RowSink for Vec<Item> {
    fn accept(&mut self, item: Item) -> bool {
        self.push(item);
        true
    }
}

/// Counts bytes read, for the report.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bytes += read as u64;
        Ok(read)
    }
}

pub fn parse<R: Read>(
    reader: R,
    format: Format,
    spec: &KeySpec,
    object_key: &str,
    sink: &mut impl RowSink,
) -> Result<ParseReport, ParseError> {
    let mut counting = Counting {
        inner: reader,
        bytes: 0,
    };
    let mut report = match format {
        Format::Csv => parse_csv(&mut counting, spec, object_key, sink)?,
        Format::JsonLines => parse_jsonl(&mut counting, spec, object_key, sink)?,
    };
    report.bytes = counting.bytes;
    Ok(report)
}

fn parse_csv<R: Read>(
    reader: R,
    spec: &KeySpec,
    object_key: &str,
    sink: &mut impl RowSink,
) -> Result<ParseReport, ParseError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        // 64 KiB instead of 8 KiB: fewer refills on large objects.
        .buffer_capacity(64 * 1024)
        .from_reader(reader);
    let headers = csv.byte_headers().map_err(csv_error)?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(ParseError::Unusable(
            "the CSV file has no header row".into(),
        ));
    }
    let mut names = Vec::with_capacity(headers.len());
    for (index, name) in headers.iter().enumerate() {
        let name = std::str::from_utf8(name).map_err(|_| {
            ParseError::Unusable(format!("header column {} is not UTF-8", index + 1))
        })?;
        if name.is_empty() {
            return Err(ParseError::Unusable(format!(
                "header column {} has no name",
                index + 1
            )));
        }
        names.push(name.to_owned());
    }
    let column_of = |wanted: &str| {
        names.iter().position(|name| name == wanted).ok_or_else(|| {
            ParseError::Unusable(format!(
                "key column {wanted:?} is not in the header {names:?}"
            ))
        })
    };
    let pk_columns = spec
        .pk_columns
        .iter()
        .map(|c| column_of(c))
        .collect::<Result<Vec<_>, _>>()?;
    let sk_columns = spec
        .sk_columns
        .iter()
        .map(|c| column_of(c))
        .collect::<Result<Vec<_>, _>>()?;

    let names_bytes: usize = names.iter().map(String::len).sum();
    let mut report = ParseReport::default();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => match error.kind() {
                csv::ErrorKind::Io(_) => return Err(csv_error(error)),
                _ => {
                    report.bad(line, format!("unparseable CSV: {error}"));
                    continue;
                }
            },
        }
        let line = record
            .position()
            .map(|position| position.line())
            .unwrap_or(line);
        if record.len() != names.len() {
            report.bad(
                line,
                format!("expected {} columns, found {}", names.len(), record.len()),
            );
            continue;
        }
        // Size first (strings count their UTF-8 bytes): an oversize row is
        // rejected before anything is allocated for it.
        let size = names_bytes + record.as_slice().len();
        let keys = derive_keys(object_key, line, spec, |columns_are_sk| {
            let columns = if columns_are_sk {
                &sk_columns
            } else {
                &pk_columns
            };
            columns
                .iter()
                .map(|&index| std::str::from_utf8(&record[index]).ok().map(str::to_owned))
                .collect()
        });
        let (pk, sk) = match keys {
            Ok(keys) => keys,
            Err(reason) => {
                report.bad(line, reason);
                continue;
            }
        };
        let size = size + PARTITION_KEY.len() + pk.len() + SORT_KEY.len() + sk.len();
        if size > MAX_ITEM_BYTES {
            report.bad(
                line,
                format!("item is {size} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit"),
            );
            continue;
        }
        let mut item = Item::with_capacity(names.len() + 2);
        let mut invalid = None;
        for (index, (name, field)) in names.iter().zip(record.iter()).enumerate() {
            match std::str::from_utf8(field) {
                Ok(value) => {
                    item.insert(name.clone(), AttributeValue::S(value.to_owned()));
                }
                Err(_) => {
                    invalid = Some(index);
                    break;
                }
            }
        }
        if let Some(index) = invalid {
            report.bad(
                line,
                format!("column {:?} is not valid UTF-8", names[index]),
            );
            continue;
        }
        item.insert(PARTITION_KEY.to_owned(), AttributeValue::S(pk));
        item.insert(SORT_KEY.to_owned(), AttributeValue::S(sk));
        if !sink.accept(item) {
            return Err(ParseError::SinkClosed);
        }
        report.rows_ok += 1;
    }
    Ok(report)
}

fn csv_error(error: csv::Error) -> ParseError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => ParseError::Read(io),
        other => ParseError::Unusable(format!("the CSV header does not parse: {other:?}")),
    }
}

/// `values(false)` gives the pk column values, `values(true)` the sk ones.
fn derive_keys(
    object_key: &str,
    line: u64,
    spec: &KeySpec,
    values: impl Fn(bool) -> Vec<Option<String>>,
) -> Result<(String, String), String> {
    let join = |columns: &[String], values: Vec<Option<String>>| -> Result<String, String> {
        let mut parts = Vec::with_capacity(values.len());
        for (column, value) in columns.iter().zip(values) {
            match value {
                Some(value) if !value.is_empty() => parts.push(value),
                // DynamoDB rejects empty key attributes.
                _ => return Err(format!("key column {column:?} is empty or missing")),
            }
        }
        Ok(parts.join("#"))
    };
    let pk = if spec.pk_columns.is_empty() {
        object_key.to_owned()
    } else {
        join(&spec.pk_columns, values(false))?
    };
    let sk = if spec.sk_columns.is_empty() {
        row_sort_key(line)
    } else {
        join(&spec.sk_columns, values(true))?
    };
    if pk.len() > MAX_PARTITION_KEY_BYTES {
        return Err(format!(
            "partition key is {} bytes, over {MAX_PARTITION_KEY_BYTES}",
            pk.len()
        ));
    }
    if sk.len() > MAX_SORT_KEY_BYTES {
        return Err(format!(
            "sort key is {} bytes, over {MAX_SORT_KEY_BYTES}",
            sk.len()
        ));
    }
    Ok((pk, sk))
}

/// `row#` and the line number zero-padded to 10 digits. Written by hand
/// because `format!` is a measurable share of the per-row cost.
fn row_sort_key(line: u64) -> String {
    const WIDTH: usize = 10;
    let mut digits = [b'0'; 20];
    let mut rest = line;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = start.min(digits.len() - WIDTH);
    let mut key = String::with_capacity(4 + digits.len() - start);
    key.push_str("row#");
    key.extend(digits[start..].iter().map(|&digit| char::from(digit)));
    key
}

fn parse_jsonl<R: Read>(
    reader: R,
    spec: &KeySpec,
    object_key: &str,
    sink: &mut impl RowSink,
) -> Result<ParseReport, ParseError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut report = ParseReport::default();
    let mut buffer = Vec::new();
    let mut line: u64 = 0;
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)?;
        if read == 0 {
            break;
        }
        line += 1;
        if buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
            skip_rest_of_line(&mut reader)?;
            report.bad(line, format!("line is longer than {MAX_LINE_BYTES} bytes"));
            continue;
        }
        let text = trim_line_end(&buffer);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_slice(text) {
            Ok(value) => value,
            Err(error)
                if error.classify() == serde_json::error::Category::Syntax
                    && std::str::from_utf8(text).is_err() =>
            {
                report.bad(line, "line is not valid UTF-8");
                continue;
            }
            Err(error) => {
                report.bad(line, format!("invalid JSON: {error}"));
                continue;
            }
        };
        let serde_json::Value::Object(object) = value else {
            report.bad(line, "line is not a JSON object");
            continue;
        };
        let key_value = |column: &String| object.get(column).and_then(scalar_text);
        let keys = derive_keys(object_key, line, spec, |sk| {
            let columns = if sk {
                &spec.sk_columns
            } else {
                &spec.pk_columns
            };
            columns.iter().map(key_value).collect()
        });
        let (pk, sk) = match keys {
            Ok(keys) => keys,
            Err(reason) => {
                report.bad(line, reason);
                continue;
            }
        };
        let mut item = Item::with_capacity(object.len() + 2);
        let mut size = PARTITION_KEY.len() + pk.len() + SORT_KEY.len() + sk.len();
        for (name, value) in object {
            let value = to_attribute(value);
            size += name.len() + attribute_size(&value);
            item.insert(name, value);
        }
        if size > MAX_ITEM_BYTES {
            report.bad(
                line,
                format!("item is {size} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit"),
            );
            continue;
        }
        item.insert(PARTITION_KEY.to_owned(), AttributeValue::S(pk));
        item.insert(SORT_KEY.to_owned(), AttributeValue::S(sk));
        if !sink.accept(item) {
            return Err(ParseError::SinkClosed);
        }
        report.rows_ok += 1;
    }
    Ok(report)
}

fn skip_rest_of_line<R: BufRead>(reader: &mut R) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|byte| *byte == b'\n') {
            Some(index) => {
                reader.consume(index + 1);
                return Ok(());
            }
            None => {
                let length = available.len();
                reader.consume(length);
            }
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn to_attribute(value: serde_json::Value) -> AttributeValue {
    match value {
        serde_json::Value::Null => AttributeValue::Null(true),
        serde_json::Value::Bool(flag) => AttributeValue::Bool(flag),
        serde_json::Value::Number(number) => AttributeValue::N(number.to_string()),
        serde_json::Value::String(text) => AttributeValue::S(text),
        serde_json::Value::Array(values) => {
            AttributeValue::L(values.into_iter().map(to_attribute).collect())
        }
        serde_json::Value::Object(map) => AttributeValue::M(
            map.into_iter()
                .map(|(name, value)| (name, to_attribute(value)))
                .collect(),
        ),
    }
}

/// DynamoDB's item size accounting
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>):
/// strings by UTF-8 length, numbers about one byte per two digits plus one,
/// booleans and nulls one byte, lists and maps 3 bytes plus one per element.
pub fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => {
            number
                .chars()
                .filter(char::is_ascii_digit)
                .count()
                .div_ceil(2)
                + 1
        }
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(values) => {
            3 + values
                .iter()
                .map(|value| attribute_size(value) + 1)
                .sum::<usize>()
        }
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, value)| name.len() + attribute_size(value) + 1)
                .sum::<usize>()
        }
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|blob| blob.as_ref().len()).sum(),
        // Non-exhaustive enum: count unknown kinds as the largest we allow,
        // so an item is never under-estimated into a failing write.
        _ => MAX_ITEM_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(format: Format, spec: &KeySpec, input: &[u8]) -> (Vec<Item>, ParseReport) {
        let mut items = Vec::new();
        let report = parse(input, format, spec, "data/f.csv", &mut items).unwrap();
        (items, report)
    }

    fn s<'a>(item: &'a Item, name: &str) -> &'a str {
        item[name].as_s().unwrap()
    }

    #[test]
    fn csv_rows_become_items_with_default_keys() {
        let input = b"id,name\n1,Ann\n2,\"B, \"\"Bob\"\"\"\n";
        let (items, report) = run(Format::Csv, &KeySpec::default(), input);
        assert_eq!(report.rows_ok, 2);
        assert_eq!(report.rows_bad, 0);
        assert_eq!(report.bytes, input.len() as u64);
        assert_eq!(s(&items[0], "pk"), "data/f.csv");
        assert_eq!(s(&items[0], "sk"), "row#0000000002");
        assert_eq!(s(&items[1], "name"), "B, \"Bob\"");
        assert_eq!(s(&items[1], "sk"), "row#0000000003");
    }

    #[test]
    fn configured_key_columns_are_joined() {
        let spec = KeySpec {
            pk_columns: vec!["country".into(), "city".into()],
            sk_columns: vec!["id".into()],
        };
        let (items, report) = run(Format::Csv, &spec, b"id,country,city\n7,FR,Lyon\n8,FR,\n");
        assert_eq!(s(&items[0], "pk"), "FR#Lyon");
        assert_eq!(s(&items[0], "sk"), "7");
        assert_eq!(
            report.first_bad,
            Some(BadRow {
                line: 3,
                reason: "key column \"city\" is empty or missing".into()
            })
        );
    }

    #[test]
    fn a_key_column_missing_from_the_header_makes_the_file_unusable() {
        let spec = KeySpec {
            pk_columns: vec!["nope".into()],
            sk_columns: vec![],
        };
        let error = parse(&b"id\n1\n"[..], Format::Csv, &spec, "k", &mut Vec::new()).unwrap_err();
        assert!(
            matches!(error, ParseError::Unusable(ref m) if m.contains("\"nope\"")),
            "{error}"
        );
        let error = parse(
            &b""[..],
            Format::Csv,
            &KeySpec::default(),
            "k",
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(error, ParseError::Unusable(_)), "{error}");
    }

    #[test]
    fn bad_csv_rows_are_counted_and_the_first_is_reported() {
        let input = b"a,b\n1,2\n1,2,3\n\xff\xfe,x\n3,4\n5\n";
        let (items, report) = run(Format::Csv, &KeySpec::default(), input);
        assert_eq!(items.len(), 2);
        assert_eq!(report.rows_bad, 3);
        assert_eq!(
            report.first_bad,
            Some(BadRow {
                line: 3,
                reason: "expected 2 columns, found 3".into()
            })
        );
        let mut only_utf8 = Vec::new();
        let report = parse(
            &b"a,b\n\xff,x\n"[..],
            Format::Csv,
            &KeySpec::default(),
            "k",
            &mut only_utf8,
        )
        .unwrap();
        assert_eq!(
            report.first_bad,
            Some(BadRow {
                line: 2,
                reason: "column \"a\" is not valid UTF-8".into()
            })
        );
    }

    #[test]
    fn oversize_items_are_bad_rows() {
        let mut input = b"a,b\nsmall,x\n".to_vec();
        input.extend(b"big,");
        input.extend(std::iter::repeat_n(b'y', MAX_ITEM_BYTES));
        input.extend(b"\n");
        let (items, report) = run(Format::Csv, &KeySpec::default(), &input);
        assert_eq!(items.len(), 1);
        let bad = report.first_bad.unwrap();
        assert_eq!(bad.line, 3);
        assert!(
            bad.reason.contains("over DynamoDB's 409600-byte limit"),
            "{}",
            bad.reason
        );
    }

    #[test]
    fn json_lines_keep_types_and_report_bad_lines() {
        let input = b"{\"id\": 1, \"tags\": [\"a\"], \"ok\": true, \"n\": null}\n\n[1,2]\n{bad json}\n{\"s\":\"\xff\"}\r\n{\"id\": 2.5}";
        let spec = KeySpec {
            pk_columns: vec![],
            sk_columns: vec!["id".into()],
        };
        let (items, report) = run(Format::JsonLines, &spec, input);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], AttributeValue::N("1".into()));
        assert_eq!(
            items[0]["tags"],
            AttributeValue::L(vec![AttributeValue::S("a".into())])
        );
        assert_eq!(items[0]["ok"], AttributeValue::Bool(true));
        assert_eq!(items[0]["n"], AttributeValue::Null(true));
        assert_eq!(s(&items[0], "sk"), "1");
        assert_eq!(s(&items[1], "sk"), "2.5");
        assert_eq!(report.rows_bad, 3);
        assert_eq!(
            report.first_bad,
            Some(BadRow {
                line: 3,
                reason: "line is not a JSON object".into()
            })
        );
        let (_, utf8) = run(
            Format::JsonLines,
            &KeySpec::default(),
            b"{\"s\":\"\xff\"}\n",
        );
        assert_eq!(
            utf8.first_bad,
            Some(BadRow {
                line: 1,
                reason: "line is not valid UTF-8".into()
            })
        );
        let (_, invalid) = run(Format::JsonLines, &KeySpec::default(), b"{bad json}\n");
        assert!(
            invalid
                .first_bad
                .unwrap()
                .reason
                .starts_with("invalid JSON: key must be a string")
        );
    }

    #[test]
    fn overlong_json_lines_are_skipped_in_bounded_memory() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend(b"\n{\"a\":1}\n");
        let (items, report) = run(Format::JsonLines, &KeySpec::default(), &input);
        assert_eq!(items.len(), 1);
        assert_eq!(s(&items[0], "sk"), "row#0000000002");
        assert_eq!(report.first_bad.unwrap().line, 1);
    }

    #[test]
    fn row_sort_keys_are_zero_padded_line_numbers() {
        for line in [0, 1, 2, 42, 9_999_999_999, 10_000_000_000, u64::MAX] {
            assert_eq!(row_sort_key(line), format!("row#{line:010}"));
        }
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::for_key("data/a.CSV"), Some(Format::Csv));
        assert_eq!(Format::for_key("data/a.jsonl"), Some(Format::JsonLines));
        assert_eq!(Format::for_key("data/a.json"), None);
    }

    #[test]
    fn sizes_follow_dynamodb_accounting() {
        assert_eq!(attribute_size(&AttributeValue::S("héllo".into())), 6);
        assert_eq!(attribute_size(&AttributeValue::N("12345".into())), 4);
        assert_eq!(
            attribute_size(&AttributeValue::L(vec![AttributeValue::Bool(true)])),
            5
        );
    }
}
