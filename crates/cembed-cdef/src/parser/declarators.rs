//! Declarators: pointers, arrays, functions and their parameter lists,
//! read inside-out into operators from the base outwards. The grammar is
//! cembed-typename's `grammar::declarator`, shared with the run-time
//! type-name parser; here are the spanned nodes, the diagnostics, and what
//! only this parser knows (typedef names, parameter specifiers).

use cembed_typename::grammar::{declarator, ArraySize, DeclError, Declarators};

use super::*;

impl<'a> Parser<'a> {
    /// Parses a declarator; `abstract_only` forbids a name (type names).
    /// Whether a name is required is checked by the caller / resolver, so that
    /// the error can say what needed it.
    pub(super) fn declarator(&mut self, abstract_only: bool) -> PResult<Declarator> {
        let start = self.tok().start;
        let (name, ops) = declarator(self, abstract_only)?;
        Ok(Declarator {
            name,
            ops,
            span: self.span_from(start),
        })
    }
}

impl<'a> Declarators<'a> for Parser<'a> {
    type Op = DeclOp;
    type Name = Ident;
    type Param = Param;

    fn decl_error(&self, e: DeclError<'_>) -> Diag {
        let label = match e {
            DeclError::Block => "not supported",
            DeclError::NameInType(_) => "a type name has no declarator name",
            DeclError::VariadicFirst => "`...` cannot come first",
            DeclError::DefaultArg => "remove the `= ...` part",
        };
        self.err_here(e.message(), label)
    }

    fn unsupported_ext(&self) -> Diag {
        Parser::unsupported_ext(self)
    }

    fn decl_too_long(&self, start: u32) -> Diag {
        Diag::new(
            "declarator too long",
            self.span_from(start),
            format!("more than {MAX_DECL_OPS} pointers, arrays and functions in one type"),
        )
    }

    /// The typedefs declared so far count (the lexer hack).
    fn is_type_name(&self, s: &str) -> bool {
        Parser::is_type_name(self, s)
    }

    fn decl_name(&mut self) -> PResult<Ident> {
        self.ident()
    }

    fn param(&mut self) -> PResult<Param> {
        let start = self.tok().start;
        let spec = self.decl_spec(Ctx::Param)?;
        let decl = self.declarator(false)?;
        Ok(Param {
            spec,
            decl,
            span: self.span_from(start),
        })
    }

    fn pointer(&self, is_const: bool, is_volatile: bool, start: u32) -> DeclOp {
        DeclOp::Pointer {
            is_const,
            is_volatile,
            span: self.span_from(start),
        }
    }

    fn array(&self, len: ArraySize<Expr>, open: u32) -> DeclOp {
        DeclOp::Array {
            len,
            span: self.span_from(open),
        }
    }

    fn function(&self, params: Vec<Param>, variadic: bool, open: u32) -> DeclOp {
        DeclOp::Function {
            params,
            variadic,
            span: self.span_from(open),
        }
    }
}
