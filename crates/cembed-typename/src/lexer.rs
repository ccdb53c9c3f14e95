//! Hand-written lexer for the cdef language (also the tokens of a type name).
//!
//! Produces a flat token vector with byte spans. Preprocessor lines are the one
//! line-sensitive part of the language: a `#` that is the first non-blank
//! character of a line yields [`TokKind::Hash`], the directive's tokens follow as
//! usual and the end of that line yields [`TokKind::LineEnd`] (a backslash before
//! the newline continues the directive, as in C).

/// A lexical error: what, the byte range it covers and a short label for
/// the place (the cdef parser turns it into a diagnostic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub message: String,
    pub start: u32,
    pub end: u32,
    pub label: &'static str,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokKind {
    Ident,
    /// A pp-number: digits, letters, `_` and `.` starting with a digit. Its value
    /// is decoded by the parser ([`parse_int_literal`]) so errors can say what
    /// was wrong with it.
    Number,
    /// A string literal, quotes included.
    Str,
    /// A character literal, quotes included (only to report it as unsupported).
    Char,
    /// Punctuation (one to three characters, e.g. `(`, `<<`, `->`).
    Punct,
    /// `...`
    Ellipsis,
    /// `#` at the start of a line.
    Hash,
    /// End of a `#` line.
    LineEnd,
    Eof,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokKind,
    pub start: u32,
    pub end: u32,
}

const PUNCT3: &[&str] = &["<<=", ">>="];
const PUNCT2: &[&str] = &[
    "<<", ">>", "->", "++", "--", "&&", "||", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=",
    "&=", "|=", "^=", "##",
];
const PUNCT1: &[u8] = b"()[]{};,*=:+-|&~^/%!?.<>#@$\\";

/// Splits `text` into tokens.
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    let b = text.as_bytes();
    let mut toks = Vec::with_capacity(text.len() / 3 + 1);
    let mut i = 0usize;
    // Only blanks seen since the last newline (a `#` here starts a directive).
    let mut line_start = true;
    let mut in_directive = false;
    let push = |toks: &mut Vec<Token>, kind, s: usize, e: usize| {
        toks.push(Token {
            kind,
            start: s as u32,
            end: e as u32,
        })
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                if in_directive {
                    push(&mut toks, TokKind::LineEnd, i, i);
                    in_directive = false;
                }
                line_start = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b'\\'
                if matches!(b.get(i + 1), Some(b'\n'))
                    || (b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n')) =>
            {
                // Line continuation: the directive (if any) goes on.
                i += if b[i + 1] == b'\r' { 3 } else { 2 };
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    // A backslash-newline continues a // comment in C.
                    if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i += 2;
                loop {
                    if i + 1 >= b.len() {
                        return Err(error(
                            "unterminated comment",
                            start,
                            start + 2,
                            "this comment is never closed with `*/`",
                        ));
                    }
                    if b[i] == b'*' && b[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            b'#' if line_start => {
                push(&mut toks, TokKind::Hash, i, i + 1);
                in_directive = true;
                line_start = false;
                i += 1;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                push(&mut toks, TokKind::Ident, s, i);
                line_start = false;
            }
            b'0'..=b'9' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                push(&mut toks, TokKind::Number, s, i);
                line_start = false;
            }
            b'"' | b'\'' => {
                let s = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None | Some(b'\n') => {
                            return Err(error(
                                "unterminated literal",
                                s,
                                i,
                                "missing the closing quote",
                            ))
                        }
                        Some(b'\\') => i += 2,
                        Some(q) if *q == c => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                let kind = if c == b'"' {
                    TokKind::Str
                } else {
                    TokKind::Char
                };
                push(&mut toks, kind, s, i);
                line_start = false;
            }
            b'.' if b.get(i + 1) == Some(&b'.') && b.get(i + 2) == Some(&b'.') => {
                push(&mut toks, TokKind::Ellipsis, i, i + 3);
                i += 3;
                line_start = false;
            }
            _ => {
                let rest = &text[i..];
                let len = if PUNCT3.iter().any(|p| rest.starts_with(p)) {
                    3
                } else if PUNCT2.iter().any(|p| rest.starts_with(p)) {
                    2
                } else if PUNCT1.contains(&c) {
                    1
                } else {
                    let ch = rest.chars().next().unwrap_or('?');
                    return Err(error(
                        format!("unexpected character {ch:?}"),
                        i,
                        i + ch.len_utf8(),
                        "not valid in C declarations",
                    ));
                };
                push(&mut toks, TokKind::Punct, i, i + len);
                i += len;
                line_start = false;
            }
        }
    }
    if in_directive {
        push(&mut toks, TokKind::LineEnd, b.len(), b.len());
    }
    push(&mut toks, TokKind::Eof, b.len(), b.len());
    Ok(toks)
}

fn error(message: impl Into<String>, s: usize, e: usize, label: &'static str) -> LexError {
    LexError {
        message: message.into(),
        start: s as u32,
        end: e as u32,
        label,
    }
}

/// Decodes a C integer literal: decimal, hex (`0x`), octal (leading `0`), binary
/// (`0b`), with any `u`/`l`/`ll` suffix (case-insensitive). The suffix does not
/// change the value: cembed only needs the number (the compiler checks it).
pub fn parse_int_literal(s: &str) -> Result<u128, String> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower.trim_end_matches(['u', 'l']).len();
    let (body, suffix) = lower.split_at(digits_end);
    if !matches!(suffix, "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu") {
        return Err(format!(
            "invalid suffix {:?} on integer literal",
            &s[digits_end..]
        ));
    }
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(bin) = body.strip_prefix("0b") {
        (2, bin)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() {
        return Err(format!("invalid integer literal {s:?}"));
    }
    let v = u128::from_str_radix(digits, radix).map_err(|_| {
        if digits.chars().all(|c| c.is_ascii_alphanumeric()) && digits.len() < 40 {
            format!(
                "invalid digit in {} integer literal {s:?}",
                radix_name(radix)
            )
        } else {
            format!("invalid integer literal {s:?}")
        }
    })?;
    if v > u64::MAX as u128 {
        return Err(format!("integer literal {s} does not fit in 64 bits"));
    }
    Ok(v)
}

fn radix_name(r: u32) -> &'static str {
    match r {
        16 => "hexadecimal",
        8 => "octal",
        2 => "binary",
        _ => "decimal",
    }
}

/// The value of a character literal like `'a'` or `'\n'`.
pub fn char_literal_value(lit: &str) -> Option<i128> {
    let inner = &lit[1..lit.len() - 1];
    let mut chars = inner.chars();
    let v = match chars.next()? {
        '\\' => {
            let rest: String = chars.collect();
            return Some(match rest.as_str() {
                "n" => 10,
                "t" => 9,
                "r" => 13,
                "0" => 0,
                "\\" => 92,
                "'" => 39,
                "\"" => 34,
                "a" => 7,
                "b" => 8,
                "f" => 12,
                "v" => 11,
                r if r.starts_with('x') => i128::from_str_radix(&r[1..], 16).ok()?,
                r if !r.is_empty() && r.chars().all(|c| ('0'..='7').contains(&c)) => {
                    i128::from_str_radix(r, 8).ok()?
                }
                _ => return None,
            });
        }
        c => c as i128,
    };
    if chars.next().is_some() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(TokKind, String)> {
        lex(s)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, s[t.start as usize..t.end as usize].to_string()))
            .collect()
    }

    #[test]
    fn basic_tokens() {
        let k = kinds("int *f(int, ...); // c\n/* x */ x<<2");
        let texts: Vec<_> = k.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["int", "*", "f", "(", "int", ",", "...", ")", ";", "x", "<<", "2", ""]
        );
    }

    #[test]
    fn directives() {
        let k = kinds("  #define A \\\n 1\nint x;");
        let kk: Vec<_> = k.iter().map(|(k, _)| *k).collect();
        use TokKind::*;
        assert_eq!(
            kk,
            [Hash, Ident, Ident, Number, LineEnd, Ident, Ident, Punct, Eof]
        );
        // `#` not at line start is punctuation
        assert_eq!(kinds("x #")[1].0, TokKind::Punct);
    }

    #[test]
    fn int_literals() {
        assert_eq!(parse_int_literal("42"), Ok(42));
        assert_eq!(parse_int_literal("0x1F"), Ok(31));
        assert_eq!(parse_int_literal("0XffULL"), Ok(255));
        assert_eq!(parse_int_literal("017"), Ok(15));
        assert_eq!(parse_int_literal("0"), Ok(0));
        assert_eq!(parse_int_literal("10lu"), Ok(10));
        assert_eq!(parse_int_literal("0b101"), Ok(5));
        assert!(parse_int_literal("09").is_err());
        assert!(parse_int_literal("1.5").is_err());
        assert!(parse_int_literal("12abc").is_err());
        assert!(parse_int_literal("0x").is_err());
        assert!(parse_int_literal("99999999999999999999999").is_err());
    }

    #[test]
    fn errors() {
        assert!(lex("/* abc").is_err());
        assert!(lex("\"abc").is_err());
        assert!(lex("int `x").is_err());
    }
}
