//! `-- torghut-lint: allow <rule>[, <rule>...] reason: <text>` comments.

use std::ops::Range;

use squawk_syntax::{SyntaxElement, SyntaxKind, SyntaxNode};

use crate::rules::{
    self, Finding, INVALID_SUPPRESSION, SUPPRESSION_WITHOUT_REASON, UNKNOWN_RULE_IN_SUPPRESSION,
    UNUSED_SUPPRESSION,
};

/// The word every suppression comment starts with.
pub(crate) const PREFIX: &str = "torghut-lint";

const SYNTAX_HELP: &str =
    "Write it on its own line, directly above the statement: `-- torghut-lint: allow <rule>[, <rule>...] reason: <why this is safe>`.";

/// A valid suppression comment.
pub(crate) struct Suppression {
    /// Where the comment is.
    pub(crate) range: Range<usize>,
    /// Canonical rule codes, in the order written, without duplicates.
    pub(crate) rules: Vec<String>,
    /// The stated reason (never empty).
    pub(crate) reason: String,
}

/// The statements of a file and the suppressions placed before them.
pub(crate) struct Layout {
    /// Top-level statements (and other top-level syntax), from the first non-trivia byte.
    pub(crate) statements: Vec<Range<usize>>,
    /// Valid suppressions, each with the index of the statement it applies to.
    pub(crate) suppressions: Vec<(usize, Suppression)>,
    /// Problems with suppression comments.
    pub(crate) problems: Vec<Finding>,
}

impl Layout {
    /// The index of the statement holding a byte offset (or the last one starting before it).
    pub(crate) fn statement_at(&self, offset: usize) -> Option<usize> {
        self.statements
            .partition_point(|r| r.start <= offset)
            .checked_sub(1)
    }
}

/// Reads the statements of a parsed file and the suppression comments between them.
pub(crate) fn layout(root: &SyntaxNode, text: &str) -> Layout {
    let mut statements = Vec::new();
    let mut suppressions = Vec::new();
    let mut problems = Vec::new();
    let mut pending: Vec<Suppression> = Vec::new();

    for element in root.children_with_tokens() {
        match &element {
            SyntaxElement::Token(token) if token.kind() == SyntaxKind::WHITESPACE => {}
            SyntaxElement::Token(token) if token.kind() == SyntaxKind::COMMENT => {
                let range = rules::token_range(token);
                let Some(parsed) = parse_comment(token.text()) else {
                    continue;
                };
                if !starts_own_line(text, range.start) {
                    problems.push(problem(
                        INVALID_SUPPRESSION,
                        "a suppression comment must be on a line of its own, directly above the \
                         statement it applies to"
                            .to_string(),
                        range,
                    ));
                    continue;
                }
                match parsed {
                    Ok((rules, reason)) => pending.push(Suppression {
                        range,
                        rules,
                        reason,
                    }),
                    Err(errors) => problems.extend(
                        errors
                            .into_iter()
                            .map(|(rule, message)| problem(rule, message, range.clone())),
                    ),
                }
            }
            SyntaxElement::Token(token) => {
                let index = statements.len();
                statements.push(rules::token_range(token));
                suppressions.extend(pending.drain(..).map(|s| (index, s)));
            }
            SyntaxElement::Node(node) => {
                let index = statements.len();
                statements.push(rules::node_range(node));
                suppressions.extend(pending.drain(..).map(|s| (index, s)));
                // Suppression comments inside a statement are not where they can apply.
                for token in node
                    .descendants_with_tokens()
                    .filter_map(SyntaxElement::into_token)
                    .filter(|t| t.kind() == SyntaxKind::COMMENT)
                {
                    if parse_comment(token.text()).is_some() {
                        problems.push(problem(
                            INVALID_SUPPRESSION,
                            "a suppression comment inside a statement applies to nothing; put it \
                             on its own line directly above the statement"
                                .to_string(),
                            rules::token_range(&token),
                        ));
                    }
                }
            }
        }
    }
    for s in pending {
        problems.push(Finding {
            rule: UNUSED_SUPPRESSION.to_string(),
            message: format!(
                "suppression of {} applies to nothing: no statement follows it",
                quoted_list(&s.rules)
            ),
            help: Some("Remove the comment.".to_string()),
            range: s.range,
        });
    }
    Layout {
        statements,
        suppressions,
        problems,
    }
}

fn problem(rule: &str, message: String, range: Range<usize>) -> Finding {
    let help = match rule {
        SUPPRESSION_WITHOUT_REASON => {
            "Say why the statement is safe after `reason:`, e.g. `-- torghut-lint: allow \
             ban-drop-column reason: column unused since release 2024.06`."
                .to_string()
        }
        UNKNOWN_RULE_IN_SUPPRESSION => {
            "Name rules by the code printed in brackets in the lint output, e.g. \
             `require-concurrent-index-creation`."
                .to_string()
        }
        _ => SYNTAX_HELP.to_string(),
    };
    Finding {
        rule: rule.to_string(),
        message,
        help: Some(help),
        range,
    }
}

/// Whether only spaces and tabs precede `offset` on its line.
fn starts_own_line(text: &str, offset: usize) -> bool {
    let offset = crate::text::floor_boundary(text, offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset].trim().is_empty()
}

/// A suppression comment's rules and reason, or its problems (`(rule code, message)`).
type Parsed = Result<(Vec<String>, String), Vec<(&'static str, String)>>;

/// `None` when the comment is not a suppression comment at all.
fn parse_comment(comment: &str) -> Option<Parsed> {
    let (body, line_comment) = if let Some(body) = comment.strip_prefix("--") {
        (body, true)
    } else if let Some(body) = comment.strip_prefix("/*") {
        (body.strip_suffix("*/").unwrap_or(body), false)
    } else {
        return None;
    };
    let rest = body.trim().strip_prefix(PREFIX)?;
    if !(rest.is_empty() || rest.starts_with(':') || rest.starts_with(char::is_whitespace)) {
        // Some other word, such as `torghut-linter`.
        return None;
    }
    let malformed = |message: &str| Some(Err(vec![(INVALID_SUPPRESSION, message.to_string())]));
    if !line_comment {
        return malformed("suppression comments must be `--` line comments");
    }
    let Some(rest) = rest.strip_prefix(':') else {
        return malformed("expected `torghut-lint:` followed by `allow`");
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix("allow") else {
        return malformed("expected `allow` after `torghut-lint:`");
    };
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return malformed("expected `allow` after `torghut-lint:`");
    }
    let (names, reason) = match rest.find("reason:") {
        Some(at) => (&rest[..at], Some(rest[at + "reason:".len()..].trim())),
        None => (rest, None),
    };
    if names.trim().is_empty() {
        return malformed("the suppression names no rule");
    }

    let mut problems = Vec::new();
    let mut rules: Vec<String> = Vec::new();
    for name in names.split(',').map(str::trim) {
        if name.is_empty() {
            problems.push((
                INVALID_SUPPRESSION,
                "empty rule name in the suppression's list".to_string(),
            ));
        } else if let Some(code) = rules::canonical(name) {
            if !rules.contains(&code) {
                rules.push(code);
            }
        } else if rules::META_RULES.contains(&name) {
            problems.push((
                UNKNOWN_RULE_IN_SUPPRESSION,
                format!("`{name}` cannot be suppressed"),
            ));
        } else {
            problems.push((
                UNKNOWN_RULE_IN_SUPPRESSION,
                format!("unknown rule `{name}`"),
            ));
        }
    }
    match reason {
        Some(reason) if !reason.is_empty() => {
            if problems.is_empty() {
                return Some(Ok((rules, reason.to_string())));
            }
        }
        _ => problems.push((
            SUPPRESSION_WITHOUT_REASON,
            "suppression without a reason: it suppresses nothing".to_string(),
        )),
    }
    Some(Err(problems))
}

/// `` `a`, `b` ``.
pub(crate) fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(comment: &str) -> (Vec<String>, String) {
        match parse_comment(comment) {
            Some(Ok(v)) => v,
            other => panic!("{comment:?}: {other:?}"),
        }
    }

    fn errs(comment: &str) -> Vec<&'static str> {
        match parse_comment(comment) {
            Some(Err(e)) => e.into_iter().map(|(rule, _)| rule).collect(),
            other => panic!("{comment:?}: {other:?}"),
        }
    }

    #[test]
    fn parses_rules_and_reason() {
        let (rules, reason) = ok(
            "-- torghut-lint: allow ban-drop-column, prefer-timestamptz reason: unused since v2",
        );
        assert_eq!(rules, ["ban-drop-column", "prefer-timestamp-tz"]);
        assert_eq!(reason, "unused since v2");
        let (rules, reason) = ok("--torghut-lint:allow renaming-column reason:x");
        assert_eq!(rules, ["renaming-column"]);
        assert_eq!(reason, "x");
        let (rules, _) =
            ok("-- torghut-lint: allow ban-non-transactional-statement-in-transaction reason: r");
        assert_eq!(rules, ["ban-non-transactional-statement-in-transaction"]);
    }

    #[test]
    fn ignores_other_comments() {
        for comment in [
            "-- plain comment",
            "-- torghut:no-transaction",
            "-- torghut-linter: allow x reason: y",
            "/* nothing */",
        ] {
            assert!(parse_comment(comment).is_none(), "{comment}");
        }
    }

    #[test]
    fn reports_problems() {
        assert_eq!(
            errs("-- torghut-lint: allow ban-drop-column"),
            [SUPPRESSION_WITHOUT_REASON]
        );
        assert_eq!(
            errs("-- torghut-lint: allow ban-drop-column reason:   "),
            [SUPPRESSION_WITHOUT_REASON]
        );
        assert_eq!(
            errs("-- torghut-lint: allow no-such-rule reason: r"),
            [UNKNOWN_RULE_IN_SUPPRESSION]
        );
        assert_eq!(
            errs("-- torghut-lint: allow syntax-error reason: r"),
            [UNKNOWN_RULE_IN_SUPPRESSION]
        );
        assert_eq!(
            errs("-- torghut-lint: allow nope"),
            [UNKNOWN_RULE_IN_SUPPRESSION, SUPPRESSION_WITHOUT_REASON]
        );
        assert_eq!(
            errs("-- torghut-lint: allow reason: r"),
            [INVALID_SUPPRESSION]
        );
        assert_eq!(
            errs("-- torghut-lint: allow a,,b reason: r"),
            [
                UNKNOWN_RULE_IN_SUPPRESSION,
                INVALID_SUPPRESSION,
                UNKNOWN_RULE_IN_SUPPRESSION
            ]
        );
        assert_eq!(
            errs("-- torghut-lint: deny ban-drop-column reason: r"),
            [INVALID_SUPPRESSION]
        );
        assert_eq!(
            errs("-- torghut-lint allow ban-drop-column reason: r"),
            [INVALID_SUPPRESSION]
        );
        assert_eq!(
            errs("/* torghut-lint: allow ban-drop-column reason: r */"),
            [INVALID_SUPPRESSION]
        );
        assert_eq!(errs("-- torghut-lint"), [INVALID_SUPPRESSION]);
    }
}
