//! C string literals and identifiers.

/// `text` as one C string literal, quotes included. Escapes what C needs
/// escaped; every byte outside printable ASCII becomes a three-digit octal
/// escape (always three digits, so a following digit cannot extend it), and a
/// `?` after another `?` is escaped so no trigraph can form (gcc -Wall warns
/// about them even when it ignores them).
pub fn literal(text: &str) -> String {
    literal_bytes(text.as_bytes())
}

pub fn literal_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            // Trigraphs are replaced before escapes are read: break every
            // `??` by escaping the second one.
            b'?' if i > 0 && bytes[i - 1] == b'?' => s.push_str("\\?"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

/// Long text (Python source) as a sequence of literals, one per source line,
/// for C's adjacent-literal concatenation: readable, diff-friendly, and far
/// from any compiler's limit on the length of one literal.
pub fn multiline_literal(text: &str) -> Vec<String> {
    // A very long line is cut in pieces too (between bytes: concatenation
    // restores them, and octal escapes are per byte anyway).
    const MAX: usize = 1024;
    let mut out: Vec<String> = text
        .split_inclusive('\n')
        .flat_map(|line| line.as_bytes().chunks(MAX).map(literal_bytes))
        .collect();
    if out.is_empty() {
        out.push("\"\"".to_string());
    }
    out
}

/// A C identifier fragment made from arbitrary text (a type's spelling):
/// `struct foo` -> `struct_foo`. Used only to make generated names readable;
/// uniqueness is handled by the callers.
pub fn ident_fragment(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    s.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(literal("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(literal("é1"), r#""\303\2511""#);
        assert_eq!(literal("??=?"), r#""?\?=?""#);
        assert_eq!(literal("???"), r#""?\?\?""#);
        assert_eq!(literal("\u{1}"), r#""\001""#);
        assert_eq!(
            multiline_literal("x = 1\ny = 2"),
            vec![r#""x = 1\n""#.to_string(), r#""y = 2""#.to_string()]
        );
        assert_eq!(multiline_literal(""), vec!["\"\"".to_string()]);
        let long = "é".repeat(1000);
        let parts = multiline_literal(&long);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.concat().matches("\\303").count(), 1000);
        assert_eq!(ident_fragment("struct foo"), "struct_foo");
        assert_eq!(ident_fragment("unsigned long long"), "unsigned_long_long");
    }
}
