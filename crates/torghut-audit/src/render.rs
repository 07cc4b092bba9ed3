//! A row's content text rendered here, from the values PostgreSQL sends in its binary format,
//! exactly as the sealing triggers render it (`audit_content`: the text of `to_jsonb(row)`
//! without `chain_seq`, `chain_hash` and `updated_at`, with `TimeZone` UTC), so that `verify`
//! hashes rows on its side instead of asking PostgreSQL to build a `jsonb` for every row.
//!
//! This is only a fast path: a stream whose rows do not all link with the digests computed here
//! is verified again with the digests PostgreSQL computes (see `verify.rs`), and only that second
//! verification reports anything. A rendering that differs from PostgreSQL's therefore costs time,
//! never a false finding. It could hide a change only if a changed value rendered here exactly as
//! PostgreSQL rendered the value it replaced: the functions below are ports of PostgreSQL's own
//! (`escape_json`, `numeric_out`, `JsonEncodeDateTime`, `jsonb` key order), each rendering every
//! byte of its value, and the tests check them against PostgreSQL. Types not handled here (none in
//! the audit tables today) send their whole stream kind to PostgreSQL's digests.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// The columns a row's content leaves out.
pub(crate) const EXCLUDED: [&str; 3] = ["chain_seq", "chain_hash", "updated_at"];

/// How a column's value is rendered (by type OID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric,
    Text,
    Uuid,
    TimestampTz,
    Jsonb,
    TextArray,
    /// Not rendered here.
    Other,
}

impl Kind {
    fn of(oid: u32) -> Self {
        match oid {
            16 => Self::Bool,
            21 => Self::Int2,
            23 => Self::Int4,
            20 => Self::Int8,
            1700 => Self::Numeric,
            25 | 1043 => Self::Text,
            2950 => Self::Uuid,
            1184 => Self::TimestampTz,
            3802 => Self::Jsonb,
            1009 | 1015 => Self::TextArray,
            _ => Self::Other,
        }
    }
}

#[derive(Debug)]
struct Col {
    name: String,
    oid: u32,
    kind: Kind,
    /// The name as a JSON key (quoted, escaped).
    key: Vec<u8>,
}

/// The columns of one table, in attribute order.
#[derive(Debug)]
pub(crate) struct Layout {
    table: &'static str,
    cols: Vec<Col>,
    /// The content columns (all but [`EXCLUDED`]) in `jsonb`'s key order.
    content: Vec<usize>,
    /// Each column's name as an SQL identifier (from the catalog).
    idents: Vec<String>,
}

/// The values of a row (in binary), one per column; `None` is SQL NULL.
pub(crate) type Fields<'a> = Vec<Option<&'a [u8]>>;

/// Any value, as its bytes in PostgreSQL's binary format.
pub(crate) struct Raw<'a>(pub &'a [u8]);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

/// The change of one column recorded by an event: `changes -> key -> 'from'` and `'to'` as
/// `jsonb` text (`None`: SQL NULL, the member is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change<'a> {
    pub key: Cow<'a, str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

impl Layout {
    /// The layout of `table`, or `None` when one of its content columns has a type not rendered
    /// here.
    pub(crate) fn new(table: &'static str, columns: Vec<(String, u32)>) -> Option<Self> {
        let cols: Vec<Col> = columns
            .into_iter()
            .map(|(name, oid)| {
                let mut key = Vec::new();
                escape_json(name.as_bytes(), &mut key);
                Col {
                    kind: Kind::of(oid),
                    name,
                    oid,
                    key,
                }
            })
            .collect();
        let mut content: Vec<usize> = (0..cols.len())
            .filter(|&i| !EXCLUDED.contains(&cols[i].name.as_str()))
            .collect();
        if content.iter().any(|&i| cols[i].kind == Kind::Other) {
            return None;
        }
        content.sort_by(|&a, &b| key_order(cols[a].name.as_bytes(), cols[b].name.as_bytes()));
        Some(Self {
            table,
            cols,
            content,
            idents: Vec::new(),
        })
    }

    /// Reads the columns of `table` from the catalog.
    pub(crate) async fn load(
        db: &impl tokio_postgres::GenericClient,
        table: &'static str,
    ) -> Result<Option<Self>, tokio_postgres::Error> {
        let rows = db
            .query(
                "SELECT a.attname::text, a.atttypid, quote_ident(a.attname) FROM pg_attribute a \
                 WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                &[&table],
            )
            .await?;
        let columns = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        let Some(mut layout) = Self::new(table, columns) else {
            return Ok(None);
        };
        layout.idents = rows
            .iter()
            .map(|r| r.try_get(2))
            .collect::<Result<_, _>>()?;
        Ok(Some(layout))
    }

    /// The select list of this table's columns (of alias `t`).
    pub(crate) fn select_list(&self) -> String {
        self.idents
            .iter()
            .map(|ident| format!("t.{ident}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The values of this table's columns in `row`, from column `offset` on; `None` when they
    /// are not of the types of the layout.
    pub(crate) fn fields_at<'r>(
        &self,
        row: &'r tokio_postgres::Row,
        offset: usize,
    ) -> Option<Fields<'r>> {
        let columns = row.columns().get(offset..offset + self.cols.len())?;
        let mut out = Vec::with_capacity(self.cols.len());
        for (i, (c, col)) in self.cols.iter().zip(columns).enumerate() {
            if col.type_().oid() != c.oid {
                return None;
            }
            out.push(
                row.try_get::<_, Option<Raw<'r>>>(offset + i)
                    .ok()?
                    .map(|r| r.0),
            );
        }
        Some(out)
    }

    /// The type OID of column `i`.
    pub(crate) fn oid(&self, i: usize) -> u32 {
        self.cols[i].oid
    }

    /// The index of a column.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c.name == name)
    }

    /// The content digest, `sha256(table || ' ' || content)`, of a row whose values are
    /// `fields`, with `overrides` (key, `jsonb` text) set over its columns as `audit_initial`
    /// does (`j || overrides`); `None` when a value cannot be rendered here. `buf` is scratch.
    pub(crate) fn digest(
        &self,
        fields: &Fields<'_>,
        overrides: &[(&str, &str)],
        buf: &mut Vec<u8>,
    ) -> Option<[u8; 32]> {
        buf.clear();
        buf.extend_from_slice(self.table.as_bytes());
        buf.push(b' ');
        buf.push(b'{');
        if overrides.is_empty() {
            for (n, &i) in self.content.iter().enumerate() {
                if n > 0 {
                    buf.extend_from_slice(b", ");
                }
                buf.extend_from_slice(&self.cols[i].key);
                buf.extend_from_slice(b": ");
                render(self.cols[i].kind, fields[i], buf)?;
            }
        } else {
            enum Src<'s> {
                Col(usize),
                Raw(&'s str),
            }
            let mut members: Vec<(&[u8], Src<'_>)> = Vec::with_capacity(self.content.len() + 2);
            for &i in &self.content {
                if !overrides.iter().any(|(k, _)| *k == self.cols[i].name) {
                    members.push((self.cols[i].name.as_bytes(), Src::Col(i)));
                }
            }
            for (k, v) in overrides {
                if !EXCLUDED.contains(k) {
                    members.push((k.as_bytes(), Src::Raw(v)));
                }
            }
            members.sort_by(|a, b| key_order(a.0, b.0));
            for (n, (k, src)) in members.iter().enumerate() {
                if n > 0 {
                    buf.extend_from_slice(b", ");
                }
                match src {
                    Src::Col(i) => {
                        buf.extend_from_slice(&self.cols[*i].key);
                        buf.extend_from_slice(b": ");
                        render(self.cols[*i].kind, fields[*i], buf)?;
                    }
                    Src::Raw(v) => {
                        escape_json(k, buf);
                        buf.extend_from_slice(b": ");
                        buf.extend_from_slice(v.as_bytes());
                    }
                }
            }
        }
        buf.push(b'}');
        Some(Sha256::digest(&buf[..]).into())
    }

    /// `(to_jsonb(row) -> name)::text`: `Some(None)` when the row has no such column (SQL
    /// NULL), `None` when its value cannot be rendered here.
    pub(crate) fn member_text(&self, fields: &Fields<'_>, name: &str) -> Option<Option<Vec<u8>>> {
        let Some(i) = self.column(name) else {
            return Some(None);
        };
        let mut out = Vec::new();
        render(self.cols[i].kind, fields[i], &mut out)?;
        Some(Some(out))
    }
}

/// `jsonb`'s order of object keys: shorter first, then bytewise.
fn key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// PostgreSQL's `escape_json`: the string quoted, `"` `\` and the control characters escaped
/// (`\b \f \n \r \t`, others `\u00XX` in lower case), everything else as it is.
fn escape_json(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = s;
    // Runs of bytes that stay as they are, then one that is escaped.
    while let Some(k) = rest
        .iter()
        .position(|&c| c < b' ' || c == b'"' || c == b'\\')
    {
        out.extend_from_slice(&rest[..k]);
        let c = rest[k];
        rest = &rest[k + 1..];
        match c {
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c if c < b' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
            c => out.push(c),
        }
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    /// A length-prefixed value (-1: NULL).
    fn value(&mut self) -> Option<Option<&'a [u8]>> {
        match self.i32()? {
            -1 => Some(None),
            n => Some(Some(self.take(usize::try_from(n).ok()?)?)),
        }
    }
}

/// Renders one value as `to_jsonb` does, into `out`; `None` when it cannot be rendered here.
fn render(kind: Kind, v: Option<&[u8]>, out: &mut Vec<u8>) -> Option<()> {
    let Some(v) = v else {
        out.extend_from_slice(b"null");
        return Some(());
    };
    match kind {
        Kind::Bool => out.extend_from_slice(match v {
            [0] => b"false",
            [_] => b"true",
            _ => return None,
        }),
        Kind::Int2 => push_int(i64::from(i16::from_be_bytes(v.try_into().ok()?)), out),
        Kind::Int4 => push_int(i64::from(i32::from_be_bytes(v.try_into().ok()?)), out),
        Kind::Int8 => push_int(i64::from_be_bytes(v.try_into().ok()?), out),
        Kind::Numeric => numeric(v, out)?,
        Kind::Text => escape_json(v, out),
        Kind::Uuid => {
            let u = uuid::Uuid::from_slice(v).ok()?;
            out.push(b'"');
            out.extend_from_slice(
                u.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer())
                    .as_bytes(),
            );
            out.push(b'"');
        }
        Kind::TimestampTz => {
            out.push(b'"');
            timestamptz(i64::from_be_bytes(v.try_into().ok()?), out);
            out.push(b'"');
        }
        Kind::Jsonb => match v.split_first() {
            Some((1, text)) => out.extend_from_slice(text),
            _ => return None,
        },
        Kind::TextArray => text_array(v, out)?,
        Kind::Other => return None,
    }
    Some(())
}

fn push_int(n: i64, out: &mut Vec<u8>) {
    if n < 0 {
        out.push(b'-');
    }
    push_uint(n.unsigned_abs(), 1, out);
}

/// `n` in decimal, zero-padded to at least `width` digits.
fn push_uint(mut n: u64, width: usize, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while n > 0 || digits.len() - i < width {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[i..]);
}

/// `numeric_out` of a numeric in binary (the store's decoder); NaN and the infinities are
/// strings in `jsonb`.
fn numeric(v: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let start = out.len();
    if !torghut_store::numeric::numeric_out(v, out)? {
        out.insert(start, b'"');
        out.push(b'"');
    }
    Some(())
}

/// A `timestamptz` (microseconds since 2000-01-01 UTC) as `to_jsonb` renders it with `TimeZone`
/// UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, the fraction without trailing zeros, years before
/// 1 as `YYYY... BC`; `infinity`, `-infinity`.
fn timestamptz(us: i64, out: &mut Vec<u8>) {
    match us {
        i64::MAX => return out.extend_from_slice(b"infinity"),
        i64::MIN => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    const USECS_PER_DAY: i64 = 86_400_000_000;
    let date = us.div_euclid(USECS_PER_DAY) + 2_451_545;
    let time = us.rem_euclid(USECS_PER_DAY);
    let (year, month, day) = j2date(date);
    let secs = (time / 1_000_000) as u64;
    let fsec = time % 1_000_000;
    push_uint((if year > 0 { year } else { 1 - year }) as u64, 4, out);
    out.push(b'-');
    push_uint(month as u64, 2, out);
    out.push(b'-');
    push_uint(day as u64, 2, out);
    out.push(b'T');
    push_uint(secs / 3600, 2, out);
    out.push(b':');
    push_uint(secs / 60 % 60, 2, out);
    out.push(b':');
    push_uint(secs % 60, 2, out);
    if fsec != 0 {
        out.push(b'.');
        let mut f = fsec as u64;
        let mut width = 6;
        while f.is_multiple_of(10) {
            f /= 10;
            width -= 1;
        }
        push_uint(f, width, out);
    }
    out.extend_from_slice(b"+00:00");
    if year <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// PostgreSQL's `j2date`: a Julian day number to (year, month, day), year 0 being 1 BC.
fn j2date(jd: i64) -> (i64, i64, i64) {
    let mut julian = jd + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y - 4800;
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    (year, month, day)
}

/// A text array (binary `array_send`) as `to_jsonb` renders it: nested JSON arrays of strings
/// (NULL: `null`), `[]` when empty; lower bounds do not show.
fn text_array(v: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut r = Reader(v);
    let ndim = usize::try_from(r.i32()?).ok()?;
    let _flags = r.i32()?;
    if !matches!(r.u32()?, 25 | 1043) {
        return None;
    }
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(usize::try_from(r.i32()?).ok()?);
        r.i32()?;
    }
    if ndim == 0 || dims.contains(&0) {
        out.extend_from_slice(b"[]");
        return r.0.is_empty().then_some(());
    }
    fn dim(r: &mut Reader<'_>, dims: &[usize], out: &mut Vec<u8>) -> Option<()> {
        out.push(b'[');
        for i in 0..dims[0] {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            if dims.len() > 1 {
                dim(r, &dims[1..], out)?;
            } else {
                match r.value()? {
                    None => out.extend_from_slice(b"null"),
                    Some(s) => escape_json(s, out),
                }
            }
        }
        out.push(b']');
        Some(())
    }
    dim(&mut r, &dims, out)?;
    r.0.is_empty().then_some(())
}

/// The changes an event records (`payload -> 'changes'`, when it is an object): each column's
/// `from` and `to`. `None` when the payload cannot be read here.
pub(crate) fn changes(payload: &[u8]) -> Option<Vec<Change<'_>>> {
    let text = match payload.split_first() {
        Some((1, text)) => std::str::from_utf8(text).ok()?,
        _ => return None,
    };
    let mut out = Vec::new();
    // One pass: the payload's members, descending into `changes` and each of its members.
    members(text, 0, |key, at| {
        if key != "changes" {
            return skip(text, at);
        }
        members(text, at, |column, at| {
            let mut change = Change {
                key: column,
                from: None,
                to: None,
            };
            let end = members(text, at, |k, at| {
                let end = skip(text, at)?;
                if k == "from" {
                    change.from = Some(&text[at..end]);
                } else if k == "to" {
                    change.to = Some(&text[at..end]);
                }
                Some(end)
            })?;
            out.push(change);
            Some(end)
        })
    })?;
    Some(out)
}

/// The end of the JSON value starting at byte `at` of `text`.
fn skip(text: &str, at: usize) -> Option<usize> {
    let mut i = at;
    skip_value(text.as_bytes(), &mut i)?;
    Some(i)
}

/// Calls `f(key, at)` for each member of the JSON object (as PostgreSQL writes `jsonb` text)
/// starting at byte `at` of `text`, `at` being where the member's value starts; `f` returns where
/// that value ends. A value that is not an object is skipped without calling `f`. Returns the end
/// of the value; `None` when the text cannot be read here.
fn members<'t>(
    text: &'t str,
    at: usize,
    mut f: impl FnMut(Cow<'t, str>, usize) -> Option<usize>,
) -> Option<usize> {
    let b = text.as_bytes();
    if b.get(at) != Some(&b'{') {
        return skip(text, at);
    }
    let mut i = at + 1;
    skip_ws(b, &mut i);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        skip_ws(b, &mut i);
        let start = i;
        let escaped = skip_string(b, &mut i)?;
        let raw = text.get(start + 1..i - 1)?;
        let key = if escaped {
            Cow::Owned(unescape(raw)?)
        } else {
            Cow::Borrowed(raw)
        };
        skip_ws(b, &mut i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        skip_ws(b, &mut i);
        i = f(key, i)?;
        skip_ws(b, &mut i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        *i += 1;
    }
}

/// Skips the string at `i` (its opening quote); whether it has escapes.
fn skip_string(b: &[u8], i: &mut usize) -> Option<bool> {
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    *i += 1;
    let mut escaped = false;
    loop {
        *i += b.get(*i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
        if b[*i] == b'"' {
            *i += 1;
            return Some(escaped);
        }
        escaped = true;
        *i += 2;
    }
}

/// Skips the value at `i`.
fn skip_value(b: &[u8], i: &mut usize) -> Option<()> {
    match b.get(*i)? {
        b'"' => skip_string(b, i).map(|_| ()),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                *i += b
                    .get(*i..)?
                    .iter()
                    .position(|&c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']'))?;
                match b[*i] {
                    b'"' => {
                        skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            *i += 1;
                            return Some(());
                        }
                    }
                }
                *i += 1;
            }
        }
        _ => {
            let start = *i;
            while !matches!(
                b.get(*i),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                *i += 1;
            }
            (*i > start).then_some(())
        }
    }
}

/// The string a JSON string's escaped text (between its quotes) stands for.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                fn unit(chars: &mut std::str::Chars<'_>) -> Option<u16> {
                    let h: String = chars.by_ref().take(4).collect();
                    if h.len() != 4 {
                        return None;
                    }
                    u16::from_str_radix(&h, 16).ok()
                }
                let first = unit(&mut chars)?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let second = unit(&mut chars)?;
                    char::decode_utf16([first, second]).next()?.ok()?
                } else {
                    char::from_u32(u32::from(first))?
                };
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bin(ndigits: &[i16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(ndigits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in ndigits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn num(ndigits: &[i16], weight: i16, sign: u16, dscale: u16) -> String {
        let mut out = Vec::new();
        numeric(&numeric_bin(ndigits, weight, sign, dscale), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numerics_render_as_numeric_out() {
        assert_eq!(num(&[1, 5000], 0, 0, 8), "1.50000000");
        assert_eq!(num(&[], 0, 0, 0), "0");
        assert_eq!(num(&[], 0, 0, 4), "0.0000");
        assert_eq!(num(&[100], -2, 0, 8), "0.00000100");
        assert_eq!(num(&[1], -2, 0, 8), "0.00000001");
        assert_eq!(
            num(&[1234, 5678, 9012, 1234, 5678], 2, 0x4000, 8),
            "-123456789012.12345678"
        );
        assert_eq!(num(&[1], 1, 0, 0), "10000");
        assert_eq!(num(&[9000], -1, 0, 1), "0.9");
        assert_eq!(num(&[], 0, 0xC000, 0), "\"NaN\"");
        assert_eq!(num(&[], 0, 0xD000, 0), "\"Infinity\"");
        assert_eq!(num(&[], 0, 0xF000, 0), "\"-Infinity\"");
    }

    fn ts(us: i64) -> String {
        let mut out = Vec::new();
        timestamptz(us, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_render_as_json_encode_date_time() {
        assert_eq!(ts(0), "2000-01-01T00:00:00+00:00");
        assert_eq!(ts(-1), "1999-12-31T23:59:59.999999+00:00");
        assert_eq!(ts(500_000), "2000-01-01T00:00:00.5+00:00");
        assert_eq!(ts(825_000_123_456), "2000-01-10T13:10:00.123456+00:00");
        // 2026-02-10 14:30:00 UTC.
        assert_eq!(ts(824_049_000_000_000), "2026-02-10T14:30:00+00:00");
        assert_eq!(ts(i64::MAX), "infinity");
        assert_eq!(ts(i64::MIN), "-infinity");
        // 0001-01-01 and the day before (1 BC).
        assert_eq!(ts(-63_082_281_600_000_000), "0001-01-01T00:00:00+00:00");
        assert_eq!(ts(-63_082_368_000_000_000), "0001-12-31T00:00:00+00:00 BC");
    }

    #[test]
    fn strings_are_escaped_as_escape_json() {
        let mut out = Vec::new();
        escape_json("a\"b\\c\n\t\r\x08\x0c\x01\x1fé\u{7f}".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001fé\u{7f}\""
        );
    }

    #[test]
    fn changes_are_read_from_the_payload() {
        let p = b"\x01{\"detail\": 1, \"changes\": {\"a\": {\"to\": [1, 2], \"from\": null}, \"b\": {\"to\": 1}, \"c\": 5}}";
        let mut c = changes(p).unwrap();
        c.sort_by(|x, y| x.key.cmp(&y.key));
        assert_eq!(
            c,
            vec![
                Change {
                    key: "a".into(),
                    from: Some("null"),
                    to: Some("[1, 2]")
                },
                Change {
                    key: "b".into(),
                    from: None,
                    to: Some("1")
                },
                Change {
                    key: "c".into(),
                    from: None,
                    to: None
                },
            ]
        );
        assert_eq!(changes(b"\x01[1]").unwrap(), vec![]);
        assert_eq!(changes(b"\x01{\"changes\": 3}").unwrap(), vec![]);
        assert_eq!(changes(b"\x01{}").unwrap(), vec![]);
        let p = "\x01{\"changes\": {\"q\\\"\\u0001\\ud834\\udd1e\": {\"to\": \"}]\\\"\", \"from\": {\"a\": [{}, \"]\"]}}}}";
        assert_eq!(
            changes(p.as_bytes()).unwrap(),
            vec![Change {
                key: "q\"\u{1}\u{1d11e}".into(),
                from: Some("{\"a\": [{}, \"]\"]}"),
                to: Some("\"}]\\\"\"")
            }]
        );
        assert_eq!(changes(b"\x01{\"changes\": {\"a\" 1}}"), None);
    }

    #[test]
    fn content_keys_are_in_jsonb_order_with_overrides() {
        let layout = Layout::new(
            "t",
            vec![
                ("status".into(), 25),
                ("id".into(), 23),
                ("chain_hash".into(), 17),
                ("updated_at".into(), 1184),
            ],
        )
        .unwrap();
        let seven = 7i32.to_be_bytes();
        let fields: Fields<'_> = vec![
            Some(&b"new"[..]),
            Some(&seven[..]),
            Some(&b"\x01"[..]),
            None,
        ];
        let mut buf = Vec::new();
        let d = layout.digest(&fields, &[], &mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf.clone()).unwrap(),
            "t {\"id\": 7, \"status\": \"new\"}"
        );
        assert_eq!(d, <[u8; 32]>::from(Sha256::digest(&buf)));
        layout
            .digest(
                &fields,
                &[("status", "\"old\""), ("zz", "1"), ("chain_seq", "2")],
                &mut buf,
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "t {\"id\": 7, \"zz\": 1, \"status\": \"old\"}"
        );
        assert_eq!(layout.member_text(&fields, "nope"), Some(None));
        assert_eq!(
            layout.member_text(&fields, "updated_at"),
            Some(Some(b"null".to_vec()))
        );
        assert_eq!(layout.member_text(&fields, "chain_hash"), None);
        // A content column of a type not rendered here: no layout.
        assert!(Layout::new("t", vec![("x".into(), 701)]).is_none());
    }
}
