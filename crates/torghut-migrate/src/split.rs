//! Splits SQL text into statements with PostgreSQL's lexical rules (`squawk-lexer`): a `;` ends a
//! statement only as a token of its own, never inside a string (plain, `E'...'` with its
//! backslash escapes, dollar-quoted), a quoted identifier or a comment. Used for migrations that
//! run outside a transaction, one statement at a time.

use squawk_lexer::{tokenize, TokenKind};

/// Splits `sql` into statements (without the trailing `;`), skipping empty ones and ones made only
/// of comments.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut at = 0usize;
    let mut only_trivia = true;
    let push = |out: &mut Vec<String>, s: &str, trivia: bool| {
        if !trivia && !s.trim().is_empty() {
            out.push(s.trim().to_string());
        }
    };
    for token in tokenize(sql) {
        let end = (at + token.len as usize).min(sql.len());
        match token.kind {
            TokenKind::Semi => {
                push(
                    &mut out,
                    sql.get(start..at).unwrap_or_default(),
                    only_trivia,
                );
                start = end;
                only_trivia = true;
            }
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment { .. } => {}
            _ => only_trivia = false,
        }
        at = end;
    }
    push(&mut out, sql.get(start..).unwrap_or_default(), only_trivia);
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
    fn multibyte_text_and_nested_comments() {
        let sql = "SELECT 'é;ü' AS \"ß;\"; /* a /* nested; */ comment; */ SELECT U&'d\\0061;t'; \
                   SELECT $tag$ $$; $tag$";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[0], "SELECT 'é;ü' AS \"ß;\"");
        assert!(parts[1].ends_with("SELECT U&'d\\0061;t'"), "{parts:?}");
        assert_eq!(parts[2], "SELECT $tag$ $$; $tag$");
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
