//! Splits SQL text into statements, respecting quotes, dollar quotes and comments.
//! Used for migrations that run outside a transaction, one statement at a time.

/// Splits `sql` into statements (without the trailing `;`), skipping empty ones and ones made only
/// of comments.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut only_trivia = true;
    let push = |out: &mut Vec<String>, s: &str, trivia: bool| {
        if !trivia && !s.trim().is_empty() {
            out.push(s.trim().to_string());
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' | b'"' => {
                only_trivia = false;
                let q = c;
                // An escape string (E'...', e'...' not ending an identifier): a backslash escapes
                // the next character, so \' does not end it.
                let escapes = q == b'\''
                    && i > 0
                    && matches!(b[i - 1], b'E' | b'e')
                    && !(i > 1
                        && (b[i - 2].is_ascii_alphanumeric()
                            || b[i - 2] == b'_'
                            || b[i - 2] == b'$'));
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'$' => {
                // A dollar-quote tag: $$ or $tag$ (tag: letters, digits, underscores, not leading digit).
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' && !b.get(i + 1).is_some_and(|d| d.is_ascii_digit())
                {
                    only_trivia = false;
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
                only_trivia = false;
            }
            b';' => {
                push(&mut out, &sql[start..i], only_trivia);
                start = i + 1;
                only_trivia = true;
            }
            c if c.is_ascii_whitespace() => {}
            _ => only_trivia = false,
        }
        i += 1;
    }
    push(&mut out, &sql[start.min(sql.len())..], only_trivia);
    out
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn splits_respecting_quotes_comments_and_dollar_quotes() {
        let sql = "-- head; comment\nCREATE TABLE a (x text DEFAULT ';');\n/* block; */ \
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                   SELECT \"we;ird\" FROM a; -- trailing\n  ;\n";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[0].ends_with("DEFAULT ';')"));
        assert!(parts[1].contains("$body$ SELECT 1; $body$"));
        assert!(parts[2].starts_with("SELECT \"we;ird\""));
    }

    #[test]
    fn escape_strings_keep_their_escaped_quotes() {
        let sql = "INSERT INTO t VALUES (E'it\\'s; fine', e'a\\\\'); SELECT 'plain\\'; SELECT 2;\n\
                   SELECT name'x'; SELECT 3";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 5, "{parts:?}");
        assert_eq!(parts[0], "INSERT INTO t VALUES (E'it\\'s; fine', e'a\\\\')");
        // Outside an escape string a backslash is an ordinary character.
        assert_eq!(parts[1], "SELECT 'plain\\'");
        assert_eq!(parts[2], "SELECT 2");
    }

    #[test]
    fn never_panics_on_unterminated_input() {
        for s in [
            "'abc", "$$ x", "/* x", "\"x", "$a", "$", "a;$1;", "E'\\", "e'abc\\'",
        ] {
            let _ = split_statements(s);
        }
    }
}
