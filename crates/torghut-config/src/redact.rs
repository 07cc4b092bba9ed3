//! Best-effort redaction of passwords in free text.

/// What replaces a password.
const MASK: &str = "***";

/// Replaces passwords in arbitrary text (a log line, an error message, a
/// command line) with `***`, leaving the rest untouched.
///
/// Two shapes are recognised, anywhere in the text and any number of times:
///
/// * URL userinfo: after `://`, everything from the first `:` up to the
///   last `@` of the URL (which ends at whitespace, a quote, `<`, `>` or a
///   backtick) is the password: `postgresql://app:s3cret@db/app` becomes
///   `postgresql://app:***@db/app`. Taking the *last* `@` means a password
///   with unescaped `@` or `/` is still hidden; the price is that an `@`
///   later in the URL (say in a query value) can hide more than the
///   password.
/// * Parameters whose name ends in `password` (case-insensitive, so also
///   `sslpassword`, `PGPASSWORD`, `db_password`), followed by `=`, or by `:`
///   when the name is quoted as in JSON: `password=s3cret`,
///   `password = 'with \' quote'`, `?password=x&`, `"password": "x"`.
///   A quoted value is masked up to its closing quote (honouring backslash
///   escapes), an unquoted one up to whitespace, `&` or `"`.
///
/// This is a safety net for text that may contain a DSN; to display a
/// parsed configuration use [`crate::DbConfig::redacted`], which is exact.
pub fn redact_dsn(text: &str) -> String {
    redact_params(&redact_userinfo(text))
}

fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(idx) = rest.find("://") {
        let start = idx + 3;
        let after = &rest[start..];
        let end = after.find(ends_url).unwrap_or(after.len());
        let url = &after[..end];
        out.push_str(&rest[..start]);
        match (url.find(':'), url.rfind('@')) {
            (Some(colon), Some(at)) if colon < at => {
                out.push_str(&url[..=colon]);
                if colon + 1 < at {
                    out.push_str(MASK);
                }
                out.push_str(&url[at..]);
            }
            _ => out.push_str(url),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn redact_params(text: &str) -> String {
    const KEY: &[u8] = b"password";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + KEY.len() <= bytes.len() {
        if !bytes[i..i + KEY.len()].eq_ignore_ascii_case(KEY) {
            i += 1;
            continue;
        }
        let mut j = i + KEY.len();
        let quoted_key = matches!(bytes.get(j), Some(b'"' | b'\''));
        if quoted_key {
            j += 1;
        }
        while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        let is_separator = match bytes.get(j) {
            Some(b'=') => true,
            Some(b':') => quoted_key,
            _ => false,
        };
        if !is_separator {
            i += KEY.len();
            continue;
        }
        j += 1;
        while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        // [value_start, value_end) is masked; quotes around it are kept.
        let (value_start, value_end, next) = match bytes.get(j) {
            Some(&quote @ (b'\'' | b'"')) => {
                let start = j + 1;
                let mut k = start;
                while k < bytes.len() && bytes[k] != quote {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
                let end = k.min(bytes.len());
                (start, end, (end + 1).min(bytes.len()))
            }
            _ => {
                let mut k = j;
                while k < bytes.len()
                    && !bytes[k].is_ascii_whitespace()
                    && !matches!(bytes[k], b'&' | b'"')
                {
                    k += 1;
                }
                (j, k, k)
            }
        };
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str(MASK);
            copied = value_end;
        }
        i = next.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_dsn;

    #[test]
    fn url_userinfo() {
        assert_eq!(
            redact_dsn("postgresql://app:s3cret@db:5432/app"),
            "postgresql://app:***@db:5432/app"
        );
        assert_eq!(
            redact_dsn("connecting to postgresql+asyncpg://app:p%40ss@db/app?ssl=require now"),
            "connecting to postgresql+asyncpg://app:***@db/app?ssl=require now"
        );
        // No password: unchanged.
        assert_eq!(
            redact_dsn("postgresql://app@db/app"),
            "postgresql://app@db/app"
        );
        assert_eq!(
            redact_dsn("postgresql://app:@db/app"),
            "postgresql://app:@db/app"
        );
        assert_eq!(
            redact_dsn("postgresql://db:5432/app"),
            "postgresql://db:5432/app"
        );
        // Unescaped `@` and `/` in the password.
        assert_eq!(
            redact_dsn("postgresql://app:p@ss/w@rd@db/app"),
            "postgresql://app:***@db/app"
        );
        // Several URLs, in quotes.
        assert_eq!(
            redact_dsn(r#"a="postgres://u:x1@h/d" b='postgresql://v:y2@k/e'"#),
            r#"a="postgres://u:***@h/d" b='postgresql://v:***@k/e'"#
        );
    }

    #[test]
    fn password_that_is_also_the_user_and_host() {
        assert_eq!(
            redact_dsn("postgresql://app:app@app:5432/app"),
            "postgresql://app:***@app:5432/app"
        );
        assert_eq!(
            redact_dsn("host=app user=app password=app dbname=app"),
            "host=app user=app password=*** dbname=app"
        );
    }

    #[test]
    fn key_value_passwords() {
        assert_eq!(
            redact_dsn("host=db password=s3cret user=app"),
            "host=db password=*** user=app"
        );
        assert_eq!(
            redact_dsn(r"host=db password = 'with \' quote and space' user=app"),
            "host=db password = '***' user=app"
        );
        assert_eq!(
            redact_dsn("host=db password='unterminated"),
            "host=db password='***"
        );
        assert_eq!(
            redact_dsn("PGPASSWORD=abc sslpassword=def"),
            "PGPASSWORD=*** sslpassword=***"
        );
        assert_eq!(redact_dsn("password="), "password=");
        assert_eq!(redact_dsn("password"), "password");
        assert_eq!(
            redact_dsn("password authentication failed"),
            "password authentication failed"
        );
    }

    #[test]
    fn query_and_json() {
        assert_eq!(
            redact_dsn("postgresql://h/db?user=u&password=s3cret&sslmode=require"),
            "postgresql://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact_dsn(r#"{"user":"u","password": "s3\"cret","host":"h"}"#),
            r#"{"user":"u","password": "***","host":"h"}"#
        );
        assert_eq!(
            redact_dsn(r#"msg="connect host=h password=abc" level=info"#),
            r#"msg="connect host=h password=***" level=info"#
        );
    }

    #[test]
    fn non_ascii_text_is_safe() {
        assert_eq!(
            redact_dsn("é postgresql://ü:pässwörd@hôst/d passwordé=x"),
            "é postgresql://ü:***@hôst/d passwordé=x"
        );
        assert_eq!(redact_dsn("password=pässwörd ok"), "password=*** ok");
        assert_eq!(redact_dsn(""), "");
        assert_eq!(redact_dsn("://:@"), "://:@");
        assert_eq!(redact_dsn("://:x@"), "://:***@");
    }
}
