//! A small text writer with indentation, in the style of cbindgen's
//! `SourceWriter`: the generators say what to write, this keeps the layout
//! (indentation, blank lines, line counting for `#line`) consistent.

/// Accumulates generated source text.
pub struct SourceWriter {
    out: String,
    indent: usize,
    /// Number of complete lines written so far (for `#line` directives).
    lines: usize,
}

const INDENT: &str = "    ";

impl SourceWriter {
    pub fn new() -> Self {
        SourceWriter {
            out: String::new(),
            indent: 0,
            lines: 0,
        }
    }

    /// Writes one line at the current indentation. `text` must not contain
    /// newlines (use [`SourceWriter::raw`] for verbatim blocks).
    pub fn line(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        debug_assert!(!text.contains('\n'), "line() with a newline: {text:?}");
        if !text.is_empty() {
            for _ in 0..self.indent {
                self.out.push_str(INDENT);
            }
            self.out.push_str(text);
        }
        self.out.push('\n');
        self.lines += 1;
    }

    /// One empty line, unless the output is empty or already ends with one:
    /// sections separate themselves without producing runs of blank lines.
    pub fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
            self.lines += 1;
        }
    }

    /// Pastes `text` verbatim (no indentation), ending it with a newline if
    /// it does not already end with one.
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        self.lines += text.matches('\n').count();
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
            self.lines += 1;
        }
    }

    /// Writes `opener` then `{`, indents what `body` writes, then `}` followed
    /// by `closer` (`""`, `";"`, `" _cembed_x = ..."`).
    pub fn block(&mut self, opener: &str, closer: &str, body: impl FnOnce(&mut Self)) {
        if opener.is_empty() {
            self.line("{");
        } else {
            self.line(opener);
            self.line("{");
        }
        self.indent += 1;
        body(self);
        self.indent -= 1;
        self.line(format!("}}{closer}"));
    }

    /// Like [`SourceWriter::block`] with the brace on the opener's line
    /// (`struct x {`, `static T t[] = {`).
    pub fn inline_block(&mut self, opener: &str, closer: &str, body: impl FnOnce(&mut Self)) {
        self.line(format!("{opener} {{"));
        self.indent += 1;
        body(self);
        self.indent -= 1;
        self.line(format!("}}{closer}"));
    }

    /// The line number (1-based) the next line written will have.
    pub fn next_line_number(&self) -> usize {
        self.lines + 1
    }

    pub fn finish(self) -> String {
        self.out
    }
}

impl Default for SourceWriter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_blocks_and_counts_lines() {
        let mut w = SourceWriter::new();
        w.line("/* a */");
        w.blank();
        w.blank();
        w.block("static void f(void)", "", |w| {
            w.line("g();");
            w.inline_block("if (x)", "", |w| w.line("h();"));
        });
        w.raw("#define A 1\n#define B 2");
        assert_eq!(w.next_line_number(), 12);
        assert_eq!(
            w.finish(),
            "/* a */\n\nstatic void f(void)\n{\n    g();\n    if (x) {\n        h();\n    }\n}\n#define A 1\n#define B 2\n"
        );
    }
}
