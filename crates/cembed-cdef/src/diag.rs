//! Diagnostics: what went wrong, where, rendered with codespan-reporting as plain
//! text (no colours: the message ends up in a Python exception).

use cembed_model::Span;
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::NoColor, Chars, Config};
use std::fmt;

use crate::Source;

/// One error: a message, the primary place with a short label, optionally a
/// second place (e.g. the earlier definition) and notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub message: String,
    pub span: Span,
    pub label: String,
    pub secondary: Option<(Span, String)>,
    pub notes: Vec<String>,
}

impl Diag {
    pub fn new(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diag {
            message: message.into(),
            span,
            label: label.into(),
            secondary: None,
            notes: Vec::new(),
        }
    }

    /// A lexical error of source `source`.
    pub fn lex(e: cembed_typename::lexer::LexError, source: u32) -> Self {
        let span = Span {
            source,
            start: e.start,
            end: e.end,
        };
        Diag::new(e.message, span, e.label)
    }

    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary = Some((span, label.into()));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// The errors found in a set of sources (at least one). `Display` shows the
/// rendering made when the errors were found; [`Diagnostics::render`] renders
/// again against the given sources.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    pub diags: Vec<Diag>,
    rendered: String,
}

impl Diagnostics {
    pub(crate) fn new(diags: Vec<Diag>, sources: &[Source]) -> Self {
        let mut d = Diagnostics {
            diags,
            rendered: String::new(),
        };
        d.rendered = d.render(sources);
        d
    }

    /// Renders every error as plain text: `error: <message>`, then
    /// `--> <source name>:<line>:<column>`, the offending line and a caret
    /// underline with the label.
    pub fn render(&self, sources: &[Source]) -> String {
        let mut files = SimpleFiles::new();
        let ids: Vec<usize> = sources
            .iter()
            .map(|s| files.add(s.name.clone(), s.text.clone()))
            .collect();
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };
        let mut out = NoColor::new(Vec::<u8>::new());
        for d in &self.diags {
            let file = |sp: &Span| ids.get(sp.source as usize).copied();
            let mut labels = Vec::new();
            if let Some(f) = file(&d.span) {
                labels.push(
                    Label::primary(f, d.span.start as usize..d.span.end as usize)
                        .with_message(d.label.clone()),
                );
            }
            if let Some((sp, l)) = &d.secondary {
                if let Some(f) = file(sp) {
                    labels.push(
                        Label::secondary(f, sp.start as usize..sp.end as usize)
                            .with_message(l.clone()),
                    );
                }
            }
            let diag = Diagnostic::error()
                .with_message(d.message.clone())
                .with_labels(labels)
                .with_notes(d.notes.clone());
            if term::emit(&mut out, &config, &files, &diag).is_err() {
                // The sources do not match the spans (wrong slice passed in):
                // still say what went wrong.
                out.get_mut()
                    .extend_from_slice(format!("error: {}\n", d.message).as_bytes());
            }
        }
        String::from_utf8_lossy(&out.into_inner()).into_owned()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rendered.trim_end())
    }
}

impl std::error::Error for Diagnostics {}
